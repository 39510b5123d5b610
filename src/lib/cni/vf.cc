#include "lib/cni/vf.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::cni {
namespace {
absl::Status VfInfoError(const absl::Status& s) {
  return absl::NotFoundError(sk::StrCat(
      "LoadConf(): failed to get VF information: \"", s.message(), "\""));
}
}  // namespace

absl::StatusOr<std::string> NetdevForPci(const sysfs::Sysfs& sysfs,
                                         const std::string& pci) {
  auto names = sysfs.ListDir("sys/bus/pci/devices/" + pci + "/net");
  if (!names.ok() || names->empty())
    return absl::NotFoundError("no netdev for PCI device " + pci);
  return names->front();
}

absl::StatusOr<VfLocation> ResolveVf(const sysfs::Sysfs& sysfs,
                                     const std::string& pci) {
  VfLocation loc;
  loc.pci = pci;
  std::string dev = "sys/bus/pci/devices/" + pci;
  if (!sysfs.Exists(dev))
    return VfInfoError(
        absl::NotFoundError("PCI device " + pci + " does not exist"));
  auto pf_pci = sysfs.ReadLinkBasename(dev + "/physfn");
  if (!pf_pci.ok()) return VfInfoError(pf_pci.status());
  loc.pf_pci = *pf_pci;
  auto pf_names = sysfs.ListDir(dev + "/physfn/net");
  if (!pf_names.ok() || pf_names->empty())
    return VfInfoError(
        absl::NotFoundError("PF " + loc.pf_pci + " has no netdev"));
  loc.pf_name = pf_names->front();
  SK_ASSIGN_OR_RETURN(auto entries, sysfs.ListDir(dev + "/physfn"));
  bool found = false;
  for (const auto& e : entries) {
    if (!absl::StartsWith(e, "virtfn")) continue;
    uint32_t n = 0;
    if (!absl::SimpleAtoi(absl::string_view(e).substr(6), &n)) continue;
    auto target = sysfs.ReadLinkBasename(dev + "/physfn/" + e);
    if (target.ok() && *target == pci) {
      loc.vf_index = n;
      found = true;
      break;
    }
  }
  if (!found)
    return VfInfoError(absl::NotFoundError(
        "VF " + pci + " is not listed under PF " + loc.pf_pci));
  auto driver = sysfs.ReadLinkBasename(dev + "/driver");
  if (driver.ok()) loc.driver = *driver;
  auto netdev = NetdevForPci(sysfs, pci);
  if (netdev.ok()) {
    loc.mode = VfMode::kNetdevice;
    loc.netdev = *netdev;
    return loc;
  }
  if (loc.driver == "vfio-pci" || loc.driver == "uio_pci_generic" ||
      loc.driver == "igb_uio") {
    loc.mode = VfMode::kUserspace;
    return loc;
  }
  return absl::FailedPreconditionError(
      "LoadConf(): the VF " + pci +
      " does not have a interface name or a dpdk driver");
}

}  // namespace sk::cni
