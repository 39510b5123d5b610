#pragma once

// Resolution of a VF PCI address to its PF, VF index and current binding
// through sysfs (root injectable; see lib/sysfs/sysfs.h):
//   bus/pci/devices/<vf>/physfn/net/<pf>   PF netdev (first, sorted)
//   bus/pci/devices/<vf>/physfn/virtfnN    -> ../<vf>   VF index N
//   bus/pci/devices/<vf>/net/<name>        netdevice mode (first, sorted)
//   bus/pci/devices/<vf>/driver            -> vfio-pci | uio_pci_generic |
//                                             igb_uio: userspace mode

#include <string>

#include "absl/status/statusor.h"

#include "lib/cni/state.h"
#include "lib/sysfs/sysfs.h"

namespace sk::cni {

struct VfLocation {
  std::string pci;
  std::string pf_pci;
  std::string pf_name;
  uint32_t vf_index = 0;
  VfMode mode = VfMode::kNetdevice;
  std::string netdev;  // netdevice mode: current host name
  std::string driver;  // bound driver, may be empty
};

// NotFound "LoadConf(): failed to get VF information: ..." when the device,
// its physfn or the PF netdev is missing, or the VF is not listed under the
// PF; FailedPrecondition "LoadConf(): the VF <pci> does not have a interface
// name or a dpdk driver" when neither mode applies.
absl::StatusOr<VfLocation> ResolveVf(const sysfs::Sysfs& sysfs,
                                     const std::string& pci);

// The VF's netdev name in the namespace sysfs reflects, NotFound if none.
absl::StatusOr<std::string> NetdevForPci(const sysfs::Sysfs& sysfs,
                                         const std::string& pci);

}  // namespace sk::cni
