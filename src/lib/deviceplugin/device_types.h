#pragma once
// Host facts behind the device types and selectors that need more than the
// PCI host model: vDPA devices (selector vdpaType), InfiniBand partition keys
// (pKeys), DDP profiles (ddpProfiles) and auxiliary-bus names (auxTypes).
//
//   if (auto v = FindVdpaDevice(fs, "0000:65:00.2")) { v->type == "vhost" }
//   std::string pkey = ReadDefaultPkey(fs, "0000:81:00.2");   // "0x7fff"
//   AuxDeviceType("mlx5_core.sf.2") == "sf"
//
// Sources, as upstream (k8snetworkplumbingwg/sriov-network-device-plugin):
// - vDPA: pkg/devices/vdpa.go through govdpa's kvdpa: the first vdpa device
//   whose parent is the PCI function; its type comes from the bound driver
//   (vhost_vdpa -> "vhost", virtio_vdpa -> "virtio", else "invalid") and a
//   vhost device's node is /dev/vhost-vdpa-N. We read the same facts from
//   sysfs: /sys/bus/vdpa/devices/<name> links into the parent's device
//   directory, <name>/driver names the driver, <name>/vhost-vdpa-N exists
//   for a vhost device.
// - pKey: pkg/utils/utils.go GetPKey through sriovnet: for a device with an
//   infiniband/ directory, the first entry (index 0) of port 1's P_Key table,
//   /sys/bus/pci/devices/<bdf>/infiniband/<ibdev>/ports/1/pkeys/0, as the
//   kernel prints it ("0xffff"). Compared as a string, as upstream.
// - DDP profile: pkg/netdevice/pciNetDevice.go GetDDPProfiles: devlink dev
//   info "fw.app.name" of the VF, else of its PF, else `ddptool -l -a -j -s`.
//   Behind the DdpProfileSource seam here; see docs/device-plugin.md for
//   what the daemon wires.
// - Auxiliary devices: pkg/utils/utils.go ParseAuxDeviceType and sriovnet's
//   GetAuxNetDevicesFromPci: the entries "<driver>.<type>.<id>" of the PCI
//   function's sysfs directory; the SF index from <aux>/sfnum.
//
// Thread safety: pure apart from reading `fs`.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/sysfs/sysfs.h"

namespace sk::deviceplugin {

struct VdpaDevice {
  std::string name;    // "vdpa0"
  std::string driver;  // "vhost_vdpa", "virtio_vdpa", "" when unbound
  std::string type;    // "vhost", "virtio" or "invalid"
  std::string path;    // "/dev/vhost-vdpa-0" for vhost; "" otherwise
  bool operator==(const VdpaDevice&) const = default;
};

// The first vdpa device (by name) whose parent is the PCI function `bdf`;
// nullopt when there is none or the vdpa bus is absent.
std::optional<VdpaDevice> FindVdpaDevice(const sysfs::Sysfs& fs,
                                         const std::string& bdf);

// The default P_Key of an InfiniBand function (rules above); "" when the
// device has no infiniband/ directory or the table cannot be read.
std::string ReadDefaultPkey(const sysfs::Sysfs& fs, const std::string& bdf);

// "<driver>.<type>.<id>" with a non-negative integer id gives "<type>";
// anything else "".
std::string AuxDeviceType(std::string_view name);

// Auxiliary device names below the PCI function `bdf` (sorted); empty when
// none or the device has no net/ directory (not a network function), as
// sriovnet GetAuxNetDevicesFromPci.
std::vector<std::string> AuxDevicesOf(const sysfs::Sysfs& fs,
                                      const std::string& bdf);

// Where DDP profile names come from (devlink "fw.app.name" or ddptool).
class DdpProfileSource {
 public:
  virtual ~DdpProfileSource() = default;
  // The loaded DDP profile name of `bdf`; NotFound when it has none.
  virtual absl::StatusOr<std::string> Profile(const std::string& bdf) const = 0;
};

// Whether a device's RDMA is enabled where sysfs shows no RDMA device (devlink
// param "enable_rdma"; devlink.h has the rules and the real source). The seam
// for inventory; tests fake it.
class RdmaParamSource {
 public:
  virtual ~RdmaParamSource() = default;
  // `bus` is "pci" or "auxiliary". False (not an error) when the param is
  // false; an error when the device or param cannot be read.
  virtual absl::StatusOr<bool> EnableRdma(std::string_view bus,
                                          std::string_view dev) const = 0;
};

// Upstream's lookup order over `src`: the device itself, else its PF
// (`pf_bdf` may be empty). "" when neither has a profile.
std::string DdpProfileOf(const DdpProfileSource& src, const std::string& bdf,
                         const std::string& pf_bdf);

// The profile name in `ddptool -l -a -j` output
// ({"DDPInventory":{"DDPpackage":{"name":...}}}). Bounded; InvalidArgument
// naming the field when it is not there.
absl::StatusOr<std::string> ParseDdptoolJson(std::string_view text);

}  // namespace sk::deviceplugin
