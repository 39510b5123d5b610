#include "lib/sysfs/pci.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

#include "lib/base/strings.h"

namespace sk::sysfs {
using ::sk::ToAbsl;
using ::sk::ToStd;
namespace {

bool ParseHexField(std::string_view s, size_t max_len, uint32_t* out) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s)
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  return absl::SimpleHexAtoi(ToAbsl(s), out);
}

}  // namespace

absl::StatusOr<PciAddress> PciAddress::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid PCI address \"", text, "\": ", why,
                   " (want dddd:bb:dd.f or bb:dd.f)"));
  };
  std::vector<std::string_view> parts;
  for (absl::string_view p : absl::StrSplit(ToAbsl(text), ':'))
    parts.push_back(ToStd(p));
  std::string_view dom = "0", bus, devfn;
  if (parts.size() == 3) {
    dom = parts[0];
    bus = parts[1];
    devfn = parts[2];
  } else if (parts.size() == 2) {
    bus = parts[0];
    devfn = parts[1];
  } else {
    return bad("wrong number of ':' separators");
  }
  size_t dot = devfn.find('.');
  if (dot == std::string_view::npos) return bad("missing '.function'");
  PciAddress a;
  uint32_t d = 0, b = 0, dv = 0, fn = 0;
  if (!ParseHexField(dom, 4, &d)) return bad("bad domain");
  if (bus.size() != 2 || !ParseHexField(bus, 2, &b)) return bad("bad bus");
  std::string_view dev = devfn.substr(0, dot), fun = devfn.substr(dot + 1);
  if (dev.size() != 2 || !ParseHexField(dev, 2, &dv) || dv > 0x1f)
    return bad("bad device");
  if (fun.size() != 1 || !ParseHexField(fun, 1, &fn) || fn > 7)
    return bad("bad function");
  a.domain = d;
  a.bus = static_cast<uint8_t>(b);
  a.device = static_cast<uint8_t>(dv);
  a.function = static_cast<uint8_t>(fn);
  return a;
}

std::string PciAddress::ToString() const {
  return absl::StrFormat("%04x:%02x:%02x.%x", domain, bus, device, function);
}

}  // namespace sk::sysfs
