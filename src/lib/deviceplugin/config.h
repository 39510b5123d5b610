#pragma once
// The device plugin's config.json, parsed the way the upstream Go plugin
// (k8snetworkplumbingwg/sriov-network-device-plugin) reads it, with its
// failure modes made explicit.
//
//   SK_ASSIGN_OR_RETURN(Config c, LoadConfigFile("/etc/pcidp/config.json",
//                                                "intel.com"));
//   for (const ResourceConfig& r : c.resources) { ... }
//   for (const absl::Status& e : c.pool_errors) { log(e); }   // dropped pools
//
// Compatibility rules (upstream v3.11.0: cmd/sriovdp/manager.go reads the
// file into the structs of pkg/types/types.go with Go's encoding/json):
// - Object keys match case-insensitively, as Go's encoding/json does: an
//   exact match wins, otherwise the first key equal ignoring case. The
//   operator's "IsRdma", "NeedVhostNet" and "SelectorObj" therefore work.
//   Map keys of `additionalInfo` (PCI addresses, user keys) keep their case.
// - `selectors` is one object or a list of objects.
// - Unknown keys are ignored, but each is reported in `warnings`.
//
// Where we differ, on purpose:
// - One bad resource entry never takes the others down. Upstream exits (255
//   or 0) for a bad name, a duplicate name or an unknown deviceType; here the
//   entry is dropped and its error lands in `pool_errors`.
// - Missing or null `selectors` is an error for that entry (upstream panics).
// - vdpaType must be "vhost" or "virtio", and a selector with vdpaType
//   cannot have isRdma (upstream's ValidConfig drops the whole resource for
//   the latter; an unknown vdpaType upstream silently matches nothing).
// - auxNetDevice selectors need auxTypes, and "sf" is the only type (as
//   upstream's ValidConfig); selector keys of the other device type are
//   ignored with a warning.
// - VF ranges in pfNames/rootDevices are validated at load.
//
// Every error message names the file, the JSON path and the offending value:
//   /etc/pcidp/config.json: resourceList[1].selectors[0].vendors[0]: expected
//   a string, got 8086
//
// Thread safety: plain values; the functions are pure (LoadConfigFile reads
// one file).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk::deviceplugin {

enum class DeviceType { kNetDevice, kAccelerator, kAuxNetDevice };
// "netDevice" / "accelerator" / "auxNetDevice".
const char* DeviceTypeName(DeviceType t);

// One entry of `pfNames` or `rootDevices`: "<pf>[#<item>(,<item>)*]" where an
// item is "N" or "A-B" (inclusive, 0-based VF index). No ranges = every VF.
struct PfSelector {
  std::string pf;                           // PF netdev name or PF BDF
  std::vector<std::pair<int, int>> ranges;  // empty = all VFs

  // Parses the syntax above. InvalidArgument naming the text otherwise.
  // Whitespace is not trimmed (as upstream).
  static absl::StatusOr<PfSelector> Parse(std::string_view text);
  bool Contains(int vf_index) const;
};

// One selector object. Fields are ANDed, values within one field ORed; an
// empty list means "no filter".
struct Selector {
  std::vector<std::string> vendors;  // lower-case 4 hex, no 0x
  std::vector<std::string> devices;  // lower-case 4 hex, no 0x
  std::vector<std::string> drivers;
  std::vector<std::string> pci_addresses;  // full BDF, exact match
  std::vector<PfSelector> pf_names;
  std::vector<PfSelector> root_devices;
  std::vector<std::string> link_types;
  std::vector<std::string> acpi_indexes;
  bool is_rdma = false;
  bool need_vhost_net = false;
  // netDevice only (device_types.h says where the facts come from).
  std::vector<std::string> ddp_profiles;  // "ddpProfiles"
  std::vector<std::string> pkeys;         // "pKeys", e.g. "0x7fff"
  std::string vdpa_type;                  // "vdpaType": "", "vhost", "virtio"
  // auxNetDevice only: "auxTypes", never empty there ("sf").
  std::vector<std::string> aux_types;
};

// How GetPreferredAllocation picks devices (preferred.h); config key
// "allocationPolicy": "numa" (default), "packPF" or "spreadPF".
enum class AllocationPolicy { kNuma, kPackPf, kSpreadPf };
// The config value of `p`.
const char* AllocationPolicyName(AllocationPolicy p);

struct ResourceConfig {
  std::string resource_name;
  std::string resource_prefix;  // per-entry value, else the CLI prefix
  DeviceType device_type = DeviceType::kNetDevice;
  bool exclude_topology = false;
  // sriovkit extension (upstream has no such key).
  AllocationPolicy allocation_policy = AllocationPolicy::kNuma;
  // sriovkit extension, config key "pfCarrierHealth": a VF whose PF netdev
  // has no carrier is advertised Unhealthy (inventory.h).
  bool pf_carrier_health = false;
  std::vector<Selector> selectors;  // never empty after parsing
  // additionalInfo: "*" and per-BDF maps of extra key/values.
  std::map<std::string, std::map<std::string, std::string>> additional_info;

  // "<prefix>/<name>".
  std::string FullName() const { return resource_prefix + "/" + resource_name; }
};

struct Config {
  std::vector<ResourceConfig> resources;  // valid entries, file order
  std::vector<absl::Status> pool_errors;  // one per dropped entry
  std::vector<std::string> warnings;      // unknown keys, ignored fields
};

// Parses config.json text. `source` names the file in messages;
// `default_prefix` is the --resource-prefix value.
// Returns InvalidArgument when the text is not JSON, is over 4 MiB or nested
// deeper than 64 levels (naming the byte offset), the top level is not an
// object, or `resourceList` is not an array. A missing or empty
// `resourceList` is OK with no resources (the caller stays up idle).
// Errors inside one resource entry never fail the call: see pool_errors.
absl::StatusOr<Config> ParseConfig(std::string_view text,
                                   std::string_view source,
                                   std::string_view default_prefix);

// Reads and parses `path`. NotFound / PermissionDenied (naming the path) when
// it cannot be read, InvalidArgument when it is over 4 MiB (read no further);
// otherwise as ParseConfig.
absl::StatusOr<Config> LoadConfigFile(const std::string& path,
                                      std::string_view default_prefix);

}  // namespace sk::deviceplugin
