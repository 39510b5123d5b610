#pragma once
// `sriovctl inventory [--json] [--pf NAME|BDF]`: discovers the host model
// (sk::sysfs::HostSnapshot) under --sysfs-root and prints every SR-IOV
// physical function with its VFs.
//
// Text output: one block per PF (address, netdev, names and IDs, driver,
// NUMA node, IOMMU group, VF counts), then a table of its VFs (VF index,
// address, driver, IOMMU group, NUMA node, netdev, MAC, link state), then
// any warnings discovery attached to the PF or its VFs. A host without
// SR-IOV PFs prints "no SR-IOV physical functions found" (with the network
// devices that were seen) and succeeds.
//
// --json prints one object whose schema ("sriovkit.inventory/v1") is
// documented in docs/inventory-schema.md; fields are only ever added to v1.
// Besides the PFs it lists the devices without SR-IOV ("other_devices",
// which the text output shows when there are no PFs).
//
// --pf selects one PF, by PCI address (long or short form, any case) or by
// the name of one of its netdevs.
//
// Exit codes (lib/base/exit_code.h, docs/exit-codes.md):
//   0   success, including "no SR-IOV PFs" and PFs carrying warnings
//   65  --pf names a device that is not an SR-IOV PF (a VF, a NIC without
//       SR-IOV, a virtual netdev), or is empty
//   66  --pf matches no device; or --sysfs-root or its
//       sys/bus/pci/devices is missing (or a symlink loop)
// Errors go to the error stream as "sriovctl inventory: <message>".

#include <string>

#include "lib/ctl/ctl.h"
#include "lib/sysfs/host.h"

namespace sk::ctl {

void AddInventoryCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);

struct InventoryOptions {
  bool json = false;
  std::string pf;  // empty: all PFs
};

// Discovers under `sysfs_root` and prints; returns the exit code.
int RunInventory(const std::string& sysfs_root, const InventoryOptions& opts,
                 const Io& io);

// The PFs selected by `pf` ("" = all) in address order. NotFound when
// nothing matches. InvalidArgument when the match is not an SR-IOV PF: a VF,
// a function without sriov_totalvfs, or a netdev in <fs>/sys/class/net that
// is not directly under a PF (virtio-net's eth0 under virtioN/, lo, a
// bridge); the message says which.
absl::StatusOr<std::vector<const sysfs::PciDevice*>> SelectPfs(
    const sysfs::Sysfs& fs, const sysfs::HostSnapshot& host,
    const std::string& pf);

// The discovered devices listed under no PF (as the PF or one of its VFs):
// NICs and accelerators without SR-IOV, in address order.
std::vector<const sysfs::PciDevice*> OtherDevices(
    const sysfs::HostSnapshot& host);

// The two renderings, exposed for tests. The JSON lists `others` as
// "other_devices" (empty with --pf).
std::string FormatInventoryText(
    const sysfs::HostSnapshot& host,
    const std::vector<const sysfs::PciDevice*>& pfs);
std::string FormatInventoryJson(
    const std::string& sysfs_root, const sysfs::HostSnapshot& host,
    const std::vector<const sysfs::PciDevice*>& pfs,
    const std::vector<const sysfs::PciDevice*>& others);

}  // namespace sk::ctl
