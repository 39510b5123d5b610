#include "lib/kubevirt/sriov_hostdevs.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/launcher_pod.h"

namespace sk::kubevirt {
namespace {

constexpr std::string_view kPciDevicePrefix = "PCIDEVICE_";
constexpr std::string_view kResourceNamePrefix = "KUBEVIRT_RESOURCE_NAME_";

}  // namespace

std::string PciDeviceEnvName(std::string_view resource_name) {
  std::string out(kPciDevicePrefix);
  for (char c : resource_name) {
    out.push_back(c == '/' || c == '.' || c == '-'
                      ? '_'
                      : absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>>
PciDeviceEnvFromEnviron(const std::vector<std::string>& environ) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& kv : environ) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos ||
        !absl::StartsWith(kv, sk::ToAbsl(kPciDevicePrefix))) {
      continue;
    }
    const std::string key = kv.substr(0, eq);
    std::vector<std::string>& list = out[key];
    for (absl::string_view item :
         absl::StrSplit(absl::string_view(kv).substr(eq + 1), ',')) {
      item = absl::StripAsciiWhitespace(item);
      if (item.empty()) continue;
      absl::StatusOr<sysfs::PciAddress> a =
          sysfs::PciAddress::Parse(sk::ToStd(item));
      if (!a.ok()) {
        return absl::InvalidArgumentError(sk::StrCat(
            "environment variable ", key, ": ", a.status().message()));
      }
      list.push_back(a->ToString());
    }
  }
  return out;
}

std::map<std::string, std::string> ResourceNamesFromEnviron(
    const std::vector<std::string>& environ) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : environ) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos ||
        !absl::StartsWith(kv, sk::ToAbsl(kResourceNamePrefix))) {
      continue;
    }
    out[kv.substr(kResourceNamePrefix.size(),
                  eq - kResourceNamePrefix.size())] = kv.substr(eq + 1);
  }
  return out;
}

bool PciAddressPool::ComputeEmpty() const {
  bool env_empty = true;
  for (const auto& [k, v] : env_) env_empty = env_empty && v.empty();
  return info_.empty() && env_empty;
}

absl::StatusOr<std::string> PciAddressPool::Pop(const std::string& network) {
  // KubeVirt checks this once, when it builds the pool.
  if (empty_) {
    return absl::NotFoundError(
        "found no SR-IOV networks to PCI-Address mapping");
  }
  auto it = info_.find(network);
  if (it != info_.end()) {
    std::string addr = it->second;
    info_.erase(it);  // consume once
    return addr;
  }
  auto res = resources_.find(network);
  std::string why = "not in network-info";
  if (res == resources_.end() || res->second.empty()) {
    why += " and no resource name known for the env fallback";
  } else {
    const std::string var = PciDeviceEnvName(res->second);
    auto e = env_.find(var);
    if (e != env_.end() && !e->second.empty()) {
      std::string addr = e->second.front();
      // The same VF may be listed under several resources: drop it
      // everywhere so no other network gets it.
      for (auto& [k, list] : env_) std::erase(list, addr);
      return addr;
    }
    why += sk::StrCat(" and ", var, " has no address left (resource ",
                      res->second, ")");
  }
  return absl::NotFoundError(sk::StrCat("PCI-Address for SR-IOV network \"",
                                        network, "\" not found: ", why));
}

absl::StatusOr<std::vector<libvirt::HostdevSpec>> BuildSriovHostdevs(
    const Vmi& vmi, PciAddressPool& pool) {
  std::vector<libvirt::HostdevSpec> out;
  for (const Interface& iface : vmi.interfaces) {
    if (!iface.has_binding("sriov") || iface.state == "absent") continue;
    libvirt::HostdevSpec spec;
    SK_ASSIGN_OR_RETURN(std::string host, pool.Pop(iface.name));
    SK_ASSIGN_OR_RETURN(spec.source, sysfs::PciAddress::Parse(host));
    if (iface.boot_order.has_value()) {
      if (*iface.boot_order < 1 ||
          *iface.boot_order > std::numeric_limits<uint32_t>::max()) {
        return absl::InvalidArgumentError(
            sk::StrCat("interface ", iface.name, ": bootOrder ",
                       *iface.boot_order, " out of range"));
      }
      spec.boot_order = static_cast<uint32_t>(*iface.boot_order);
    }
    if (!iface.pci_address.empty()) {
      absl::StatusOr<sysfs::PciAddress> g =
          sysfs::PciAddress::Parse(iface.pci_address);
      if (!g.ok() || iface.pci_address.size() != 12) {
        return absl::InvalidArgumentError(
            sk::StrCat("interface ", iface.name, " has malformed PCI address (",
                       iface.pci_address, ")."));
      }
      spec.guest_address = *g;
    }
    spec.alias = libvirt::SriovAlias(iface.name);
    out.push_back(std::move(spec));
  }
  return out;
}

absl::Status PreflightVfio(const sysfs::Sysfs& sys, const sysfs::Sysfs& dev,
                           const std::vector<libvirt::HostdevSpec>& specs) {
  for (const libvirt::HostdevSpec& s : specs) {
    const std::string bdf = s.source.ToString();
    const std::string who = sk::StrCat(s.alias, " (host ", bdf, ")");
    const std::string base = sk::StrCat("sys/bus/pci/devices/", bdf);
    if (!sys.Exists(base)) {
      return absl::NotFoundError(
          sk::StrCat(who, ": no such PCI device ", sys.Path(base)));
    }
    absl::StatusOr<std::string> driver = sys.ReadLinkBasename(base + "/driver");
    if (!driver.ok() || *driver != "vfio-pci") {
      return absl::FailedPreconditionError(sk::StrCat(
          who, ": bound to ", driver.ok() ? *driver : std::string("no driver"),
          ", not vfio-pci; QEMU can only pass through a VF bound to vfio-pci "
          "(use deviceType vfio-pci for VM resources)"));
    }
    absl::StatusOr<std::string> group =
        sys.ReadLinkBasename(base + "/iommu_group");
    if (!group.ok()) {
      return absl::FailedPreconditionError(
          sk::StrCat(who,
                     ": no iommu_group link; is the IOMMU on (intel_iommu=on / "
                     "amd_iommu) and VT-d enabled in the BIOS?"));
    }
    const std::string node = sk::StrCat("dev/vfio/", *group);
    if (!dev.Exists(node)) {
      const std::string noiommu = sk::StrCat("dev/vfio/noiommu-", *group);
      if (dev.Exists(noiommu)) {
        return absl::FailedPreconditionError(sk::StrCat(
            who, ": IOMMU group ", *group, " is a vfio no-IOMMU group (",
            dev.Path(noiommu), "); libvirt cannot assign it to a VM"));
      }
      return absl::FailedPreconditionError(sk::StrCat(
          who, ": IOMMU group ", *group, " has no VFIO device node ",
          dev.Path(node),
          " (not allocated to this pod by the device plugin, or vfio-pci not "
          "loaded)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<libvirt::DomainOptions> DomainOptionsForVmi(const Vmi& vmi) {
  libvirt::DomainOptions o;
  o.name = sk::StrCat(vmi.namespace_, "_", vmi.name);
  const std::string& mem =
      vmi.memory_guest.empty() ? vmi.memory_request : vmi.memory_guest;
  int64_t bytes = int64_t{1} << 30;
  if (!mem.empty()) {
    SK_ASSIGN_OR_RETURN(bytes, ParseMemoryQuantity(mem));
  }
  // libvirt takes KiB; round a partial KiB up.
  o.memory_kib = static_cast<uint64_t>((bytes + 1023) / 1024);
  o.vcpus = vmi.vcpus;
  return o;
}

}  // namespace sk::kubevirt
