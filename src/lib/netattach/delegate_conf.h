#pragma once

// From a NetworkAttachmentDefinition (or a file in confDir) to the delegate
// configuration the meta-plugin runs, as multus-cni does it
// (pkg/netutils/netutils.go GetCNIConfig / GetCNIConfigFromFile,
// pkg/types/conf.go LoadDelegateNetConf, pkg/k8sclient/k8sclient.go
// getKubernetesDelegate / getNetDelegate):
//
//   * `spec.config` is a single conf ({"type":..}) or a conflist
//     ({"plugins":[..]}); a missing `name` becomes the NAD's name.
//   * a NAD without `spec.config` takes the file in confDir (.conf, .json,
//     .conflist, in lexical order) whose network name is the NAD's name.
//   * the device the kubelet assigned for the NAD's
//     `k8s.v1.cni.cncf.io/resourceName` is injected as `deviceID` and
//     `pciBusID` into the conf, or into every plugin of a conflist; the
//     selection element's `cni-args` are merged into `args.cni`.
//
// Every function is pure apart from the confDir and devinfo file access
// named in its comment; none is thread-unsafe.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/netattach/networks.h"

namespace sk::netattach {

inline constexpr char kResourceNameAnnotation[] =
    "k8s.v1.cni.cncf.io/resourceName";
inline constexpr size_t kMaxDelegateConfBytes = size_t{1} << 20;
inline constexpr size_t kMaxDevinfoBytes = size_t{64} << 10;

// A delegate network configuration: a conf or a conflist, with its name.
struct NetConfig {
  nlohmann::json json =
      nlohmann::json::object();  // as given, plus injected keys
  bool is_list = false;
  std::string name;         // the network name (`name` key)
  std::string cni_version;  // `cniVersion`, may be empty
  // The `type` of each plugin, in order (one for a single conf).
  std::vector<std::string> plugin_types;
};

// Parses and validates `text` (bounded) as a conf or conflist. When it has
// no `name`, `default_name` is injected (error if that is empty too).
// Fields are read through sk::FieldReader: InvalidArgument naming `what`,
// the path and the value:
//   "NAD ns1/a spec.config: plugins[1].type: expected a string, got nothing".
absl::StatusOr<NetConfig> ParseNetConfig(std::string_view text,
                                         const std::string& default_name,
                                         const std::string& what);
// As ParseNetConfig, from an already parsed object.
absl::StatusOr<NetConfig> NetConfigFromJson(nlohmann::json j,
                                            const std::string& default_name,
                                            const std::string& what);

// The first file in `conf_dir` (.conf, .json, .conflist; lexical order)
// whose network name is `name`, or the first valid one when `name` is empty.
// NotFound "no network named \"x\" in /etc/cni/multus/net.d". Unreadable or
// invalid files are skipped, as libcni's ConfFiles loop does.
absl::StatusOr<NetConfig> NetConfigFromDir(
    const std::filesystem::path& conf_dir, const std::string& name);

// A conf or conflist file (".conflist" by extension, as libcni decides).
absl::StatusOr<NetConfig> NetConfigFromFile(const std::filesystem::path& path);

// The NAD object's delegate config: spec.config, else confDir by the NAD's
// name. InvalidArgument for a malformed object or config.
absl::StatusOr<NetConfig> NetConfigFromNad(
    const nlohmann::json& nad, const std::filesystem::path& conf_dir);

// The NAD's k8s.v1.cni.cncf.io/resourceName annotation ("" when none).
std::string NadResourceName(const nlohmann::json& nad);

// Hands out a pod's devices: each resource's IDs sorted, and one index per
// resource advanced by every network that takes one. Not thread-safe.
class DeviceAllocator {
 public:
  explicit DeviceAllocator(
      std::map<std::string, std::vector<std::string>> devices);
  // The next device of `resource`. FailedPrecondition naming the pod, the
  // network and the resource when none is left:
  //   "pod ns1/vm1: network ns1/sriov-a: no device of resource
  //    intel.com/sriov_a left (2 assigned, all taken)".
  absl::StatusOr<std::string> Next(const std::string& resource,
                                   const std::string& pod,
                                   const std::string& network);

 private:
  std::map<std::string, std::vector<std::string>> devices_;
  std::map<std::string, size_t> next_;
};

// Sets "deviceID" and "pciBusID" in the conf, or in every plugin of a list.
void InjectDeviceId(NetConfig& conf, const std::string& device_id);
// Merges `cni_args` (an object) into "args":{"cni":{...}} of the conf or
// every plugin of a list, replacing keys of the same name.
void MergeCniArgs(NetConfig& conf, const nlohmann::json& cni_args);

// Device-information files (the Device Information Specification v1.1.0,
// as network-attachment-definition-client pkg/utils/cniutils.go names them).
// `root` is /var/run/k8s.cni.cncf.io/devinfo in production.
//   dp:  <root>/dp/<resource>-<deviceID>-device.json
//   cni: <root>/cni/<ns>-<nad>-<containerID>_<ifname>
// with every '/' in a component replaced by '-'.
std::filesystem::path DpDevinfoPath(const std::filesystem::path& root,
                                    const std::string& resource,
                                    const std::string& device_id);
std::filesystem::path CniDevinfoPath(const std::filesystem::path& root,
                                     const std::string& ns,
                                     const std::string& nad,
                                     const std::string& container_id,
                                     const std::string& ifname);
// Copies the device plugin's file to `cni_path` (mode 0444, creating
// <root>/cni). NotFound when the device plugin wrote none; InvalidArgument
// when it is larger than kMaxDevinfoBytes or not a JSON object.
absl::Status CopyDevinfo(const std::filesystem::path& dp_path,
                         const std::filesystem::path& cni_path);
// The file parsed (bounded); nullopt when absent or not a JSON object.
std::optional<nlohmann::json> ReadDevinfo(const std::filesystem::path& path);

}  // namespace sk::netattach
