#include "lib/sysfs/pci_ids.h"

#include <algorithm>

#include "absl/strings/ascii.h"

#include "lib/base/strings.h"

namespace sk::sysfs {
namespace {

// An ID field: four hex digits followed by white space or the line's end
// ("8086  Intel Corporation"; "80861 x" is not an ID line).
bool IdField(std::string_view s, uint16_t* out) {
  return ParseHex4(s, out) && (s.size() == 4 || s[4] == ' ' || s[4] == '\t');
}

std::string NameAfterId(std::string_view line, size_t id_len) {
  line.remove_prefix(std::min(line.size(), id_len));
  return std::string(absl::StripAsciiWhitespace(ToAbsl(line)));
}

}  // namespace

bool ParseHex4(std::string_view s, uint16_t* out) {
  if (s.size() < 4) return false;
  uint16_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    char c = s[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return false;
    v = static_cast<uint16_t>((v << 4) | d);
  }
  *out = v;
  return true;
}

PciNames ParsePciIds(std::string_view text,
                     const std::unordered_set<uint32_t>& wanted) {
  std::unordered_set<uint16_t> wanted_vendors;
  for (uint32_t id : wanted)
    wanted_vendors.insert(static_cast<uint16_t>(id >> 16));
  PciNames names;
  bool in_wanted_vendor = false;
  uint16_t vendor = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == 'C' && line.size() > 1 && line[1] == ' ') break;
    if (line[0] != '\t') {
      uint16_t v;
      in_wanted_vendor = IdField(line, &v) && wanted_vendors.count(v) > 0;
      if (in_wanted_vendor) {
        vendor = v;
        names.vendors[v] = NameAfterId(line, 4);
      }
      continue;
    }
    if (!in_wanted_vendor || line.size() < 2 || line[1] == '\t') continue;
    uint16_t d;
    if (!IdField(line.substr(1), &d)) continue;
    uint32_t key = (uint32_t{vendor} << 16) | d;
    if (wanted.count(key)) names.devices[key] = NameAfterId(line, 5);
  }
  return names;
}

}  // namespace sk::sysfs
