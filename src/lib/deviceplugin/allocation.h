#pragma once
// What an allocation hands to a container, computed from live sysfs at
// Allocate time (k8snetworkplumbingwg/sriov-network-device-plugin#451:
// cached /dev/vfio/<group> paths went stale after a reboot renumbered IOMMU
// groups).
//
//   SK_ASSIGN_OR_RETURN(DeviceOutputs o, ComputeDeviceOutputs(pool, dev, fs));
//   o.specs   -> ContainerAllocateResponse.devices
//   o.info    -> one entry of the PCIDEVICE_<..>_INFO JSON
//
// Providers and keys are upstream's
// (k8snetworkplumbingwg/sriov-network-device-plugin v3.11.0: pkg/infoprovider
// for device specs and mounts, pkg/resources/pool_stub.go for the environment
// variables):
//   generic {deviceID}
//   vfio    {mount:/dev/vfio/vfio, dev-mount:/dev/vfio/<G>}   (vfio-pci)
//           no-IOMMU: host path /dev/vfio/noiommu-<G>, container /dev/vfio/<G>
//   uio     {mount:/dev/uioN}      (uio, igb_uio, and uio_pci_generic)
//   rdma    {uverbs, umad, issm, rdma_cm, rdma_dev}  (selector isRdma)
//   vhost   {net-mount, tun-mount} (selector needVhostNet, both nodes exist)
//   vdpa    {mount:/dev/vhost-vdpa-N} (selector vdpaType "vhost"; the node is
//           also a DeviceSpec), {} for "virtio"
// auxNetDevice devices: generic deviceID is the auxiliary device name, RDMA
// nodes are read below /sys/bus/auxiliary/devices/<name>, and additionalInfo
// is looked up by the parent's PCI address (upstream keys it so).
//   extra   additionalInfo "*" overlaid by the device's BDF entry
// Every key is present on the first allocation (upstream fills uio/vdpa
// mounts only from the second one).
//
// All paths are read through `fs`, so /dev checks (vhost-net, tun) are
// relative to the same root as /sys.
//
// Thread safety: pure apart from reading `fs`.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/deviceplugin/inventory.h"
#include "lib/sysfs/sysfs.h"

namespace sk::deviceplugin {

struct DeviceNode {
  std::string container_path;
  std::string host_path;
  std::string permissions = "rw";
  bool operator==(const DeviceNode&) const = default;
};

using ProviderInfo = std::map<std::string, std::map<std::string, std::string>>;

struct DeviceOutputs {
  std::vector<DeviceNode> specs;
  ProviderInfo info;  // provider -> key -> value
};

// FailedPrecondition when a vfio-pci device has no iommu_group link or a
// uio device has no uio node (the device changed since discovery); the
// message names the device and the path.
absl::StatusOr<DeviceOutputs> ComputeDeviceOutputs(const Pool& pool,
                                                   const PoolDevice& dev,
                                                   const sysfs::Sysfs& fs);

// "PCIDEVICE_" + upper(<prefix>/<name>) with '/' and '.' mapped to '_' and
// '-' kept: byte-compatible with upstream ("intel.com", "sriov-net" ->
// "PCIDEVICE_INTEL_COM_SRIOV-NET").
std::string EnvVarName(const ResourceConfig& r);
// Shell-safe alias: every character outside [A-Za-z0-9_] mapped to '_'.
// Equal to EnvVarName() when the name has no '-'.
std::string EnvVarAlias(const ResourceConfig& r);

// The _INFO value: compact JSON, keys sorted (as Go marshals maps).
std::string InfoJson(const std::map<std::string, ProviderInfo>& by_device);

// Device-info spec v1.1.0 (k8snetworkplumbingwg/device-info-spec), compact,
// field order as upstream's Go struct: {"type":"pci","version":"1.1.0",
// "pci":{"pci-address":..,"vhost-net":..,"rdma-device":..,"pf-pci-address":..}}
// A device with a vdpa device (selector vdpaType): {"type":"vdpa",
// "version":"1.1.0","vdpa":{"parent-device":"vdpa0","driver":"vhost",
// "path":"/dev/vhost-vdpa-0","pci-address":..}} (no path for virtio).
std::string DeviceInfoJson(const PoolDevice& dev, const DeviceOutputs& out);
// "<prefix>-<name>-<id>-device.json" ('/' mapped to '-').
std::string DeviceInfoFileName(const ResourceConfig& r, const std::string& id);

// CDI class: "net-pci" (netDevice), "net-accel" (accelerator) or "net-sf"
// (auxNetDevice).
std::string CdiClass(const ResourceConfig& r);
// "sriov-dp-<prefix>-<class>-<name>.yaml".
std::string CdiSpecFileName(const ResourceConfig& r);
// The CDI spec (YAML) for the whole pool. Device nodes come from
// ComputeDeviceOutputs; a device whose outputs fail is left out and named
// in the returned error list.
std::string CdiSpecYaml(const Pool& pool, const sysfs::Sysfs& fs,
                        std::vector<std::string>* errors);
// Fully qualified CDI name "<prefix>/<class>=<id>".
std::string CdiDeviceName(const ResourceConfig& r, const std::string& id);

}  // namespace sk::deviceplugin
