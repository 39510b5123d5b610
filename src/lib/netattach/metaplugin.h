#pragma once

// The meta-plugin: Multus's cmdAdd/cmdDel/cmdCheck (multus-cni
// pkg/multus/multus.go) behind sk::netattach::Handler. The node daemon
// calls Handle() for each request the `sriov-netattach` shim forwards.
//
// ADD, for the pod named by CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_UID, K8S_POD_INFRA_CONTAINER_ID):
//   1. wait (bounded) for `readinessindicatorfile`, when configured;
//   2. get the pod; a pod that does not exist gets Multus's placeholder
//      result {interfaces:[{name:CNI_IFNAME,sandbox:CNI_NETNS}],
//      ips:[{address:"0.0.0.0/0",gateway:"0.0.0.0"}]} and nothing runs;
//   3. delegates, in order: the cluster network (`clusterNetwork`, or the
//      pod's v1.multus-cni.io/default-network), `defaultNetworks` (not for
//      pods in `systemNamespaces`), then the k8s.v1.cni.cncf.io/networks
//      annotation (namespaceIsolation: only the pod's own namespace and
//      `globalNamespaces`); devices of each NAD's resourceName handed out
//      in order (delegate_conf.h);
//   4. saves the list to <cniDir>/<containerID> (before running, so a DEL
//      after a crash still finds it), then ADDs each delegate on its
//      interface (the requested one, else CNI_IFNAME for the cluster
//      network, else net<i> with i its position in the list), after
//      checking the name is free in the netns; a failure DELs every
//      delegate tried so far in reverse and returns
//      "[ns/pod:net]: error adding container to network \"net\": <err>";
//   5. writes network-status (status.h) unless the pod is in a system
//      namespace (a pod gone meanwhile is fine), and returns the cluster
//      network's result in the shim config's cniVersion.
// DEL uses <cniDir>/<containerID>, else rebuilds the list from the pod, else
// succeeds; it removes the devinfo files and the caches. CHECK runs each
// delegate's CHECK. STATUS is OK when the readiness file exists and the
// cluster network's plugins are installed (else code 50). VERSION answers
// the supported versions. GC succeeds without doing anything.
//
// Errors are CNI error JSON (code, msg, details) with exit code 1: bad
// input code 7 (invalid config) or 4 (invalid environment), a cluster
// fact not available yet code 11, a delegate's error with its own code.
//
// Thread-safe: every request uses only its own state; the sources must be
// thread-safe (sources.h says so).

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

#include "lib/base/clock.h"
#include "lib/netattach/conf_cache.h"
#include "lib/netattach/config.h"
#include "lib/netattach/delegate.h"
#include "lib/netattach/gateway.h"
#include "lib/netattach/parse_memo.h"
#include "lib/netattach/sources.h"

namespace sk::netattach {

struct MetaPluginOptions {
  // Not owned; must outlive the MetaPlugin. All four are required.
  PodSource* pods = nullptr;
  NadSource* nads = nullptr;
  DeviceSource* devices = nullptr;
  PodStatusWriter* status_writer = nullptr;
  // Root of the device-information files (dp/ and cni/ below it).
  std::filesystem::path devinfo_root = "/var/run/k8s.cni.cncf.io/devinfo";
  // Waits (readiness file, API retries) run on this clock; RealClock() when
  // null.
  Clock* clock = nullptr;
  // How long ADD waits for the readiness indicator file (Multus: 45 s).
  std::chrono::milliseconds readiness_timeout{std::chrono::seconds(45)};
  // Each delegate exec's bound.
  std::chrono::milliseconds exec_timeout{std::chrono::seconds(60)};
  // GetPod attempts on Unavailable/DeadlineExceeded, a second apart.
  int pod_attempts = 3;
  // The daemon's own paths, overriding the shim config's when set.
  std::optional<std::string> conf_dir;
  std::optional<std::string> cni_dir;
  std::optional<std::vector<std::string>> bin_dirs;
  // Whether `ifname` exists in the netns at `netns_path`. Default: enters
  // the netns (setns on the calling thread) and looks the name up.
  std::function<absl::StatusOr<bool>(const std::string& netns_path,
                                     const std::string& ifname)>
      interface_exists;
  // Applies a delegate's `default-route` edit in the pod netns. Default:
  // ApplyKernelGatewayEdit (gateway.h).
  std::function<absl::Status(const std::string& netns_path,
                             const std::string& ifname,
                             const GatewayEdit& edit)>
      apply_gateway;
};

// One delegate as planned for a container: what DEL and CHECK need again.
struct Attachment {
  NetConfig conf;
  std::string status_name;  // "<ns>/<nad>" or the conf's name
  bool is_default = false;  // the cluster network
  RuntimeConf rt;
  std::string resource;      // the NAD's resourceName, if any
  std::string devinfo_file;  // the CNI devinfo path, if a device was given
  GatewayPlan gateway;       // `default-route` (ADD only; not saved)
};

class MetaPlugin final : public Handler {
 public:
  explicit MetaPlugin(MetaPluginOptions options);
  CniResponse Handle(const CniRequest& request) override;
  // The same with the request's configuration already parsed:
  // ParsedShimConfigFrom(ParseShimConfigJson(request.stdin_data)) or what
  // stands for it (the daemon's --config applied over it), or its error.
  CniResponse Handle(
      const CniRequest& request,
      const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>&
          shim_config);
  // Handler::HandleDeferring: the libcni result cache written by ADD and
  // the files DEL removes are left in `later`; a call for a container
  // whose `later` has not run yet waits for it first.
  CniResponse HandleDeferring(const CniRequest& request,
                              DeferredWork& later) override;

  // Saved delegate lists and result caches read back without a parse
  // (parse_memo.h), for tests and benchmarks.
  uint64_t parse_memo_hits() const {
    return saved_lists_.hits() + results_.hits();
  }
  CniResponse HandleDeferring(
      const CniRequest& request,
      const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>&
          shim_config,
      DeferredWork& later);

 private:
  struct Call;
  // `later` null: Handle, every file done before it returns.
  CniResponse Run(const CniRequest& request,
                  const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>&
                      shim_config,
                  DeferredWork* later);
  CniResponse Dispatch(
      Call& call, const CniRequest& request,
      const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>&
          shim_config);
  absl::StatusOr<std::string> Add(Call& call);
  absl::Status Del(Call& call);
  absl::Status Check(Call& call);
  absl::Status Status(Call& call);
  absl::Status Gc(Call& call, const nlohmann::json& shim_config);
  absl::StatusOr<std::optional<Pod>> GetPod(Call& call);
  absl::StatusOr<std::vector<Attachment>> Plan(Call& call, const Pod* pod);
  absl::StatusOr<NetConfig> ResolveNamedNetwork(
      Call& call, const std::string& netname, std::string& status_name,
      std::string& resource, std::string& nad_ns, std::string& nad_name);
  void Rollback(Call& call, std::span<const Attachment> added);
  absl::Status ApplyGateway(Call& call, const Attachment& a,
                            const nlohmann::json& result);
  void RemoveFiles(Call& call, std::span<const Attachment> list);
  // The saved list `text` read from `saved`: what this daemon kept of the
  // bytes it wrote there (saved_lists_), else DecodeAttachments(text).
  absl::StatusOr<std::vector<Attachment>> DecodeSavedList(
      const std::filesystem::path& saved, std::string_view text) const;

  MetaPluginOptions options_;
  Clock& clock_;
  // The cluster network and defaultNetworks named by a conf in confDir are
  // resolved once, not on every ADD (conf_cache.h).
  ConfDirCache conf_cache_;
  // What the saved delegate lists and the result caches this daemon wrote
  // decode to (parse_memo.h): DEL and CHECK read the file and compare
  // instead of parsing it.
  ParseMemo<std::vector<Attachment>> saved_lists_;
  ParseMemo<nlohmann::json> results_;
  // Containers whose deferred files (HandleDeferring) are not done yet.
  absl::Mutex deferred_mu_;
  std::multiset<std::string> deferred_ ABSL_GUARDED_BY(deferred_mu_);
};

// The saved delegate list (<cniDir>/<containerID>), round-tripped.
std::string EncodeAttachments(const std::vector<Attachment>& list);
absl::StatusOr<std::vector<Attachment>> DecodeAttachments(
    std::string_view text);

}  // namespace sk::netattach
