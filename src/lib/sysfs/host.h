#pragma once
// The host model: an immutable snapshot of the PCI network (class 0x02) and
// accelerator (class 0x12) devices read from a sysfs tree, with their SR-IOV
// relations.
//
//   sk::sysfs::Sysfs fs(root);
//   SK_ASSIGN_OR_RETURN(auto host, sk::sysfs::HostSnapshot::Discover(fs));
//   for (const PciDevice* pf : host.PhysicalFunctions()) { ... host.VfsOf(*pf)
//   }
//
// Discovery is tolerant: a malformed or missing attribute never aborts it;
// the affected field stays unset and the device carries a warning naming the
// attribute and value. Discover() fails only when <root>/sys/bus/pci/devices
// cannot be listed (NotFound).
//
// Everything comes from the tree under the root; nothing from the running
// kernel by other means.
//
// Where each field comes from (D = <root>/sys/bus/pci/devices/<bdf>, itself a
// link into <root>/sys/devices/pci.../):
//   class, vendor, device,     D/uevent (PCI_CLASS, PCI_ID, PCI_SUBSYS_ID),
//   subsystem_vendor/device    each falling back to D/<same name> when
//                              uevent is missing or lacks/garbles the key
//   vendor_name, device_name   pci.ids (first of DiscoverOptions::pci_ids_paths
//                              that exists; vendor and device lines only; the
//                              file is read once per Discover(), and only
//                              when resolve_names is set)
//   driver                     DRIVER in D/uevent (absent: unbound); without
//                              a uevent file, basename of the D/driver link
//   numa_node                  D/numa_node (-1 or missing: unset)
//   iommu_group                basename of the D/iommu_group link
//   noiommu                    <root>/sys/kernel/iommu_groups/<g>/name reads
//                              "vfio-noiommu" (the name vfio gives the fake
//                              groups of enable_unsafe_noiommu_mode; the
//                              matching node is /dev/vfio/noiommu-<g>).
//                              Checked only for devices bound to a driver
//                              whose name contains "vfio": vfio creates such
//                              groups only for devices it binds.
//   acpi_index                 D/acpi_index
//   netdevs                    D/net/<ifname>/{address,mtu,operstate,type,
//                              phys_port_name,phys_switch_id}
//   sriov_totalvfs/numvfs      D/sriov_totalvfs, D/sriov_numvfs
//   vfs                        D/virtfn<N> links (basename = VF address)
//   physfn                     basename of the D/physfn link
//   vf_index                   the N for which the PF's virtfn<N> names this VF
//
// Only devices whose class is 0x02xxxx (network) or 0x12xxxx (processing
// accelerator) are kept. An entry of sys/bus/pci/devices whose name is not a
// PCI address or whose class cannot be read is skipped with a host warning
// (HostSnapshot::warnings()).
//
// Warnings name the attribute and the value, e.g.
//   numa_node: not an integer: "x"
//   net/eth0/address: not a hardware address: "zz:zz"
//
// Thread safety: a HostSnapshot is immutable; share it freely.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/sysfs/pci.h"
#include "lib/sysfs/sysfs.h"

namespace sk::sysfs {

enum class LinkType { kUnknown, kEther, kInfiniband };
const char* LinkTypeName(LinkType t);  // "unknown", "ether", "infiniband"

// Normalises a hardware address as sysfs prints it (`address`): colon-
// separated pairs of hex digits (6 for Ethernet, 20 for InfiniBand; 1 to 32
// accepted), returned lower case. InvalidArgument naming the input otherwise.
absl::StatusOr<std::string> ParseHwAddress(std::string_view text);

struct NetDev {
  std::string name;
  std::string mac;  // lower-case "aa:bb:cc:dd:ee:ff"; empty if unread
  std::optional<int> mtu;
  std::string operstate;  // "up", "down", ... ; empty if unread
  LinkType link_type = LinkType::kUnknown;  // from `type` (1 ether, 32 ib)
  std::string phys_port_name;               // empty when absent
  std::string phys_switch_id;               // empty when absent
};

struct PciDevice {
  PciAddress address;
  uint32_t class_code = 0;  // 24-bit, e.g. 0x020000
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_device_id = 0;
  std::string vendor_name;  // from pci.ids when available
  std::string device_name;

  std::optional<std::string> driver;  // unset when unbound
  std::optional<int> numa_node;       // unset when -1 or missing
  std::optional<int> iommu_group;     // unset when no iommu_group link
  bool noiommu = false;               // group is a vfio-noiommu group
  std::optional<int> acpi_index;
  std::vector<NetDev> netdevs;  // sorted by name

  // SR-IOV physical function side.
  std::optional<int> sriov_totalvfs;  // set => SR-IOV capable PF
  std::optional<int> sriov_numvfs;
  std::map<int, PciAddress> vfs;  // virtfnN -> VF address
  // The PF's own netdev: in switchdev mode the uplink (phys_port_name
  // p<N>, else pf<N>), never a representor (pf<N>vf<M>, pf<N>sf<M>, c<N>..);
  // otherwise the first netdev by name that is not a representor. Unset when
  // the PF has no such netdev (e.g. bound to vfio-pci).
  std::optional<std::string> pf_netdev;

  // SR-IOV virtual function side.
  std::optional<PciAddress> physfn;
  std::optional<int> vf_index;

  std::vector<std::string> warnings;

  bool is_pf() const { return sriov_totalvfs.has_value(); }
  bool is_vf() const { return physfn.has_value(); }
  bool is_network() const { return (class_code >> 16) == 0x02; }
  bool is_accelerator() const { return (class_code >> 16) == 0x12; }
};

struct DiscoverOptions {
  // pci.ids locations tried in order; relative to the Sysfs root. Names are
  // optional: a missing database just leaves them empty.
  std::vector<std::string> pci_ids_paths = {"usr/share/misc/pci.ids",
                                            "usr/share/hwdata/pci.ids"};
  bool resolve_names = true;
  // false: only what device selection needs (the device plugin): netdevs of
  // devices that are not SR-IOV PFs carry only their name and link type
  // (mac, mtu, operstate, phys_port_name and phys_switch_id stay empty, five
  // reads fewer per VF netdev), and the vfio no-IOMMU group name is not read
  // (noiommu stays false). PFs are always read in full.
  bool details = true;
  // Worker threads reading devices; 0 = automatic (1 for small trees, up to
  // min(4, cores) for large ones). The result does not depend on it.
  size_t threads = 0;
};

class HostSnapshot {
 public:
  static absl::StatusOr<HostSnapshot> Discover(
      const Sysfs& fs, const DiscoverOptions& opts = {});

  // All network and accelerator devices, sorted by address.
  const std::vector<PciDevice>& devices() const { return devices_; }
  const PciDevice* Find(const PciAddress& a) const;
  // Finds a device by one of its netdev names.
  const PciDevice* FindByNetdev(std::string_view name) const;
  // SR-IOV capable PFs, sorted by address.
  std::vector<const PciDevice*> PhysicalFunctions() const;
  // The VFs of `pf` ordered by VF index. VFs not present in the snapshot
  // (e.g. link target missing) are skipped.
  std::vector<const PciDevice*> VfsOf(const PciDevice& pf) const;
  // The PF of a VF, or nullptr when `vf` is not a VF or its PF is not in the
  // snapshot.
  const PciDevice* PfOf(const PciDevice& vf) const;
  // Problems that are not about one kept device (an unparsable entry name in
  // sys/bus/pci/devices, an unreadable class), each naming the path.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<PciDevice> devices_;
  std::vector<std::string> warnings_;
  std::map<PciAddress, size_t> index_;
};

}  // namespace sk::sysfs
