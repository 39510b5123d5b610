#include "lib/deviceplugin/device_types.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include <nlohmann/json.hpp>

#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/sysfs/pci.h"

namespace sk::deviceplugin {
namespace {

// A single path component we may join under /sys (no '/', not "." or "..").
bool SafeName(std::string_view n) {
  return !n.empty() && n != "." && n != ".." &&
         n.find('/') == std::string_view::npos;
}

// "0000:65:00.2": the full form, as sysfs names PCI functions.
bool IsFullBdf(const std::string& s) {
  auto a = sysfs::PciAddress::Parse(s);
  return a.ok() && std::count(s.begin(), s.end(), ':') == 2;
}

std::string VdpaTypeOfDriver(const std::string& driver) {
  if (driver == "vhost_vdpa") return "vhost";
  if (driver == "virtio_vdpa") return "virtio";
  return "invalid";
}

}  // namespace

std::optional<VdpaDevice> FindVdpaDevice(const sysfs::Sysfs& fs,
                                         const std::string& bdf) {
  auto names = fs.ListDir("sys/bus/vdpa/devices");
  if (!names.ok()) return std::nullopt;
  for (const std::string& name : *names) {
    if (!SafeName(name)) continue;
    std::string rel = sk::StrCat("sys/bus/vdpa/devices/", name);
    auto target = fs.ResolveLink(rel);
    if (!target.ok()) continue;
    // The parent is the nearest PCI function above the device
    // (.../0000:65:00.2/vdpa0, or .../0000:65:00.2/mlx5_core.vnet.0/vdpa0);
    // bridges further up are not parents.
    bool child = false;
    std::vector<std::string> parts;
    for (const auto& part : target->parent_path()) {
      parts.push_back(part.string());
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (IsFullBdf(*it)) {
        child = *it == bdf;
        break;
      }
    }
    if (!child) continue;
    VdpaDevice v;
    v.name = name;
    v.driver = fs.ReadLinkBasename(rel + "/driver").value_or("");
    v.type = VdpaTypeOfDriver(v.driver);
    if (v.type == "vhost") {
      if (auto entries = fs.ListDir(rel); entries.ok()) {
        for (const std::string& e : *entries) {
          if (e.rfind("vhost-vdpa-", 0) == 0) {
            v.path = "/dev/" + e;
            break;
          }
        }
      }
    }
    return v;
  }
  return std::nullopt;
}

std::string ReadDefaultPkey(const sysfs::Sysfs& fs, const std::string& bdf) {
  if (!SafeName(bdf)) return "";
  std::string ib = sk::StrCat("sys/bus/pci/devices/", bdf, "/infiniband");
  auto devs = fs.ListDir(ib);
  if (!devs.ok() || devs->empty() || !SafeName(devs->front())) return "";
  auto pkey =
      fs.ReadAttribute(sk::StrCat(ib, "/", devs->front(), "/ports/1/pkeys/0"));
  return pkey.ok() ? *pkey : "";
}

std::string AuxDeviceType(std::string_view name) {
  std::vector<absl::string_view> chunks = absl::StrSplit(ToAbsl(name), '.');
  if (chunks.size() != 3 || chunks[0].empty() || chunks[1].empty() ||
      chunks[2].empty() ||
      chunks[2].find_first_not_of("0123456789") != absl::string_view::npos) {
    return "";
  }
  uint32_t id = 0;
  if (!absl::SimpleAtoi(chunks[2], &id)) return "";
  return std::string(chunks[1]);
}

std::vector<std::string> AuxDevicesOf(const sysfs::Sysfs& fs,
                                      const std::string& bdf) {
  std::vector<std::string> out;
  if (!SafeName(bdf)) return out;
  std::string dir = sk::StrCat("sys/bus/pci/devices/", bdf);
  if (!fs.Exists(dir + "/net")) return out;
  auto entries = fs.ListDir(dir);
  if (!entries.ok()) return out;
  for (const std::string& e : *entries) {
    if (!AuxDeviceType(e).empty()) out.push_back(e);
  }
  return out;
}

std::string DdpProfileOf(const DdpProfileSource& src, const std::string& bdf,
                         const std::string& pf_bdf) {
  if (auto p = src.Profile(bdf); p.ok() && !p->empty()) return *p;
  if (!pf_bdf.empty()) {
    if (auto p = src.Profile(pf_bdf); p.ok() && !p->empty()) return *p;
  }
  return "";
}

absl::StatusOr<std::string> ParseDdptoolJson(std::string_view text) {
  SK_ASSIGN_OR_RETURN(nlohmann::json doc,
                      ParseJsonBounded(text, {.max_bytes = 64 * 1024}));
  const char* path[] = {"DDPInventory", "DDPpackage", "name"};
  const nlohmann::json* cur = &doc;
  std::string where = "$";
  for (const char* key : path) {
    where = sk::StrCat(where, ".", key);
    if (!cur->is_object() || !cur->contains(key)) {
      return absl::InvalidArgumentError(
          sk::StrCat("ddptool output: ", where, ": missing"));
    }
    cur = &(*cur)[key];
  }
  if (!cur->is_string() || cur->get<std::string>().empty()) {
    return absl::InvalidArgumentError(
        sk::StrCat("ddptool output: ", where,
                   ": expected a non-empty string, got ", cur->dump()));
  }
  return cur->get<std::string>();
}

}  // namespace sk::deviceplugin
