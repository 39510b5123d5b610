#pragma once
// `explain`: for every PCI network function (and accelerator, when an
// accelerator pool is configured), which pool and selector took it, or why
// it was left out. One implementation behind `sriov-device-plugin --explain`
// and `sriovctl explain`.
//
//   SK_ASSIGN_OR_RETURN(Config c, LoadConfigFile(path, "intel.com"));
//   std::vector<DeviceVerdict> v =
//       ExplainDevices(c.resources, devices, fs, {});
//   std::cout << ExplainTable(v);
//
// The verdicts follow BuildInventory (inventory.h) exactly: the pools come
// from it, and the reasons for the rest are checked in its order:
//   class      no pool of the device's type ("class 0x020000: no netDevice
//              pool configured")
//   driver     "no driver bound"
//   PF         "PF with 4 VFs (its VFs are candidates)"
//   route      "netdev eth0 has the IPv4 default route
//              (--exclude-default-route=false keeps it)"
//   selectors  per pool of its type, the first field of each selector that
//              did not match, with the value seen and the values wanted:
//              "intel.com/vfio selector 0: drivers: \"iavf\" not in
//              [vfio-pci]"
// With an auxNetDevice pool configured, every auxiliary device of a bound
// network function gets its own verdict too (device = its name, pf = the
// parent function), taken or with the aux pools' selector reasons.
//
// Thread safety: pure apart from reading `fs`.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/deviceplugin/config.h"
#include "lib/deviceplugin/inventory.h"

namespace sk::deviceplugin {

struct DeviceVerdict {
  std::string device;  // PCI address, or an auxiliary device's name
  std::string vendor;  // "8086"
  std::string device_id;
  std::string driver;    // "" when unbound
  std::string pf;        // PF address for a VF, else ""
  std::string pool;      // "<prefix>/<name>" that took it, else ""
  int selector = -1;     // index of the selector object that matched
  std::string reason;    // why it was left out; "" when taken
  std::string category;  // class, driver, pf, route, selector; "" if taken
};

// Verdicts in PCI address order.
std::vector<DeviceVerdict> ExplainDevices(
    const std::vector<ResourceConfig>& resources,
    const std::vector<sysfs::PciDevice>& devices, const sysfs::Sysfs& fs,
    const DiscoveryOptions& opts);

// A table: DEVICE, ID (vendor:device), DRIVER, PF, POOL, SELECTOR, REASON,
// columns padded to their widest cell, "-" for an empty cell.
std::string ExplainTable(const std::vector<DeviceVerdict>& v);
// {"devices":[{"device":..,"vendor":..,"deviceId":..,"driver":..,"pf":..,
// "pool":..,"selector":..,"excluded":..,"reason":..}]}; unset fields null.
std::string ExplainJson(const std::vector<DeviceVerdict>& v);

struct ExplainOptions {
  std::string config_file;
  std::string resource_prefix = "intel.com";
  std::string sysfs_root = "/";
  bool exclude_default_route = true;
  bool json = false;
};
// Loads the config, discovers the host under sysfs_root and renders. The
// config's errors: NotFound/InvalidArgument naming the file and the key,
// as LoadConfigFile; a dropped resource entry is an InvalidArgument too
// (explain is for checking a config). Discovery errors name the path.
absl::StatusOr<std::string> ExplainHost(const ExplainOptions& o);

}  // namespace sk::deviceplugin
