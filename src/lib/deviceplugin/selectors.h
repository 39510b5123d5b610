#pragma once
// Selector matching: does one device pass one selector object?
//
//   DeviceFacts f = ...;            // built by the inventory from sysfs
//   if (Matches(resource.selectors[i], f)) { ... }
//
// Semantics, as upstream: the fields of a selector are ANDed, the values in
// one field ORed, and an empty field does not filter. Filters apply in
// upstream's order (vendors, devices, drivers, auxTypes, pciAddresses,
// acpiIndexes, pfNames, rootDevices, linkTypes, ddpProfiles, pKeys, isRdma,
// vdpaType); the order only matters for the reason reported by Explain().
// ddpProfiles and pKeys never match a device whose value is unknown (""),
// and vdpaType needs a vdpa device of exactly that type (upstream
// pkg/resources/ddpSelector.go, pKeySelector.go, pkg/netdevice
// netDeviceProvider.go).
//
// Deliberate differences from upstream:
// - Several entries for the same PF in pfNames/rootDevices are unioned
//   (upstream silently uses the first one only).
// - PCI addresses in pciAddresses/rootDevices are compared after
//   normalisation ("0000:3B:02.1" == "0000:3b:02.1"); upstream compares
//   strings case-insensitively for rootDevices and exactly for pciAddresses.
//   A short form like "3b:02.1" still never matches, as upstream.
//
// Thread safety: pure functions.

#include <optional>
#include <string>
#include <vector>

#include "lib/deviceplugin/config.h"

namespace sk::deviceplugin {

// What selectors look at, for one PCI device.
struct DeviceFacts {
  std::string pci_address;  // canonical "0000:3b:02.1"
  std::string vendor;       // "8086"
  std::string device;       // "154c"
  std::string driver;       // "" when unbound
  std::string acpi_index;   // "" when absent
  // VF side; empty / -1 for non-VFs.
  std::string pf_name;     // PF netdev name
  std::string pf_address;  // PF BDF
  int vf_index = -1;
  std::string link_type;  // "ether", "infiniband", "" when unknown
  bool rdma = false;  // has RDMA devices (<bdf>/infiniband/*); only looked up
                      // when a selector of the pool has isRdma
  std::string pkey;   // IB default P_Key ("0x7fff"); "" when not IB
  std::string ddp_profile;  // only looked up for ddpProfiles; "" unknown
  std::string vdpa_type;    // "vhost", "virtio", "invalid"; "" no vdpa device
                            // (only looked up for vdpaType)
  std::string aux_type;     // auxiliary devices: "sf"; "" otherwise
};

// True when `f` passes every non-empty filter of `s`.
bool Matches(const Selector& s, const DeviceFacts& f);

// Empty when `f` matches `s`; otherwise the first failing filter, e.g.
// "drivers: \"iavf\" not in [vfio-pci]".
std::string Explain(const Selector& s, const DeviceFacts& f);

}  // namespace sk::deviceplugin
