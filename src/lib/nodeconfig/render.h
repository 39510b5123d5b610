#pragma once
// What the SR-IOV Network Operator renders from its objects, rendered the
// same way without a cluster:
//
//   - the device plugin's config.json for one node from the
//     SriovNetworkNodePolicies
//     (controllers/sriovnetworknodepolicy_controller.go
//     renderDevicePluginConfigData / createDevicePluginResource /
//     updateDevicePluginResource);
//   - NetworkAttachmentDefinitions from SriovNetwork objects (api/v1/helper.go
//     SriovNetwork.RenderNetAttDef with
//     bindata/manifests/cni-config/sriov-cni-config.yaml).
//
//   SK_ASSIGN_OR_RETURN(std::string cfg,
//                       RenderDevicePluginConfig(policies, node, fs, host));
//   SK_ASSIGN_OR_RETURN(auto nets, ParseSriovNetworks(text, "nets.yaml"));
//   for (auto& n : nets) std::cout << RenderNad(n, {}).dump(2);
//
// Device-plugin config: policies selecting the node, in the operator's
// order (priority number descending, then name), one resourceList entry
// per resourceName, later policies of the same name union their selector
// lists. Entry: {"resourceName", "excludeTopology" (only when true),
// "selectors": {"vendors","devices","drivers","pciAddresses","pfNames",
// "rootDevices","linkTypes" (each only when non-empty), "IsRdma",
// "NeedVhostNet", "vdpaType" (when set)}} -- Go's field order and
// omitempty. "devices" holds the VF device ID for numVfs > 0 (the PF's for
// numVfs 0); the operator reads it from its supported-nic-ids ConfigMap,
// here it comes from the PF's sriov_vf_device, a VF present on this host,
// or the operator's default table, in that order (FailedPrecondition naming
// the deviceID when none knows it). vfio-pci policies get
// "drivers":["vfio-pci"] and no linkTypes. netFilter selectors need cloud
// metadata and are refused (Unimplemented).
// Output is compact JSON (Go's json.Marshal) plus a newline; it loads in
// lib/deviceplugin/config.h without warnings.
//
// NAD: name = SriovNetwork name, namespace = spec.networkNamespace or the
// object's namespace; annotations k8s.v1.cni.cncf.io/resourceName
// "<prefix>/<resourceName>" and sriovnetwork.openshift.io/owner-ref
// "SriovNetwork.sriovnetwork.openshift.io/<ns>/<name>"; spec.config the
// string the operator's template produces, byte for byte:
//   { "cniVersion":"1.0.0", "name":"<n>","type":"sriov","vlan":<v>,
//   ["spoofchk":..,]["trust":..,]"vlanQoS":<q>,["vlanProto":..,]
//   ["min_tx_rate":..,]["max_tx_rate":..,]["capabilities":<raw>,]
//   ["link_state":..,]"logLevel":"<l>",["logFile":..,]"ipam":<ipam> }
// (ipam with all whitespace removed, {} when empty; with metaPlugins the
// sriov object sits in "plugins": [ {..} , <metaPlugins> ]).
// vlan is always written (default 0): a NAD without vlan leaves the VF on
// whatever VLAN its previous user set.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/nodeconfig/policy.h"
#include "lib/sysfs/host.h"
#include "lib/sysfs/sysfs.h"

namespace sk::nodeconfig {

inline constexpr char kDefaultResourcePrefix[] = "openshift.io";

absl::StatusOr<std::string> RenderDevicePluginConfig(
    const std::vector<Policy>& policies, const NodeInfo& node,
    const sysfs::Sysfs& fs, const sysfs::HostSnapshot& host);

struct SriovNetwork {
  std::string name;
  std::string namespace_name;  // metadata.namespace ("default" if absent)
  std::string source;
  std::string resource_name;
  std::string network_namespace;
  int vlan = 0;
  int vlan_qos = 0;
  std::string vlan_proto;
  std::string spoof_chk;   // "" | on | off
  std::string trust;       // "" | on | off
  std::string link_state;  // "" | auto | enable | disable
  std::optional<int> min_tx_rate;
  std::optional<int> max_tx_rate;
  std::string ipam;          // raw JSON text
  std::string capabilities;  // raw JSON text
  std::string meta_plugins;  // raw JSON text (objects, comma separated)
  std::string log_level = "info";
  std::string log_file;
};

// SriovNetwork documents (same input rules as ParsePolicies; other kinds
// skipped with a warning). Fields are read through sk::FieldReader, so an
// error is InvalidArgument of one shape naming network, field path and value
// ('SriovNetwork "n" (a.yaml): spec.vlan: expected an integer in 0..4094,
// got 4095'): ranges (vlan 0..4094, vlanQoS 0..7, rates >= 0), enums, and
// ipam / capabilities that are not a JSON object.
absl::StatusOr<std::vector<SriovNetwork>> ParseSriovNetworks(
    std::string_view text, std::string_view source,
    std::vector<std::string>* warnings = nullptr);
// One SriovNetwork API object (as a LIST or WATCH returns it), checked as
// ParseSriovNetworks does; `source` names it in errors.
absl::StatusOr<SriovNetwork> ParseSriovNetworkObject(
    const nlohmann::json& object, std::string_view source);
absl::StatusOr<std::vector<SriovNetwork>> LoadSriovNetworks(
    const std::filesystem::path& path,
    std::vector<std::string>* warnings = nullptr);

struct NadOptions {
  std::string resource_prefix = kDefaultResourcePrefix;
};

// The NAD object (apiVersion k8s.cni.cncf.io/v1).
nlohmann::ordered_json RenderNad(const SriovNetwork& net,
                                 const NadOptions& opts);
// Just the spec.config string.
std::string RenderNadConfig(const SriovNetwork& net);

}  // namespace sk::nodeconfig
