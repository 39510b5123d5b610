#pragma once
// SriovNetworkNodePolicy objects (sriovnetwork.openshift.io/v1), read from
// YAML or JSON files the way the SR-IOV Network Operator's API and admission
// webhook take them, and the node/NIC selection rules of its API helpers
// (k8snetworkplumbingwg/sriov-network-operator api/v1/helper.go,
// api/v1/sriovnetworknodepolicy_types.go, pkg/webhook/validate.go).
//
//   SK_ASSIGN_OR_RETURN(std::vector<Policy> ps, LoadPolicies("policies/"));
//   NodeInfo node{"worker-0", {{"sriov", "true"}}};
//   SK_RETURN_IF_ERROR(ValidatePolicies(ps, node, host, &warnings));
//
// Input: one file or every *.yaml / *.yml / *.json file of a directory
// (sorted, not recursive), each holding one or more documents ("---"), a
// document being one policy or a `List` (any kind ending in "List") whose
// `items` are policies. Files are bounded (4 MiB, 64 levels; anchors and
// aliases refused). Documents of other kinds are skipped with a warning.
//
// Fields are read through sk::FieldReader (lib/base/field_reader.h), so
// every error has its shape: the policy (or file and document), the field
// path, what was expected and the value, e.g.
//   policy "p1" (a.yaml): spec.numVfs: expected an integer in 0..65535, got
//   "four"
//   policy "p1" (a.yaml): spec.nicSelector.vendr: expected a known field,
//   got unknown field
//
// Validation (ValidatePolicies) = the webhook's static checks for every
// policy plus its dynamic checks against this node's PFs for the policies
// that select the node:
//   - resourceName ^[a-zA-Z0-9_]+$; nicSelector not empty; vendor/deviceID 4
//     hex digits; pfNames "#a-b" ranges well formed and end < numVfs;
//     deviceType netdevice|vfio-pci; vfio-pci with isRdma; linkType eth|ib
//     (any case); eSwitchMode legacy|switchdev; switchdev only with eth;
//     vdpaType virtio|vhost needs netdevice + switchdev; priority 0..99;
//     mtu >= 1; numVfs >= 0; netFilter exclusive with the other selectors.
//   - per matched PF: numVfs != 0, numVfs <= sriov_totalvfs; externally
//     managed: numVfs <= the PF's current numVfs, mtu <= its MTU.
//   - between two policies selecting the node: overlapping "#a-b" ranges of
//     one pfName (a name without range counts as the operator's "-1..-1",
//     so two range-less selections of one PF overlap, a ranged and a
//     range-less one do not), the same rootDevice, externallyManaged
//     differing for one pfName, excludeTopology differing for one
//     resourceName.
// Where we differ from the webhook: every pair is checked (the webhook
// stops at the first PF name it compares); the supported-NIC list (a
// ConfigMap) is not consulted; a policy that selects the node but none of
// its PFs is a warning, not an error (other nodes may have the NIC);
// Mellanox numVfs is bounded by sriov_totalvfs rather than a fixed 128.
//
// Thread safety: plain values; functions are pure apart from file reads.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/sysfs/host.h"

namespace sk::nodeconfig {

enum class VfDeviceType { kNetdevice, kVfioPci };
const char* VfDeviceTypeName(VfDeviceType t);  // "netdevice", "vfio-pci"

struct NicSelector {
  std::string vendor;                 // lower-case hex, as written
  std::string device_id;              // PF device ID
  std::vector<std::string> pf_names;  // "ens1f0" or "ens1f0#0-3"
  std::vector<std::string> root_devices;
  std::string net_filter;
  bool empty() const {
    return vendor.empty() && device_id.empty() && pf_names.empty() &&
           root_devices.empty() && net_filter.empty();
  }
};

struct Policy {
  std::string name;
  std::string namespace_name;
  std::string source;  // "<file>" or "<file>#<document>" for messages
  std::string resource_name;
  std::map<std::string, std::string> node_selector;
  int priority = 99;  // webhook default; smaller = higher priority
  int mtu = 0;        // 0 = not set
  int num_vfs = 0;
  NicSelector nic_selector;
  VfDeviceType device_type = VfDeviceType::kNetdevice;
  bool is_rdma = false;
  bool need_vhost_net = false;
  std::string link_type;     // "" | eth | ETH | ib | IB
  std::string eswitch_mode;  // "" | legacy | switchdev
  std::string vdpa_type;     // "" | virtio | vhost
  bool exclude_topology = false;
  bool externally_managed = false;
};

// A pfNames entry split as the operator's ParseVfRange does: no '#' gives
// start = end = -1.
struct PfNameRange {
  std::string name;
  int start = -1;
  int end = -1;
};
absl::StatusOr<PfNameRange> ParsePfNameRange(std::string_view text);

// Parses the documents of one file's text. `source` names it in messages.
// Structural errors (wrong type, unknown field, bad enum) are reported
// here; cross-field and host checks are ValidatePolicies'.
absl::StatusOr<std::vector<Policy>> ParsePolicies(
    std::string_view text, std::string_view source,
    std::vector<std::string>* warnings = nullptr);

// Policies from API objects (a LIST's items or an informer's store), through
// the same checks as ParsePolicies. Objects of another kind are skipped with
// a warning; a missing apiVersion/kind (LIST items may omit them) is taken
// as SriovNetworkNodePolicy. Each policy's source is
// "<source> <namespace>/<name>", e.g.
//   policy "p1" (API ns/p1): spec.numVfs: expected an integer >= 0, got -1
absl::StatusOr<std::vector<Policy>> ParsePolicyObjects(
    const std::vector<nlohmann::json>& objects, std::string_view source,
    std::vector<std::string>* warnings = nullptr);

// Reads a file or a directory as described above. NotFound when `path`
// does not exist; a directory without policy files yields no policies.
absl::StatusOr<std::vector<Policy>> LoadPolicies(
    const std::filesystem::path& path,
    std::vector<std::string>* warnings = nullptr);

struct NodeInfo {
  std::string name;
  std::map<std::string, std::string> labels;
};

// Node labels from a file: a YAML/JSON map of strings, or a Node object
// (metadata.labels), or "key=value" lines. kubernetes.io/hostname is added
// from `node_name` when absent, as the kubelet does.
absl::StatusOr<NodeInfo> LoadNodeInfo(std::string_view node_name,
                                      const std::filesystem::path& labels);

// nodeSelector: every key present with the same value (Policy.Selected).
bool SelectsNode(const Policy& p, const NodeInfo& node);

// NicSelector.Selected: every set field matches the PF (vendor, PF device
// ID, BDF in rootDevices, netdev name in pfNames ignoring "#range").
// netFilter never matches on a host without cloud metadata.
bool SelectsPf(const NicSelector& s, const sysfs::PciDevice& pf);

// The webhook checks above. InvalidArgument naming policy, field and value
// for the first problem; `warnings` gets the non-fatal findings.
absl::Status ValidatePolicies(const std::vector<Policy>& policies,
                              const NodeInfo& node,
                              const sysfs::HostSnapshot& host,
                              std::vector<std::string>* warnings = nullptr);

// Policies in the operator's order: priority number descending, then name
// ascending (so the highest priority policy comes last and wins).
std::vector<Policy> SortByPriority(std::vector<Policy> policies);

}  // namespace sk::nodeconfig
