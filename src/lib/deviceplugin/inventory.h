#pragma once
// The inventory: resource pools built from the config and the host model.
//
//   SK_ASSIGN_OR_RETURN(auto host, sysfs::HostSnapshot::Discover(fs));
//   Inventory inv = BuildInventory(config.resources, host.devices(), fs, {});
//   for (const Pool& p : inv.pools) { ... p.devices ... }
//   for (const std::string& line : inv.log) { log(line); }  // why excluded
//
// auxNetDevice pools (upstream pkg/auxnetdevice): every bound class-0x02
// function with a net/ directory contributes its auxiliary devices
// ("<driver>.<type>.<id>" entries of its sysfs directory, read from
// /sys/bus/auxiliary/devices/<name>). Vendors, devices and drivers are the
// parent function's; pfNames/rootDevices see the parent's netdev and address
// with the SF number (<aux>/sfnum) as the index; isRdma looks at
// <aux>/infiniband. The PF-with-VFs and default-route rules do not apply (as
// upstream).
//
// Discovery rules, as upstream
// (k8snetworkplumbingwg/sriov-network-device-plugin v3.11.0: pkg/netdevice and
// pkg/accelerator device providers, pkg/resources pools):
// - netDevice pools consider PCI class 0x02, accelerator pools class 0x12.
// - A PF with sriov_numvfs > 0 is hidden (its VFs are candidates).
// - An unbound device (no driver link) is dropped.
// - A netDevice whose netdev carries an IPv4 default route (read from
//   <root>/proc/net/route) is dropped unless exclude_default_route is false.
// Every exclusion is reported in `log` with the device and the reason.
//
// Pooling is exclusive and first-match-wins: resources in file order, then
// selector objects in list order. A device claimed by an earlier pool is
// reported in `log` and skipped.
//
// PF carrier health (pool option pfCarrierHealth, off by default since a
// link-down PF is legitimate in some setups): a VF whose PF netdev has no
// carrier is returned with healthy = false, and logged. "No carrier" is
// <root>/sys/class/net/<pf>/carrier reading 0, or, when that file cannot be
// read (the kernel refuses it while the link is administratively down),
// operstate "down", "lowerlayerdown" or "notpresent". Anything else,
// including an unreadable operstate, counts as carrier.
//
// Unlike upstream, an empty pool is still returned (the server advertises
// zero devices, so stale capacity on the node drops to 0;
// k8snetworkplumbingwg/sriov-network-device-plugin#245).
//
// Thread safety: pure apart from reading sysfs through `fs`.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/deviceplugin/config.h"
#include "lib/deviceplugin/device_types.h"
#include "lib/deviceplugin/selectors.h"
#include "lib/sysfs/host.h"
#include "lib/sysfs/sysfs.h"

namespace sk::deviceplugin {

struct DiscoveryOptions {
  bool exclude_default_route = true;
  // Source of DDP profile names for ddpProfiles selectors; with none, no
  // device has a profile and such selectors match nothing (logged).
  const DdpProfileSource* ddp = nullptr;
  // isRdma's fallback where <bdf>/infiniband/ is empty or absent (devlink
  // param "enable_rdma", devlink.h); with none, only sysfs counts.
  const RdmaParamSource* rdma_param = nullptr;
};

// One advertised device.
struct PoolDevice {
  std::string id;  // the PCI address, canonical form
  DeviceFacts facts;
  std::optional<int> numa_node;           // unset when unknown or excluded
  std::vector<std::string> rdma_devices;  // only when the selector has isRdma
  bool need_vhost_net = false;            // from the selector that admitted it
  // Its vdpa device, when the admitting selector has vdpaType.
  std::optional<VdpaDevice> vdpa;
  // auxNetDevice pools: the auxiliary device name is the id
  // ("mlx5_core.sf.2") and facts.pf_address its parent PCI function.
  bool aux = false;
  size_t selector_index = 0;  // which selector object admitted it
  // False while the daemon reports it Unhealthy (its PCI function is gone
  // or no longer matches the pool's selectors; see daemon.h).
  bool healthy = true;
};

struct Pool {
  ResourceConfig config;
  std::vector<PoolDevice> devices;  // sorted by id
  // Devices of the pool's class left out, by reason: "no_driver",
  // "pf_has_vfs", "default_route" (every pool of the class counts them),
  // "other_pool" (matched this pool but an earlier one took it).
  std::map<std::string, size_t> excluded;

  const PoolDevice* Find(const std::string& id) const;
};

struct Inventory {
  std::vector<Pool> pools;       // one per config resource, same order
  std::vector<std::string> log;  // exclusions and overlaps, human-readable
};

// Builds DeviceFacts for `d`. `all` provides the PF for VFs.
DeviceFacts FactsFor(const sysfs::PciDevice& d,
                     const std::vector<sysfs::PciDevice>& all,
                     const sysfs::Sysfs& fs);

// Builds DeviceFacts for the auxiliary device `name` below `parent` (every
// optional fact but DDP profiles).
DeviceFacts AuxFactsFor(const std::string& name, const sysfs::PciDevice& parent,
                        const sysfs::Sysfs& fs);

// Interfaces with an IPv4 default route in <root>/proc/net/route.
std::set<std::string> DefaultRouteInterfaces(const sysfs::Sysfs& fs);

// False when the netdev `name` has no carrier (rules above).
bool PfHasCarrier(const sysfs::Sysfs& fs, const std::string& name);

Inventory BuildInventory(const std::vector<ResourceConfig>& resources,
                         const std::vector<sysfs::PciDevice>& devices,
                         const sysfs::Sysfs& fs, const DiscoveryOptions& opts);

}  // namespace sk::deviceplugin
