#include "lib/netattach/metaplugin.h"

#include <net/if.h>

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cni/env.h"
#include "lib/cni/error.h"
#include "lib/cni/result.h"
#include "lib/cni/version.h"
#include "lib/net/netns.h"
#include "lib/netattach/networks.h"
#include "lib/netattach/status.h"

namespace sk::netattach {

struct MetaPlugin::Call {
  cni::CniEnv env;
  ShimConfig config;
  std::string pod_ns, pod_name, pod_uid, infra_id;
  std::vector<std::pair<std::string, std::string>> orig_args;
  std::optional<DelegateRunner> runner;
  std::optional<DeviceAllocator> devices;
  // HandleDeferring: the runner defers its cache files, and RemoveFiles
  // notes its paths in `removals`.
  bool defer = false;
  std::vector<std::filesystem::path> removals;
  std::string Label() const { return pod_ns + "/" + pod_name; }
};

namespace {

constexpr size_t kMaxSavedListBytes = size_t{8} << 20;

std::vector<std::pair<std::string, std::string>> SplitCniArgs(
    const std::string& args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view kv : absl::StrSplit(args, ';', absl::SkipEmpty())) {
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    out.emplace_back(std::string(kv.substr(0, eq)),
                     std::string(kv.substr(eq + 1)));
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

absl::StatusOr<bool> KernelInterfaceExists(const std::string& netns,
                                           const std::string& ifname) {
  SK_ASSIGN_OR_RETURN(UniqueFd fd, net::OpenNetns(netns));
  bool exists = false;
  SK_RETURN_IF_ERROR(net::RunInNetns(fd.get(), [&]() -> absl::Status {
    exists = ::if_nametoindex(ifname.c_str()) != 0;
    return absl::OkStatus();
  }));
  return exists;
}

// Maps a failure of the cluster seams to the CNI code a runtime retries on.
absl::Status Transient(const absl::Status& s, std::string_view context) {
  int code = (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ||
              absl::IsAborted(s))
                 ? cni::kCniTryAgainLater
                 : cni::CniCodeOf(s);
  return cni::CniError(code, sk::StrCat(context, ": ", ToStd(s.message())));
}

}  // namespace

std::string EncodeAttachments(const std::vector<Attachment>& list) {
  // Members set one by one rather than from initializer lists, which build
  // each pair as an array first (the keys print sorted either way).
  nlohmann::json saved = nlohmann::json::object();
  saved["kind"] = "sriovkitDelegatesV1";
  nlohmann::json& arr = saved["delegates"] = nlohmann::json::array();
  for (const auto& a : list) {
    nlohmann::json& e = arr.emplace_back(nlohmann::json::object());
    e["conf"] = a.conf.json;
    e["statusName"] = a.status_name;
    e["default"] = a.is_default;
    e["containerId"] = a.rt.container_id;
    e["netns"] = a.rt.netns;
    e["ifName"] = a.rt.ifname;
    nlohmann::json& args = e["cniArgs"] = nlohmann::json::array();
    for (const auto& [k, v] : a.rt.args) args.push_back({k, v});
    e["capabilityArgs"] = a.rt.capability_args;
    e["resourceName"] = a.resource;
    e["devinfoFile"] = a.devinfo_file;
  }
  return saved.dump();
}

absl::StatusOr<std::vector<Attachment>> DecodeAttachments(
    std::string_view text) {
  SK_ASSIGN_OR_RETURN(
      nlohmann::json j,
      ParseJsonBounded(text, {.max_bytes = kMaxSavedListBytes}));
  auto bad = [](std::string_view why) {
    return absl::DataLossError(sk::StrCat("saved delegate list: ", why));
  };
  if (!j.is_object() || JsonString(j, "kind") != "sriovkitDelegatesV1" ||
      !j.contains("delegates") || !j["delegates"].is_array())
    return bad("not a sriovkitDelegatesV1 object");
  std::vector<Attachment> out;
  for (const auto& d : j["delegates"]) {
    if (!d.is_object() || !d.contains("conf"))
      return bad("entry not an object");
    Attachment a;
    SK_ASSIGN_OR_RETURN(a.conf, NetConfigFromJson(d["conf"], "", "saved conf"));
    auto str = [&](const char* k) {
      auto it = d.find(k);
      return it != d.end() && it->is_string() ? it->get<std::string>() : "";
    };
    a.status_name = str("statusName");
    a.is_default = JsonBool(d, "default");
    a.rt.container_id = str("containerId");
    a.rt.netns = str("netns");
    a.rt.ifname = str("ifName");
    a.resource = str("resourceName");
    a.devinfo_file = str("devinfoFile");
    if (auto it = d.find("cniArgs"); it != d.end() && it->is_array())
      for (const auto& p : *it)
        if (p.is_array() && p.size() == 2 && p[0].is_string() &&
            p[1].is_string())
          a.rt.args.emplace_back(p[0].get<std::string>(),
                                 p[1].get<std::string>());
    if (auto it = d.find("capabilityArgs"); it != d.end() && it->is_object())
      a.rt.capability_args = *it;
    if (!IsValidIfName(a.rt.ifname)) return bad("invalid ifName");
    out.push_back(std::move(a));
  }
  return out;
}

MetaPlugin::MetaPlugin(MetaPluginOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : RealClock()) {
  if (!options_.interface_exists)
    options_.interface_exists = KernelInterfaceExists;
  if (!options_.apply_gateway) options_.apply_gateway = ApplyKernelGatewayEdit;
}

CniResponse MetaPlugin::Handle(const CniRequest& request) {
  return Handle(request,
                ParsedShimConfigFrom(ParseShimConfigJson(request.stdin_data)));
}

CniResponse MetaPlugin::Handle(
    const CniRequest& request,
    const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>&
        shim_config) {
  return Run(request, shim_config, nullptr);
}

CniResponse MetaPlugin::HandleDeferring(const CniRequest& request,
                                        DeferredWork& later) {
  return HandleDeferring(
      request, ParsedShimConfigFrom(ParseShimConfigJson(request.stdin_data)),
      later);
}

CniResponse MetaPlugin::HandleDeferring(
    const CniRequest& request,
    const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>& shim_config,
    DeferredWork& later) {
  return Run(request, shim_config, &later);
}

CniResponse MetaPlugin::Run(
    const CniRequest& request,
    const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>& shim_config,
    DeferredWork* later) {
  // Work an earlier call left in the same `later` is done first: this
  // call could otherwise wait for it below, on its own thread.
  if (later != nullptr && later->pending()) (void)later->Run();
  std::string container_id;
  if (auto it = request.env.find("CNI_CONTAINERID"); it != request.env.end())
    container_id = it->second;
  if (!container_id.empty()) {
    // The runtime answered, it may call again at once: what the last call
    // for this container left to do is done first.
    absl::MutexLock lock(&deferred_mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(deferred_mu_) {
      return !deferred_.contains(container_id);
    };
    deferred_mu_.Await(absl::Condition(&done));
  }
  Call call;
  // Files are deferred per container (a GC call has none).
  call.defer = later != nullptr && !container_id.empty();
  CniResponse response = Dispatch(call, request, shim_config);
  if (call.runner) response.delegate_time = call.runner->exec_time();
  if (call.defer && ((call.runner && call.runner->has_deferred()) ||
                     !call.removals.empty())) {
    // Built before the container is marked: nothing can throw between the
    // mark and `later` holding the work that clears it.
    std::function<absl::Status()> work =
        [this, container_id, runner = std::move(call.runner),
         removals = std::move(call.removals)]() mutable {
          // Cleared however the work ends (an exception included), or the
          // container's next call would wait for ever.
          absl::Cleanup unmark = [&] {
            absl::MutexLock lock(&deferred_mu_);
            deferred_.erase(deferred_.find(container_id));
          };
          absl::Status s = runner ? runner->WriteDeferred() : absl::OkStatus();
          for (const std::filesystem::path& p : removals) {
            std::error_code ec;
            std::filesystem::remove(p, ec);
          }
          if (!s.ok())
            return absl::Status(
                s.code(),
                sk::StrCat("container ", container_id,
                           ": writing the result cache: ", ToStd(s.message())));
          return absl::OkStatus();
        };
    {
      absl::MutexLock lock(&deferred_mu_);
      deferred_.insert(container_id);
    }
    later->Set(std::move(work));
  }
  return response;
}

CniResponse MetaPlugin::Dispatch(
    Call& call, const CniRequest& request,
    const absl::StatusOr<std::shared_ptr<const ParsedShimConfig>>&
        shim_config) {
  auto respond_error = [&](const absl::Status& s) {
    return CniResponse{1, cni::ErrorJson(s, call.config.cni_version)};
  };
  absl::StatusOr<cni::CniEnv> env =
      cni::ParseEnv([&](const char* name) -> std::optional<std::string> {
        auto it = request.env.find(name);
        if (it == request.env.end()) return std::nullopt;
        return it->second;
      });
  if (shim_config.ok()) call.config = (*shim_config)->config;
  if (!env.ok()) return respond_error(env.status());
  if (!shim_config.ok())
    return respond_error(
        cni::WithCniCode(shim_config.status(), cni::kCniInvalidConfig));
  call.env = *env;
  if (options_.conf_dir) call.config.conf_dir = *options_.conf_dir;
  if (options_.cni_dir) call.config.cni_dir = *options_.cni_dir;
  if (options_.bin_dirs) call.config.bin_dirs = *options_.bin_dirs;
  call.orig_args = SplitCniArgs(call.env.args);
  for (const auto& [k, v] : call.orig_args) {
    if (k == "K8S_POD_NAMESPACE") call.pod_ns = v;
    if (k == "K8S_POD_NAME") call.pod_name = v;
    if (k == "K8S_POD_UID") call.pod_uid = v;
    if (k == "K8S_POD_INFRA_CONTAINER_ID") call.infra_id = v;
  }
  call.runner.emplace(RunnerOptions{
      .bin_dirs = call.config.bin_dirs,
      .cache_dir = call.config.cni_dir,
      .timeout = options_.exec_timeout,
      .defer_cache_files = call.defer,
      .result_memo = &results_,
  });

  switch (call.env.command) {
    case cni::Command::kVersion:
      return {0, cni::VersionJson(call.config.cni_version)};
    case cni::Command::kAdd: {
      absl::StatusOr<std::string> out = Add(call);
      if (!out.ok()) return respond_error(out.status());
      return {0, *out};
    }
    case cni::Command::kDel: {
      absl::Status s = Del(call);
      if (!s.ok()) return respond_error(s);
      return {0, ""};
    }
    case cni::Command::kCheck: {
      absl::Status s = Check(call);
      if (!s.ok()) return respond_error(s);
      return {0, ""};
    }
    case cni::Command::kStatus: {
      absl::Status s = Status(call);
      if (!s.ok()) return respond_error(s);
      return {0, ""};
    }
    case cni::Command::kGc: {
      absl::Status s = Gc(call, (*shim_config)->json);
      if (!s.ok()) return respond_error(s);
      return {0, ""};
    }
  }
  return respond_error(cni::CniError(cni::kCniInvalidEnv, "unknown command"));
}

absl::StatusOr<std::optional<Pod>> MetaPlugin::GetPod(Call& call) {
  if (call.pod_ns.empty() || call.pod_name.empty()) return std::nullopt;
  std::optional<Pod> pod;
  absl::Status s =
      RetryWhile(clock_, options_.pod_attempts, std::chrono::seconds(1),
                 IsCode({absl::StatusCode::kUnavailable,
                         absl::StatusCode::kDeadlineExceeded}),
                 [&]() -> absl::Status {
                   absl::StatusOr<Pod> p =
                       options_.pods->GetPod(call.pod_ns, call.pod_name);
                   if (!p.ok()) return p.status();
                   pod = std::move(*p);
                   return absl::OkStatus();
                 });
  if (absl::IsNotFound(s)) return std::nullopt;
  if (!s.ok()) return Transient(s, sk::StrCat("get pod ", call.Label()));
  if (!call.pod_uid.empty() && !pod->uid.empty() && pod->uid != call.pod_uid)
    return cni::CniError(
        cni::kCniTryAgainLater,
        sk::StrCat("pod ", call.Label(), ": expected pod UID \"", call.pod_uid,
                   "\" but got \"", pod->uid, "\" from the API"));
  return pod;
}

absl::StatusOr<NetConfig> MetaPlugin::ResolveNamedNetwork(
    Call& call, const std::string& netname, std::string& status_name,
    std::string& resource, std::string& nad_ns, std::string& nad_name) {
  // As multus-cni k8sclient.go getNetDelegate: a path is a file or a
  // directory; a name is a NAD in multusNamespace, else a conf in confDir.
  if (netname.find('/') != std::string::npos) {
    std::error_code ec;
    absl::StatusOr<NetConfig> c = std::filesystem::is_directory(netname, ec)
                                      ? NetConfigFromDir(netname, "")
                                      : NetConfigFromFile(netname);
    if (!c.ok())
      return cni::CniError(cni::kCniInvalidConfig,
                           sk::StrCat("network \"", netname,
                                      "\": ", ToStd(c.status().message())));
    status_name = c->name;
    return c;
  }
  absl::StatusOr<nlohmann::json> nad =
      options_.nads->GetNad(call.config.multus_namespace, netname);
  if (nad.ok()) {
    SK_ASSIGN_OR_RETURN(NetConfig c,
                        NetConfigFromNad(*nad, call.config.conf_dir));
    nad_ns = call.config.multus_namespace;
    nad_name = netname;
    status_name = nad_ns + "/" + nad_name;
    resource = NadResourceName(*nad);
    return c;
  }
  absl::StatusOr<NetConfig> c =
      conf_cache_.Lookup(call.config.conf_dir, netname);
  if (!absl::IsNotFound(nad.status())) {
    // multus-cni getNetDelegate: any failure to read the NAD (the API
    // server unreachable) falls through to the conf file of that name, so
    // the cluster network does not depend on the API. Without one, the
    // API's error is the answer.
    if (c.ok()) {
      status_name = c->name;
      return c;
    }
    return Transient(nad.status(), sk::StrCat("get network \"", netname, "\""));
  }
  if (!c.ok())
    return cni::CniError(
        cni::kCniInvalidConfig,
        sk::StrCat("cannot find network \"", netname, "\": no NAD in ",
                   call.config.multus_namespace, " and ",
                   ToStd(c.status().message())));
  status_name = c->name;
  return c;
}

absl::StatusOr<std::vector<Attachment>> MetaPlugin::Plan(Call& call,
                                                         const Pod* pod) {
  struct Planned {
    NetConfig conf;
    std::string status_name, resource, nad_ns, nad_name;
    std::optional<NetworkSelection> sel;
    bool is_default = false;
  };
  std::vector<Planned> planned;
  auto annotation = [&](const char* key) -> std::string {
    if (pod == nullptr) return "";
    auto it = pod->annotations.find(key);
    return it == pod->annotations.end() ? "" : it->second;
  };

  // The cluster network.
  Planned master;
  master.is_default = true;
  if (std::string dn = annotation(kDefaultNetworkAnnotation); !dn.empty()) {
    absl::StatusOr<std::vector<NetworkSelection>> sels = ParseNetworkSelections(
        dn, call.pod_ns, call.pod_name, call.config.multus_namespace);
    if (!sels.ok())
      return cni::WithCniCode(sels.status(), cni::kCniInvalidConfig);
    if (sels->size() != 1)
      return cni::CniError(
          cni::kCniInvalidConfig,
          sk::StrCat("pod ", call.Label(), ": annotation ",
                     kDefaultNetworkAnnotation,
                     " must name exactly one network, got ", sels->size()));
    master.sel = (*sels)[0];
  } else if (!call.config.cluster_network.empty()) {
    SK_ASSIGN_OR_RETURN(master.conf,
                        ResolveNamedNetwork(call, call.config.cluster_network,
                                            master.status_name, master.resource,
                                            master.nad_ns, master.nad_name));
  } else if (!call.config.delegates.empty()) {
    absl::StatusOr<NetConfig> c =
        NetConfigFromJson(call.config.delegates[0], "", "delegates[0]");
    if (!c.ok()) return cni::WithCniCode(c.status(), cni::kCniInvalidConfig);
    master.conf = std::move(*c);
    master.status_name = master.conf.name;
  } else {
    return cni::CniError(cni::kCniInvalidConfig,
                         "shim config: neither \"clusterNetwork\" nor "
                         "\"delegates\" is set");
  }
  planned.push_back(std::move(master));

  const bool system_ns =
      pod != nullptr && Contains(call.config.system_namespaces, pod->ns);
  if (!system_ns) {
    for (const auto& name : call.config.default_networks) {
      Planned p;
      SK_ASSIGN_OR_RETURN(
          p.conf, ResolveNamedNetwork(call, name, p.status_name, p.resource,
                                      p.nad_ns, p.nad_name));
      planned.push_back(std::move(p));
    }
  }
  if (std::string nets = annotation(kNetworksAnnotation); !nets.empty()) {
    absl::StatusOr<std::vector<NetworkSelection>> sels =
        ParseNetworkSelections(nets, call.pod_ns, call.pod_name, call.pod_ns);
    if (!sels.ok())
      return cni::WithCniCode(sels.status(), cni::kCniInvalidConfig);
    for (auto& sel : *sels) {
      if (call.config.namespace_isolation && sel.ns != call.pod_ns &&
          !Contains(call.config.global_namespaces, sel.ns))
        return cni::CniError(
            cni::kCniInvalidConfig,
            sk::StrCat("pod ", call.Label(), ": namespace isolation: network ",
                       sel.ns, "/", sel.name,
                       " is outside the pod's namespace"));
      Planned p;
      p.sel = std::move(sel);
      planned.push_back(std::move(p));
    }
  }

  // NADs of selection elements (the default-network one included).
  for (auto& p : planned) {
    if (!p.sel || !p.conf.plugin_types.empty()) continue;
    absl::StatusOr<nlohmann::json> nad =
        options_.nads->GetNad(p.sel->ns, p.sel->name);
    if (!nad.ok()) {
      std::string msg =
          sk::StrCat("pod ", call.Label(),
                     ": cannot find a network-attachment-definition (",
                     p.sel->name, ") in namespace (", p.sel->ns, ")");
      if (absl::IsNotFound(nad.status()))
        return cni::CniError(
            cni::kCniInvalidConfig,
            sk::StrCat(msg, ": ", ToStd(nad.status().message())));
      return Transient(nad.status(), msg);
    }
    absl::StatusOr<NetConfig> c = NetConfigFromNad(*nad, call.config.conf_dir);
    if (!c.ok()) return cni::WithCniCode(c.status(), cni::kCniInvalidConfig);
    p.conf = std::move(*c);
    p.nad_ns = p.sel->ns;
    p.nad_name = p.sel->name;
    p.status_name = p.nad_ns + "/" + p.nad_name;
    p.resource = NadResourceName(*nad);
  }

  std::vector<Attachment> out;
  std::set<std::string> ifnames;
  for (size_t idx = 0; idx < planned.size(); ++idx) {
    Planned& p = planned[idx];
    Attachment a;
    a.status_name = p.status_name;
    a.is_default = p.is_default;
    a.resource = p.resource;
    std::string device_id;
    if (!p.resource.empty() && pod != nullptr) {
      if (!call.devices) {
        absl::StatusOr<std::map<std::string, std::vector<std::string>>> devs =
            options_.devices->PodDevices(*pod);
        if (!devs.ok())
          return Transient(devs.status(),
                           sk::StrCat("pod ", call.Label(), ": devices"));
        call.devices.emplace(std::move(*devs));
      }
      absl::StatusOr<std::string> id =
          call.devices->Next(p.resource, call.Label(), p.status_name);
      if (!id.ok())
        return cni::WithCniCode(id.status(), cni::kCniTryAgainLater);
      device_id = *id;
    }
    if (device_id.empty() && p.sel) device_id = p.sel->device_id;
    if (!device_id.empty()) InjectDeviceId(p.conf, device_id);
    if (p.sel && p.sel->cni_args) MergeCniArgs(p.conf, *p.sel->cni_args);

    RuntimeConf& rt = a.rt;
    rt.container_id = call.env.container_id;
    rt.netns = call.env.netns;
    if (p.sel && !p.sel->interface.empty()) {
      rt.ifname = p.sel->interface;
    } else if (p.is_default) {
      rt.ifname = call.env.ifname;
    } else {
      rt.ifname = sk::StrCat("net", idx);
    }
    if (!ifnames.insert(rt.ifname).second)
      return cni::CniError(
          cni::kCniInvalidConfig,
          sk::StrCat("pod ", call.Label(), ": network ", a.status_name,
                     ": interface name ", rt.ifname, " is used twice"));
    rt.args = {{"IgnoreUnknown", "true"},
               {"K8S_POD_NAMESPACE", call.pod_ns},
               {"K8S_POD_NAME", call.pod_name},
               {"K8S_POD_INFRA_CONTAINER_ID", call.infra_id},
               {"K8S_POD_UID", call.pod_uid}};
    for (const auto& kv : call.orig_args) {
      bool have = false;
      for (const auto& [k, v] : rt.args) have = have || k == kv.first;
      if (!have) rt.args.push_back(kv);
    }
    nlohmann::json& caps = rt.capability_args;
    if (p.sel) {
      if (!p.sel->mac.empty()) {
        rt.args.emplace_back("MAC", p.sel->mac);
        caps["mac"] = p.sel->mac;
      }
      if (!p.sel->ips.empty()) {
        rt.args.emplace_back("IP", absl::StrJoin(p.sel->ips, ","));
        caps["ips"] = p.sel->ips;
      }
      if (p.sel->port_mappings) caps["portMappings"] = *p.sel->port_mappings;
      if (p.sel->bandwidth) caps["bandwidth"] = *p.sel->bandwidth;
      if (!p.sel->infiniband_guid.empty())
        caps["infinibandGUID"] = p.sel->infiniband_guid;
    }
    if (!device_id.empty()) {
      caps["deviceID"] = device_id;
      if (!p.nad_name.empty()) {
        a.devinfo_file =
            CniDevinfoPath(options_.devinfo_root, p.nad_ns, p.nad_name,
                           call.env.container_id, rt.ifname)
                .string();
        caps["CNIDeviceInfoFile"] = a.devinfo_file;
      }
    }
    if (p.sel && p.sel->has_default_route)
      a.gateway.request = p.sel->default_route;
    a.conf = std::move(p.conf);
    out.push_back(std::move(a));
  }
  std::vector<GatewayPlan> gateways;
  gateways.reserve(out.size());
  for (const Attachment& a : out) gateways.push_back(a.gateway);
  if (absl::Status s = PlanGateways(gateways); !s.ok())
    return cni::CniError(
        cni::kCniInvalidConfig,
        sk::StrCat("pod ", call.Label(), ": ", ToStd(s.message())));
  for (size_t i = 0; i < out.size(); ++i) out[i].gateway = gateways[i];
  return out;
}

absl::Status MetaPlugin::ApplyGateway(Call& call, const Attachment& a,
                                      const nlohmann::json& result) {
  // multus.go: only for a result with interfaces or IPs (some plugins
  // create nothing).
  auto has = [&](const char* k) {
    auto it = result.find(k);
    return it != result.end() && it->is_array();
  };
  if (!has("interfaces") && !has("ips")) return absl::OkStatus();
  GatewayEdit edit = GatewayEditFor(a.gateway);
  if (edit.empty()) return absl::OkStatus();
  if (absl::Status s =
          options_.apply_gateway(call.env.netns, a.rt.ifname, edit);
      !s.ok())
    return cni::CniError(
        cni::kCniInvalidConfig,
        sk::StrCat("error setting default gateway: ", ToStd(s.message())));
  absl::Status s =
      call.runner->EditCachedResult(a.conf.name, a.rt, [&](nlohmann::json& r) {
        DropDefaultRoutes(r, edit.drop_v4, edit.drop_v6);
        AddDefaultRoutes(r, edit.add);
      });
  if (!s.ok())
    return cni::CniError(cni::kCniIoFailure,
                         sk::StrCat("error setting default gateway in cache: ",
                                    ToStd(s.message())));
  return absl::OkStatus();
}

void MetaPlugin::RemoveFiles(Call& call, std::span<const Attachment> list) {
  for (const auto& a : list)
    if (!a.devinfo_file.empty()) call.removals.emplace_back(a.devinfo_file);
  call.removals.push_back(std::filesystem::path(call.config.cni_dir) /
                          call.env.container_id);
  if (call.defer) return;
  std::error_code ec;
  for (const std::filesystem::path& p : call.removals)
    std::filesystem::remove(p, ec);
  call.removals.clear();
}

void MetaPlugin::Rollback(Call& call, std::span<const Attachment> added) {
  for (size_t i = added.size(); i-- > 0;)
    (void)call.runner->Del(added[i].conf, added[i].rt);
  RemoveFiles(call, added);
}

absl::StatusOr<std::string> MetaPlugin::Add(Call& call) {
  const std::string& version =
      call.config.cni_version.empty() ? "1.0.0" : call.config.cni_version;
  if (!call.config.readiness_indicator_file.empty()) {
    const std::string& f = call.config.readiness_indicator_file;
    absl::StatusOr<bool> ready = PollUntil(
        clock_, clock_.Now() + options_.readiness_timeout,
        Backoff{std::chrono::milliseconds(50), std::chrono::seconds(1)},
        [&]() -> absl::StatusOr<bool> {
          std::error_code ec;
          return std::filesystem::exists(f, ec);
        });
    if (!ready.ok() || !*ready)
      return cni::CniError(
          cni::kCniTryAgainLater,
          sk::StrCat("have you checked that your default network is ready? "
                     "still waiting for readinessindicatorfile @ ",
                     f));
  }
  SK_ASSIGN_OR_RETURN(std::optional<Pod> pod, GetPod(call));
  if (!pod && !call.pod_name.empty()) {
    // multus-cni multus.go: a pod gone before its sandbox is set up gets a
    // placeholder result so the runtime can tear the sandbox down.
    cni::Result r;
    cni::ResultInterface iface;
    iface.name = call.env.ifname;
    iface.sandbox = call.env.netns;
    r.interfaces.push_back(iface);
    cni::ResultIp ip;
    ip.address = "0.0.0.0/0";
    ip.gateway = "0.0.0.0";
    r.ips.push_back(ip);
    return cni::ResultToJson(r, version);
  }
  SK_ASSIGN_OR_RETURN(std::vector<Attachment> list,
                      Plan(call, pod ? &*pod : nullptr));
  SK_RETURN_IF_ERROR(MakeDirs(call.config.cni_dir));
  // The saved list (DEL's and CHECK's plan) is written while the first
  // delegate runs: its cost overlaps the plugin's instead of adding to the
  // call. A daemon killed between that plugin's start and the rename leaves
  // no list: DEL then plans from the pod (from the API), and finds nothing
  // to delete once the pod is gone too, as Multus's DEL without its
  // scratch file (docs/multus-role.md, "second session").
  std::optional<absl::Status> list_written;
  auto write_list = [&]() noexcept {
    try {
      const std::filesystem::path path =
          std::filesystem::path(call.config.cni_dir) / call.env.container_id;
      std::string text = EncodeAttachments(list);
      list_written =
          WriteFileAtomic(path, text, 0600, /*sync_dir=*/false,
                          /*sync_file=*/false);  // as Multus's os.WriteFile
      if (list_written->ok()) {
        // As DecodeAttachments gives it back: the gateway plan is not saved.
        auto saved = std::make_shared<std::vector<Attachment>>(list);
        for (Attachment& a : *saved) a.gateway = GatewayPlan{};
        saved_lists_.Put(path.string(), std::move(text), std::move(saved));
      } else {
        saved_lists_.Erase(path.string());
      }
    } catch (const std::exception& e) {    // bad_alloc: no exception may
      list_written = absl::InternalError(  // leave the exec's wait
          sk::StrCat("writing the delegate list ", call.config.cni_dir, "/",
                     call.env.container_id, ": ", e.what()));
    }
  };
  call.runner->RunDuringNextExec(write_list);
  // Not left pending past this frame: the runner outlives it (in the
  // call's deferred work).
  absl::Cleanup drop_write = [&] { call.runner->RunDuringNextExec(nullptr); };

  // Deletes the delegates `added` (in reverse) and names the network the
  // ADD failed on.
  auto failed = [&](std::span<const Attachment> added,
                    const std::string& network, const absl::Status& s,
                    std::string_view what) {
    Rollback(call, added);
    return cni::CniError(cni::CniCodeOf(s),
                         sk::StrCat("[", call.Label(), ":", network,
                                    "]: error adding container to network \"",
                                    network, "\": ", what, ToStd(s.message())),
                         cni::CniDetailsOf(s));
  };
  size_t tried = 0;  // list[0, tried) have been given to runner->Add
  std::vector<nlohmann::ordered_json> statuses;
  nlohmann::json master_result;
  for (const Attachment& a : list) {
    absl::Status failure;
    absl::StatusOr<bool> exists =
        options_.interface_exists(call.env.netns, a.rt.ifname);
    if (!exists.ok()) {
      failure = cni::WithCniCode(exists.status(), cni::kCniInvalidNetns);
    } else if (*exists) {
      failure =
          cni::CniError(cni::kCniInvalidConfig,
                        sk::StrCat("interface ", a.rt.ifname,
                                   " already exists in ", call.env.netns));
    }
    if (failure.ok() && !a.devinfo_file.empty() && !a.resource.empty()) {
      // The device plugin may not write one (NotFound): the delegate may
      // create the file itself, as the spec allows.
      (void)CopyDevinfo(
          DpDevinfoPath(options_.devinfo_root, a.resource,
                        a.rt.capability_args["deviceID"].get<std::string>()),
          a.devinfo_file);
    }
    absl::StatusOr<nlohmann::json> result = nlohmann::json();
    if (failure.ok()) {
      ++tried;
      result = call.runner->Add(a.conf, a.rt);
      // Only this delegate's run may write the list: one that started no
      // plugin (refused before its exec) must not leave it to a rollback's
      // DEL, which would write the list of a failed ADD.
      call.runner->RunDuringNextExec(nullptr);
      if (result.ok()) {
        absl::Status s = ApplyGateway(call, a, *result);
        if (!s.ok()) result = s;
      }
    } else {
      result = failure;
    }
    if (!result.ok())
      return failed(std::span(list).first(tried), a.conf.name, result.status(),
                    "");
    if (list_written && !list_written->ok()) {
      // The delegate ran: it is deleted (with its result as prevResult).
      Rollback(call, std::span(list).first(tried));
      return *list_written;
    }
    std::optional<nlohmann::json> dev;
    if (!a.devinfo_file.empty()) dev = ReadDevinfo(a.devinfo_file);
    for (auto& e :
         NetworkStatusEntries(a.status_name, *result, a.is_default, dev))
      statuses.push_back(std::move(e));
    if (a.is_default) master_result = *std::move(result);
  }
  if (!list_written) {
    // No delegate started a plugin (none in the list): written now.
    write_list();
    if (!list_written->ok()) {
      Rollback(call, list);
      return *list_written;
    }
  }
  // The result cache, with the default-route edits, written once per file
  // and before the answer: an ADD the runtime saw succeed always has its
  // cache (DEL's and CHECK's prevResult, GC's live attachments), and one
  // that cannot be written fails the ADD, as libcni's cacheAdd does.
  std::string network;
  if (absl::Status s = call.runner->WritePendingCaches(&network); !s.ok())
    return failed(list, network, s, "writing the result cache: ");
  if (pod && !Contains(call.config.system_namespaces, pod->ns)) {
    absl::Status s = options_.status_writer->SetNetworkStatus(
        pod->ns, pod->name, NetworkStatusJson(statuses));
    if (!s.ok() && !absl::IsNotFound(s))
      return Transient(s, sk::StrCat("pod ", call.Label(),
                                     ": error setting the networks status"));
  }
  absl::StatusOr<cni::Result> r = cni::ParseResult(master_result);
  if (!r.ok())
    return cni::WithCniCode(
        absl::Status(r.status().code(),
                     sk::StrCat("cluster network result: ",
                                ToStd(r.status().message()))),
        cni::kCniDecodeFailure);
  return cni::ResultToJson(*r, version);
}

absl::StatusOr<std::vector<Attachment>> MetaPlugin::DecodeSavedList(
    const std::filesystem::path& saved, std::string_view text) const {
  if (std::shared_ptr<const std::vector<Attachment>> known =
          saved_lists_.Find(saved.string(), text))
    return *known;  // the bytes this daemon wrote: their list, unparsed
  return DecodeAttachments(text);
}

absl::Status MetaPlugin::Del(Call& call) {
  std::filesystem::path saved =
      std::filesystem::path(call.config.cni_dir) / call.env.container_id;
  std::vector<Attachment> list;
  absl::StatusOr<std::string> text = ReadFileBounded(saved, kMaxSavedListBytes);
  if (text.ok()) {
    absl::StatusOr<std::vector<Attachment>> decoded =
        DecodeSavedList(saved, *text);
    if (decoded.ok()) list = std::move(*decoded);
  }
  saved_lists_.Erase(saved.string());
  if (list.empty()) {
    // Rebuild from the API; any failure to do so must not block the pod's
    // deletion.
    absl::StatusOr<std::optional<Pod>> pod = GetPod(call);
    if (!pod.ok() || !pod->has_value()) {
      RemoveFiles(call, {});
      return absl::OkStatus();
    }
    absl::StatusOr<std::vector<Attachment>> planned = Plan(call, &**pod);
    if (!planned.ok()) {
      RemoveFiles(call, {});
      return absl::OkStatus();
    }
    list = std::move(*planned);
  }
  absl::Status first;
  for (size_t i = list.size(); i-- > 0;) {
    Attachment& a = list[i];
    a.rt.netns = call.env.netns;  // DEL's own (may be empty)
    absl::Status s = call.runner->Del(a.conf, a.rt);
    if (!s.ok() && first.ok())
      first = cni::CniError(
          cni::CniCodeOf(s),
          sk::StrCat("[", call.Label(), ":", a.conf.name,
                     "]: error deleting container from network \"", a.conf.name,
                     "\": ", ToStd(s.message())));
  }
  RemoveFiles(call, list);
  return first;
}

absl::Status MetaPlugin::Check(Call& call) {
  std::filesystem::path saved =
      std::filesystem::path(call.config.cni_dir) / call.env.container_id;
  absl::StatusOr<std::string> text = ReadFileBounded(saved, kMaxSavedListBytes);
  if (!text.ok())
    return cni::CniError(cni::kCniUnknownContainer,
                         sk::StrCat("CHECK: no delegate list for container ",
                                    call.env.container_id, " (", saved, ")"));
  absl::StatusOr<std::vector<Attachment>> list = DecodeSavedList(saved, *text);
  if (!list.ok())
    return cni::CniError(
        cni::kCniIoFailure,
        sk::StrCat("CHECK: the delegate list of container ",
                   call.env.container_id, " (", saved,
                   ") does not decode: ", ToStd(list.status().message())));
  for (Attachment& a : *list) {
    a.rt.netns = call.env.netns;
    absl::Status s = call.runner->Check(a.conf, a.rt);
    if (!s.ok())
      return cni::CniError(cni::CniCodeOf(s),
                           sk::StrCat("[", call.Label(), ":", a.conf.name,
                                      "]: ", ToStd(s.message())));
  }
  return absl::OkStatus();
}

absl::Status MetaPlugin::Gc(Call& call, const nlohmann::json& shim_config) {
  // The attachments the runtime still has (CNI 1.1 GC). Without the key
  // nothing is known to be stale: refuse rather than delete everything.
  auto valid = shim_config.find("cni.dev/valid-attachments");
  if (valid == shim_config.end() || !valid->is_array())
    return cni::CniError(cni::kCniInvalidConfig,
                         "GC: key \"cni.dev/valid-attachments\" is missing or "
                         "not a list");
  std::set<std::string> live;
  {
    // A container whose DEL was answered but whose files are still being
    // removed ("later"): that work removes them, GC leaves them alone (its
    // delegates were just deleted).
    absl::MutexLock lock(&deferred_mu_);
    live.insert(deferred_.begin(), deferred_.end());
  }
  for (const auto& v : *valid) {
    auto cid = v.is_object() ? v.find("containerID") : v.end();
    if (cid == v.end() || !cid->is_string())
      return cni::CniError(
          cni::kCniInvalidConfig,
          sk::StrCat("GC: cni.dev/valid-attachments: entry ", v.dump(),
                     " has no string \"containerID\""));
    live.insert(cid->get<std::string>());
  }

  absl::Status first;
  auto note = [&](const absl::Status& s, const std::string& what) {
    if (!s.ok() && first.ok())
      first = cni::CniError(cni::CniCodeOf(s),
                            sk::StrCat("GC: ", what, ": ", ToStd(s.message())));
  };
  // Delegate networks seen, each with the attachments still valid for it.
  std::map<std::string, std::pair<NetConfig, nlohmann::json>> networks;
  auto see = [&](const NetConfig& net, const RuntimeConf* keep) {
    auto [it, added] =
        networks.try_emplace(net.name, net, nlohmann::json::array());
    if (keep != nullptr)
      it->second.second.push_back(
          {{"containerID", keep->container_id}, {"ifname", keep->ifname}});
  };

  // 1. Saved delegate lists: a stale container's delegates are deleted (as
  //    its DEL would) and its list removed.
  std::error_code ec;
  std::vector<std::filesystem::path> lists;
  for (const auto& e :
       std::filesystem::directory_iterator(call.config.cni_dir, ec))
    if (e.is_regular_file(ec) && !e.is_symlink(ec) &&
        e.path().filename().string()[0] != '.')
      lists.push_back(e.path());
  for (const auto& path : lists) {
    const std::string cid = path.filename().string();
    absl::StatusOr<std::string> text =
        ReadFileBounded(path, kMaxSavedListBytes);
    absl::StatusOr<std::vector<Attachment>> list =
        text.ok() ? DecodeSavedList(path, *text)
                  : absl::StatusOr<std::vector<Attachment>>(text.status());
    if (!list.ok()) continue;  // not ours
    const bool keep = live.count(cid) > 0;
    for (size_t i = list->size(); i-- > 0;) {
      Attachment& a = (*list)[i];
      see(a.conf, keep ? &a.rt : nullptr);
      if (keep) continue;
      // The saved netns, as libcni's GC uses the cached one (plugins treat
      // a netns that is gone as nothing to undo there).
      note(call.runner->Del(a.conf, a.rt),
           sk::StrCat("container ", cid, " network \"", a.conf.name, "\""));
    }
    if (!keep) {
      for (const Attachment& a : *list)
        if (!a.devinfo_file.empty())
          std::filesystem::remove(a.devinfo_file, ec);
      std::filesystem::remove(path, ec);
    }
  }
  // 2. Cached results of no live container (libcni GCNetworkList): DEL
  //    with the cached config, and the entry dropped even if DEL failed so
  //    that GC converges (the plugin GC below still sees the valid list).
  for (DelegateRunner::Cached& c : call.runner->ListCached()) {
    see(c.net, live.count(c.rt.container_id) ? &c.rt : nullptr);
    if (live.count(c.rt.container_id)) continue;
    note(call.runner->Del(c.net, c.rt),
         sk::StrCat("cached ", c.path.filename().string()));
    std::filesystem::remove(c.path, ec);
  }
  // 3. GC on every delegate network (1.1+), with the attachments valid for
  //    it; the cluster network gets one even when nothing is attached.
  if (absl::StatusOr<std::vector<Attachment>> plan = Plan(call, nullptr);
      plan.ok())
    for (const Attachment& a : *plan) see(a.conf, nullptr);
  for (auto& [name, nv] : networks) {
    // Keep valid entries unique (a network may be seen twice).
    nlohmann::json unique = nlohmann::json::array();
    for (const auto& v : nv.second)
      if (std::find(unique.begin(), unique.end(), v) == unique.end())
        unique.push_back(v);
    note(call.runner->Gc(nv.first, unique),
         sk::StrCat("network \"", name, "\""));
  }
  return first;
}

absl::Status MetaPlugin::Status(Call& call) {
  const std::string& f = call.config.readiness_indicator_file;
  std::error_code ec;
  if (!f.empty() && !std::filesystem::exists(f, ec))
    return cni::CniError(
        cni::kCniStatusUnavailable,
        sk::StrCat("readiness indicator file ", f, " does not exist"));
  absl::StatusOr<std::vector<Attachment>> plan = Plan(call, nullptr);
  if (!plan.ok())
    return cni::CniError(cni::kCniStatusUnavailable,
                         ToStd(plan.status().message()));
  for (const Attachment& a : *plan) {
    absl::Status s = call.runner->PluginsExist(a.conf);
    if (!s.ok())
      return cni::CniError(
          cni::kCniStatusUnavailable,
          sk::StrCat("network \"", a.conf.name, "\": ", ToStd(s.message())));
  }
  return absl::OkStatus();
}

}  // namespace sk::netattach
