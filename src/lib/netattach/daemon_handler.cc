#include "lib/netattach/daemon_handler.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/cni/error.h"
#include "lib/kube/kubeconfig.h"
#include "lib/netattach/daemon_options.h"
#include "lib/netattach/metaplugin.h"
#include "lib/netattach/shim_fast.h"

namespace sk::netattach {

namespace {

// One RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDnsLabel(absl::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') {
    return false;
  }
  for (char c : l) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status CheckObjectName(const std::string& what,
                             const std::string& value) {
  bool ok = !value.empty() && value.size() <= 253;
  for (absl::string_view label : absl::StrSplit(value, '.')) {
    if (!ok) break;
    ok = IsDnsLabel(label);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", value,
                     "\" is not a valid Kubernetes object name (RFC 1123 "
                     "subdomain: lowercase letters, digits, '-' and '.')"));
  }
  return absl::OkStatus();
}

std::string PodPath(const std::string& ns, const std::string& name) {
  return absl::StrCat("/api/v1/namespaces/", ns, "/pods/", name);
}

std::string NadPath(const std::string& ns, const std::string& name) {
  return absl::StrCat("/apis/k8s.cni.cncf.io/v1/namespaces/", ns,
                      "/network-attachment-definitions/", name);
}

Pod PodFromObject(const nlohmann::json& object) {
  Pod pod;
  const nlohmann::json* md = nullptr;
  if (object.is_object() && object.contains("metadata") &&
      object["metadata"].is_object()) {
    md = &object["metadata"];
  }
  if (md == nullptr) return pod;
  auto str = [&](const char* key) -> std::string {
    auto it = md->find(key);
    return it != md->end() && it->is_string() ? it->get<std::string>() : "";
  };
  pod.ns = str("namespace");
  pod.name = str("name");
  pod.uid = str("uid");
  if (auto it = md->find("annotations"); it != md->end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) pod.annotations[k] = v.get<std::string>();
    }
  }
  return pod;
}

absl::StatusOr<Pod> KubePodSource::GetPod(const std::string& ns,
                                          const std::string& name) {
  SK_RETURN_IF_ERROR(CheckObjectName("pod namespace", ns));
  SK_RETURN_IF_ERROR(CheckObjectName("pod name", name));
  if (cache_ != nullptr) {
    if (std::optional<nlohmann::json> o = cache_->Get(ns, name)) {
      return PodFromObject(*o);
    }
  }
  SK_ASSIGN_OR_RETURN(nlohmann::json o, client_.Get(PodPath(ns, name)));
  return PodFromObject(o);
}

absl::StatusOr<nlohmann::json> KubeNadSource::GetNad(const std::string& ns,
                                                     const std::string& name) {
  SK_RETURN_IF_ERROR(CheckObjectName("network namespace", ns));
  SK_RETURN_IF_ERROR(CheckObjectName("network name", name));
  if (cache_ != nullptr) {
    if (std::optional<nlohmann::json> o = cache_->Get(ns, name)) return *o;
    // A synced watch cache is the answer, as Multus's informer lister is
    // (multus-cni pkg/k8sclient/kubeclient.go GetNetAttachDef): no GET per
    // ADD for a cluster network that is a conf file, not a NAD.
    if (cache_->HasSynced()) {
      return absl::NotFoundError(absl::StrCat("NetworkAttachmentDefinition ",
                                              ns, "/", name,
                                              " not found (watch cache)"));
    }
  }
  return client_.Get(NadPath(ns, name));
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>>
KubeletDeviceSource::PodDevices(const Pod& pod) {
  absl::StatusOr<podresources::PodDevices> d =
      lookup_.Lookup({.ns = pod.ns, .name = pod.name, .uid = pod.uid});
  // The kubelet lists every pod it runs; one it does not know holds no
  // devices (Multus proceeds the same way and fails later only if a network
  // needs a device).
  if (absl::IsNotFound(d.status())) {
    return std::map<std::string, std::vector<std::string>>{};
  }
  if (!d.ok()) return d.status();
  for (const std::string& w : d->warnings) {
    std::cerr << "sriovkit-netattachd: " << w << "\n";
  }
  return std::move(d->devices);
}

absl::Status KubePodStatusWriter::SetNetworkStatus(
    const std::string& ns, const std::string& name,
    const std::string& network_status_json) {
  SK_RETURN_IF_ERROR(CheckObjectName("pod namespace", ns));
  SK_RETURN_IF_ERROR(CheckObjectName("pod name", name));
  return client_.SetAnnotation(PodPath(ns, name), "status",
                               "k8s.v1.cni.cncf.io/network-status",
                               network_status_json);
}

absl::StatusOr<nlohmann::json> OverlayDaemonConfig(
    const std::string& shim_stdin, const nlohmann::json& daemon_config) {
  absl::StatusOr<nlohmann::json> conf = ParseJsonBounded(shim_stdin);
  if (!conf.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("network configuration: ", conf.status().message()));
  }
  if (!conf->is_object()) {
    return absl::InvalidArgumentError(
        "network configuration: not a JSON object");
  }
  for (const auto& [k, v] : daemon_config.items()) (*conf)[k] = v;
  return conf;
}

absl::StatusOr<nlohmann::json> FitShimConfigLimit(nlohmann::json overlaid,
                                                  size_t shim_stdin_bytes,
                                                  size_t daemon_config_bytes) {
  // Printing drops whitespace and never lengthens a string; only a number
  // can print longer than it was written, at most 4.25 times (1e14 prints
  // as 100000000000000.0). Each of the daemon's keys adds at most its
  // member of daemon_config.dump().
  if (5 * shim_stdin_bytes + daemon_config_bytes <= kMaxShimConfigBytes)
    return overlaid;
  if (std::string text = overlaid.dump(); text.size() > kMaxShimConfigBytes)
    return ParseShimConfigJson(text);
  return overlaid;
}

std::string DelConfigKey(std::string_view stdin_text) {
  sk_json_member prev = {};
  prev.key = "prevResult";
  int top = SK_JSON_ABSENT;
  size_t others = 0;
  if (sk_json_scan(stdin_text.data(), stdin_text.size(), &prev, 1, &top,
                   &others) != 1 ||
      top != SK_JSON_OBJECT || prev.type != SK_JSON_OBJECT)
    return "";
  const size_t at = static_cast<size_t>(prev.raw - stdin_text.data());
  std::string key = std::to_string(at);
  key += ':';
  key += stdin_text.substr(0, at);
  key += stdin_text.substr(at + prev.raw_len);
  return key;
}

std::shared_ptr<const ParsedShimConfig> ShimConfigMemo::Find(
    std::string_view stdin_text) {
  absl::MutexLock lock(&mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first != stdin_text) continue;
    std::rotate(entries_.begin(), it, it + 1);
    return entries_.front().second;
  }
  return nullptr;
}

void ShimConfigMemo::Remember(std::string_view stdin_text,
                              std::shared_ptr<const ParsedShimConfig> parsed) {
  absl::MutexLock lock(&mu_);
  entries_.emplace(entries_.begin(), std::string(stdin_text),
                   std::move(parsed));
  if (entries_.size() > kEntries) entries_.pop_back();
}

namespace {

// Owns everything the meta-plugin's sources use; stops the caches last.
class DaemonHandler final : public Handler {
 public:
  ~DaemonHandler() override {
    if (pods_) pods_->Stop();
    if (nads_) nads_->Stop();
  }

  CniResponse Handle(const CniRequest& request) override {
    DeferredWork later;
    CniResponse response = HandleDeferring(request, later);
    absl::Status s = later.Run();
    if (!s.ok()) std::cerr << "sriovkit-netattachd: " << s.message() << "\n";
    return response;
  }

  CniResponse HandleDeferring(const CniRequest& request,
                              DeferredWork& later) override {
    // A DEL's configuration is found without its prevResult.
    const auto command = request.env.find("CNI_COMMAND");
    // Only where the size limit cannot refuse the text either way
    // (FitShimConfigLimit): with its prevResult the text is another size.
    const std::string del_key =
        command != request.env.end() && command->second == "DEL" &&
                5 * request.stdin_data.size() + daemon_config_bytes_ <=
                    kMaxShimConfigBytes
            ? DelConfigKey(request.stdin_data)
            : std::string();
    const std::string_view key =
        del_key.empty() ? std::string_view(request.stdin_data) : del_key;
    if (std::shared_ptr<const ParsedShimConfig> known = shim_configs_.Find(key))
      return meta_->HandleDeferring(request, known, later);
    absl::StatusOr<nlohmann::json> conf;
    if (daemon_config_.has_value()) {
      absl::StatusOr<nlohmann::json> merged =
          OverlayDaemonConfig(request.stdin_data, *daemon_config_);
      if (!merged.ok()) {
        return {.exit_code = 1,
                .stdout_data = cni::ErrorJson(
                    cni::WithCniCode(merged.status(), cni::kCniDecodeFailure),
                    "1.0.0")};
      }
      conf = FitShimConfigLimit(*std::move(merged), request.stdin_data.size(),
                                daemon_config_bytes_);
    } else {
      conf = ParseShimConfigJson(request.stdin_data);
    }
    absl::StatusOr<std::shared_ptr<const ParsedShimConfig>> parsed =
        ParsedShimConfigFrom(std::move(conf));
    if (parsed.ok()) {
      if (del_key.empty()) {
        shim_configs_.Remember(key, *parsed);
      } else {
        // Another pod's DEL finds this: without this pod's prevResult.
        auto shared = std::make_shared<ParsedShimConfig>(**parsed);
        shared->json.erase("prevResult");
        shim_configs_.Remember(key, std::move(shared));
      }
    }
    return meta_->HandleDeferring(request, parsed, later);
  }

  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<kube::Informer> pods_;
  std::unique_ptr<kube::Informer> nads_;
  std::unique_ptr<podresources::PodDeviceLookup> lookup_;
  std::unique_ptr<KubePodSource> pod_source_;
  std::unique_ptr<KubeNadSource> nad_source_;
  std::unique_ptr<KubeletDeviceSource> device_source_;
  std::unique_ptr<KubePodStatusWriter> status_writer_;
  std::unique_ptr<MetaPlugin> meta_;
  std::optional<nlohmann::json> daemon_config_;
  size_t daemon_config_bytes_ = 0;  // daemon_config_->dump().size()
  ShimConfigMemo shim_configs_;
};

void LogInformerError(const char* what, const absl::Status& s) {
  std::cerr << "sriovkit-netattachd: " << what << " cache: " << s.message()
            << " (retrying)\n";
}

}  // namespace

absl::StatusOr<LogConfig> DaemonLogConfig(const DaemonOptions& options) {
  if (options.config_file.empty()) return LogConfig{};
  SK_ASSIGN_OR_RETURN(std::string text,
                      ReadFileBounded(options.config_file, size_t{1} << 20));
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(text);
  if (!j.ok())
    return absl::InvalidArgumentError(absl::StrCat(
        "--config ", options.config_file, ": ", j.status().message()));
  absl::StatusOr<LogConfig> c = LogConfigFromJson(*j);
  if (!c.ok())
    return absl::InvalidArgumentError(absl::StrCat(
        "--config ", options.config_file, ": ", c.status().message()));
  return c;
}

absl::StatusOr<std::unique_ptr<Handler>> MakeDaemonHandler(
    const DaemonOptions& options) {
  auto h = std::make_unique<DaemonHandler>();

  if (!options.config_file.empty()) {
    SK_ASSIGN_OR_RETURN(std::string text,
                        ReadFileBounded(options.config_file, size_t{1} << 20));
    absl::StatusOr<nlohmann::json> j = ParseJsonBounded(text);
    if (!j.ok() || !j->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--config ", options.config_file, ": ",
                       j.ok() ? "not a JSON object" : j.status().message()));
    }
    // Validated as the shim's configuration would be.
    if (absl::StatusOr<ShimConfig> c = ParseShimConfig(text); !c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--config ", options.config_file, ": ", c.status().message()));
    }
    h->daemon_config_ = *std::move(j);
    h->daemon_config_bytes_ = h->daemon_config_->dump().size();
  }

  absl::StatusOr<kube::RestConfig> rest =
      options.kubeconfig.empty() ? kube::InClusterConfig()
                                 : kube::LoadKubeconfig(options.kubeconfig);
  if (!rest.ok() && !options.kubeconfig.empty()) {
    return absl::Status(rest.status().code(),
                        absl::StrCat("--kubeconfig ", options.kubeconfig, ": ",
                                     rest.status().message()));
  }
  if (!rest.ok()) return rest.status();  // names "in-cluster config"
  SK_ASSIGN_OR_RETURN(h->client_, kube::Client::Create(*std::move(rest)));

  kube::InformerOptions po;
  po.path = "/api/v1/pods";
  po.field_selector = absl::StrCat("spec.nodeName=", options.node_name);
  po.on_error = [](const absl::Status& s) { LogInformerError("pod", s); };
  h->pods_ = std::make_unique<kube::Informer>(*h->client_, po);
  kube::InformerOptions no;
  no.path = kNadCollection;
  no.on_error = [](const absl::Status& s) {
    LogInformerError("NetworkAttachmentDefinition", s);
  };
  h->nads_ = std::make_unique<kube::Informer>(*h->client_, no);
  h->pods_->Start();
  h->nads_->Start();

  podresources::PodDeviceOptions dopts;
  dopts.pod_resources.socket_path = options.pod_resources_socket;
  dopts.checkpoint_path = options.kubelet_checkpoint;
  SK_ASSIGN_OR_RETURN(h->lookup_,
                      podresources::PodDeviceLookup::Create(std::move(dopts)));

  h->pod_source_ = std::make_unique<KubePodSource>(*h->client_, h->pods_.get());
  h->nad_source_ = std::make_unique<KubeNadSource>(*h->client_, h->nads_.get());
  h->device_source_ = std::make_unique<KubeletDeviceSource>(*h->lookup_);
  h->status_writer_ = std::make_unique<KubePodStatusWriter>(*h->client_);

  MetaPluginOptions mo;
  mo.pods = h->pod_source_.get();
  mo.nads = h->nad_source_.get();
  mo.devices = h->device_source_.get();
  mo.status_writer = h->status_writer_.get();
  mo.devinfo_root = options.devinfo_dir;
  mo.conf_dir = options.cni_conf_dir;
  mo.cni_dir = options.cache_dir;
  mo.bin_dirs = std::vector<std::string>{options.cni_bin_dir};
  h->meta_ = std::make_unique<MetaPlugin>(std::move(mo));

  // Serve even when the caches are slow to fill: every miss falls back to
  // a GET. Waiting here only makes the first ADDs cheaper.
  const bool synced = h->pods_->WaitForSync(std::chrono::seconds(10)) &&
                      h->nads_->WaitForSync(std::chrono::seconds(10));
  if (!synced) {
    std::cerr << "sriovkit-netattachd: caches not synced after 10 s; serving "
                 "with API fallbacks\n";
  }
  return std::unique_ptr<Handler>(std::move(h));
}

}  // namespace sk::netattach
