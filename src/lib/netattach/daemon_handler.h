#pragma once

// The daemon's cluster seams over the Kubernetes API and the kubelet: the
// sources.h interfaces as sriovkit-netattachd implements them.
//
// - Pods: a watch cache of the pods on this node (field selector
//   spec.nodeName=<node>), falling back to a GET when the cache misses (a
//   pod created a moment ago, or a cache not synced yet).
// - NetworkAttachmentDefinitions: a watch cache of every NAD in the cluster
//   (k8s.cni.cncf.io/v1), with the same GET fallback, so a pod's ADD needs
//   no API round trip for its networks.
// - Devices: the kubelet PodResources API, else its checkpoint file
//   (src/lib/podresources/pod_devices.h).
// - network-status: a merge patch of the annotation on pods/<name>/status,
//   as Multus writes it (multus-cni pkg/k8sclient/k8sclient.go
//   SetNetworkStatus, through the status subresource).
//
// Namespaces and names are checked as DNS-1123 names before they become part
// of an API path.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

#include "lib/kube/client.h"
#include "lib/kube/informer.h"
#include "lib/netattach/config.h"
#include "lib/netattach/daemon_options.h"
#include "lib/netattach/multus_log.h"
#include "lib/netattach/sources.h"
#include "lib/podresources/pod_devices.h"

namespace sk::netattach {

// InvalidArgument naming `what` unless `value` is a DNS-1123 subdomain
// (lowercase alphanumerics, '-' and '.', at most 253 characters).
absl::Status CheckObjectName(const std::string& what, const std::string& value);

// The Pod fields the meta-plugin uses, from a pod object.
Pod PodFromObject(const nlohmann::json& object);

class KubePodSource final : public PodSource {
 public:
  // `cache` may be null (every lookup is a GET).
  KubePodSource(kube::Client& client, const kube::Informer* cache)
      : client_(client), cache_(cache) {}
  absl::StatusOr<Pod> GetPod(const std::string& ns,
                             const std::string& name) override;

 private:
  kube::Client& client_;
  const kube::Informer* cache_;
};

// NADs from the watch cache; a name missing from a synced cache is NotFound
// (as Multus's informer lister), and a GET only while the cache has not
// synced yet. `cache` may be null (every lookup is a GET).
class KubeNadSource final : public NadSource {
 public:
  KubeNadSource(kube::Client& client, const kube::Informer* cache)
      : client_(client), cache_(cache) {}
  absl::StatusOr<nlohmann::json> GetNad(const std::string& ns,
                                        const std::string& name) override;

 private:
  kube::Client& client_;
  const kube::Informer* cache_;
};

class KubeletDeviceSource final : public DeviceSource {
 public:
  explicit KubeletDeviceSource(podresources::PodDeviceLookup& lookup)
      : lookup_(lookup) {}
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> PodDevices(
      const Pod& pod) override;

 private:
  podresources::PodDeviceLookup& lookup_;
};

class KubePodStatusWriter final : public PodStatusWriter {
 public:
  explicit KubePodStatusWriter(kube::Client& client) : client_(client) {}
  absl::Status SetNetworkStatus(
      const std::string& ns, const std::string& name,
      const std::string& network_status_json) override;

 private:
  kube::Client& client_;
};

// API paths.
std::string PodPath(const std::string& ns, const std::string& name);
std::string NadPath(const std::string& ns, const std::string& name);
inline constexpr const char kNadCollection[] =
    "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions";

// The daemon's configuration file (--config) applied over the shim's: each
// top-level key of `daemon_config` replaces the shim's, as Multus's thick
// server overrides the request's configuration with its own. InvalidArgument
// "network configuration: ..." when `shim_stdin` is not JSON within
// sk::JsonLimits' defaults, or not an object.
absl::StatusOr<nlohmann::json> OverlayDaemonConfig(
    const std::string& shim_stdin, const nlohmann::json& daemon_config);

// `overlaid` (OverlayDaemonConfig's result) if its text fits
// kMaxShimConfigBytes, else ParseShimConfigJson's error for that text
// ("shim config: JSON input of N bytes exceeds the 1048576-byte limit").
// The text is printed only when it might not fit: it is at most
// 5 * shim_stdin_bytes + daemon_config_bytes long (daemon_config_bytes:
// the length of daemon_config.dump()).
absl::StatusOr<nlohmann::json> FitShimConfigLimit(nlohmann::json overlaid,
                                                  size_t shim_stdin_bytes,
                                                  size_t daemon_config_bytes);

// The shim configurations parsed successfully last, found again by their
// exact stdin text (a DEL's: by DelConfigKey): what a text parses to (with
// the daemon's --config applied over it) depends on nothing else. Two
// entries, least recently used dropped: a runtime's ADD sends the same
// configuration every time, and so does its DEL but for the pod's own
// prevResult. Thread-safe.
// A DEL's stdin, the runtime's configuration with the pod's ADD result
// injected as `prevResult`, which the meta-plugin does not read (Multus's
// DEL ignores it): the key its configuration is remembered under is the
// text without the value of its top-level prevResult (the text before it,
// its length first, and the text after it), so the DELs of every pod find
// one parse. Empty (remember by the text itself) when the text has no
// top-level prevResult object or the fast scanner (shim_fast.h) cannot
// vouch that nlohmann would parse it.
std::string DelConfigKey(std::string_view stdin_text);

class ShimConfigMemo {
 public:
  static constexpr size_t kEntries = 2;
  // The remembered parse of `stdin_text`, else null.
  std::shared_ptr<const ParsedShimConfig> Find(std::string_view stdin_text);
  void Remember(std::string_view stdin_text,
                std::shared_ptr<const ParsedShimConfig> parsed);

 private:
  absl::Mutex mu_;
  // Most recently used first.
  std::vector<std::pair<std::string, std::shared_ptr<const ParsedShimConfig>>>
      entries_ ABSL_GUARDED_BY(mu_);
};

// The daemon's logging keys (logFile, logLevel, logToStderr, logOptions;
// multus_log.h) from --config; Multus's defaults without one. Errors name
// --config and the key.
absl::StatusOr<LogConfig> DaemonLogConfig(const DaemonOptions& options);

}  // namespace sk::netattach
