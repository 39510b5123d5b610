#include "lib/deviceplugin/selectors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

#include "lib/base/strings.h"
#include "lib/sysfs/pci.h"

namespace sk::deviceplugin {
namespace {

bool In(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string NormalizeBdf(const std::string& s) {
  auto a = sysfs::PciAddress::Parse(s);
  // Only full-form addresses match; the short form is rejected as upstream.
  if (!a.ok() || std::count(s.begin(), s.end(), ':') != 2) return s;
  return a->ToString();
}

bool PfMatches(const std::vector<PfSelector>& list, const std::string& pf,
               int vf_index, bool by_address) {
  if (pf.empty() || vf_index < 0) return false;  // only VFs match
  for (const PfSelector& p : list) {
    bool same = by_address ? NormalizeBdf(p.pf) == pf
                           : absl::EqualsIgnoreCase(ToAbsl(p.pf), ToAbsl(pf));
    if (same && p.Contains(vf_index)) return true;
  }
  return false;
}

std::string NotIn(const char* field, const std::string& v,
                  const std::vector<std::string>& list) {
  return sk::StrCat(field, ": \"", v, "\" not in [", absl::StrJoin(list, ","),
                    "]");
}

// As written in the config: "ens1f0#1-3,5" ("ens1f0" for every VF).
std::string PfList(const std::vector<PfSelector>& list) {
  std::vector<std::string> out;
  for (const auto& p : list) {
    std::vector<std::string> ranges;
    for (const auto& [lo, hi] : p.ranges) {
      ranges.push_back(lo == hi ? std::to_string(lo) : sk::StrCat(lo, "-", hi));
    }
    out.push_back(ranges.empty()
                      ? p.pf
                      : sk::StrCat(p.pf, "#", absl::StrJoin(ranges, ",")));
  }
  return absl::StrJoin(out, " ");
}

}  // namespace

std::string Explain(const Selector& s, const DeviceFacts& f) {
  if (!s.vendors.empty() && !In(s.vendors, f.vendor)) {
    return NotIn("vendors", f.vendor, s.vendors);
  }
  if (!s.devices.empty() && !In(s.devices, f.device)) {
    return NotIn("devices", f.device, s.devices);
  }
  if (!s.drivers.empty() && !In(s.drivers, f.driver)) {
    return NotIn("drivers", f.driver, s.drivers);
  }
  if (!s.aux_types.empty() && !In(s.aux_types, f.aux_type)) {
    return NotIn("auxTypes", f.aux_type, s.aux_types);
  }
  if (!s.pci_addresses.empty()) {
    bool any = std::any_of(
        s.pci_addresses.begin(), s.pci_addresses.end(),
        [&](const std::string& a) { return NormalizeBdf(a) == f.pci_address; });
    if (!any) return NotIn("pciAddresses", f.pci_address, s.pci_addresses);
  }
  if (!s.acpi_indexes.empty() && !In(s.acpi_indexes, f.acpi_index)) {
    return NotIn("acpiIndexes", f.acpi_index, s.acpi_indexes);
  }
  if (!s.pf_names.empty() &&
      !PfMatches(s.pf_names, f.pf_name, f.vf_index, false)) {
    return sk::StrCat("pfNames: PF \"", f.pf_name, "\" VF ", f.vf_index,
                      " not in [", PfList(s.pf_names), "]");
  }
  if (!s.root_devices.empty() &&
      !PfMatches(s.root_devices, f.pf_address, f.vf_index, true)) {
    return sk::StrCat("rootDevices: PF \"", f.pf_address, "\" VF ", f.vf_index,
                      " not in [", PfList(s.root_devices), "]");
  }
  if (!s.link_types.empty()) {
    bool any = std::any_of(
        s.link_types.begin(), s.link_types.end(), [&](const std::string& t) {
          return absl::EqualsIgnoreCase(ToAbsl(t), ToAbsl(f.link_type));
        });
    if (!any) return NotIn("linkTypes", f.link_type, s.link_types);
  }
  if (!s.ddp_profiles.empty() &&
      (f.ddp_profile.empty() || !In(s.ddp_profiles, f.ddp_profile))) {
    return NotIn("ddpProfiles", f.ddp_profile, s.ddp_profiles);
  }
  if (!s.pkeys.empty() && (f.pkey.empty() || !In(s.pkeys, f.pkey))) {
    return NotIn("pKeys", f.pkey, s.pkeys);
  }
  if (s.is_rdma && !f.rdma) return "isRdma: device has no RDMA device";
  if (!s.vdpa_type.empty() && f.vdpa_type != s.vdpa_type) {
    if (f.vdpa_type.empty()) return "vdpaType: device has no vdpa device";
    return sk::StrCat("vdpaType: vdpa device is \"", f.vdpa_type, "\", not \"",
                      s.vdpa_type, "\"");
  }
  return "";
}

bool Matches(const Selector& s, const DeviceFacts& f) {
  return Explain(s, f).empty();
}

}  // namespace sk::deviceplugin
