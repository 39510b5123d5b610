#pragma once

// The meta-plugin's own CNI configuration: the stdin the runtime gives
// `sriov-netattach` (type "sriov-netattach" in /etc/cni/net.d), with the keys
// of Multus's thin/thick plugin (multus-cni pkg/types/conf.go) plus
// `socketDir` for the shim.
//
//   {"cniVersion":"1.0.0","name":"multus-cni-network","type":"sriov-netattach",
//    "kubeconfig":"/etc/cni/net.d/multus.d/multus.kubeconfig",
//    "clusterNetwork":"cbr0","defaultNetworks":[],
//    "readinessindicatorfile":"/run/flannel/subnet.env"}
//
// Unknown keys are ignored (as Go's json.Unmarshal does); a known key of the
// wrong type is InvalidArgument naming the key and the value.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk::netattach {

inline constexpr size_t kMaxShimConfigBytes = size_t{1} << 20;

struct ShimConfig {
  std::string cni_version;
  std::string name;
  std::string type;
  std::string kubeconfig;
  std::string conf_dir = "/etc/cni/multus/net.d";
  std::string cni_dir = "/var/lib/cni/multus";
  // `binDir`, split on ':' (libcni takes a search list).
  std::vector<std::string> bin_dirs = {"/opt/cni/bin"};
  std::string cluster_network;
  std::vector<std::string> default_networks;
  // `delegates`: inline delegate confs, used as the cluster network when
  // `clusterNetwork` is empty (Multus's legacy form).
  std::vector<nlohmann::json> delegates;
  std::vector<std::string> system_namespaces = {"kube-system"};
  // Where the cluster network's and default networks' NADs live
  // (`multusNamespace`, default kube-system as in Multus).
  std::string multus_namespace = "kube-system";
  std::string log_file;
  std::string log_level;
  bool log_to_stderr = false;
  std::string readiness_indicator_file;
  bool namespace_isolation = false;
  // `globalNamespaces`: a comma list (Multus's form) or an array; namespaces
  // any pod may reference under namespaceIsolation. Default ["default"].
  std::vector<std::string> global_namespaces = {"default"};
  std::string socket_dir = "/run/sriovkit/netattach";
};

// Parses the shim's stdin (bounded: kMaxShimConfigBytes, depth 64).
// Fields are read through sk::FieldReader: InvalidArgument "shim config:
// confDir: expected a string, got 5", "shim config: logLevel: expected one
// of \"\", \"debug\", \"error\", \"panic\", \"verbose\", got \"loud\"", or
// the JSON syntax error with its byte offset.
absl::StatusOr<ShimConfig> ParseShimConfig(std::string_view text);

// ParseShimConfig in two steps, for a caller that reads the JSON too (the
// daemon applies its --config over it; GC reads its valid attachments):
// the bounded parse, with ParseShimConfig's errors ("shim config: JSON
// input of N bytes exceeds the 1048576-byte limit", the syntax error) ...
absl::StatusOr<nlohmann::json> ParseShimConfigJson(std::string_view text);
// ... and the fields of the parsed value (its field errors).
absl::StatusOr<ShimConfig> ShimConfigFromJson(const nlohmann::json& json);

// A shim configuration parsed: its JSON (GC reads its valid attachments)
// and its fields.
struct ParsedShimConfig {
  nlohmann::json json;
  ShimConfig config;
};
// ShimConfigFromJson(*json) kept with *json; json's own error as it is.
absl::StatusOr<std::shared_ptr<const ParsedShimConfig>> ParsedShimConfigFrom(
    absl::StatusOr<nlohmann::json> json);

}  // namespace sk::netattach
