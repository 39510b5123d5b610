#include "lib/netattach/delegate.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/base/subprocess.h"
#include "lib/base/unique_fd.h"
#include "lib/cni/error.h"
#include "lib/cni/version.h"

extern char** environ;

namespace sk::netattach {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

}  // namespace

bool ValidCacheComponent(std::string_view s) {
  if (s.empty() || s.size() > 1024 || !absl::ascii_isalnum(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

std::string FormatCniArgs(
    const std::vector<std::pair<std::string, std::string>>& args) {
  std::string out;
  for (const auto& [k, v] : args) {
    if (!out.empty()) out += ';';
    out.append(k).append("=").append(v);
  }
  return out;
}

DelegateRunner::DelegateRunner(RunnerOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::string> DelegateRunner::FindPlugin(
    const std::string& type) const {
  if (type.empty() || type.find('/') != std::string::npos || type == "." ||
      type == "..")
    return cni::CniError(cni::kCniInvalidConfig,
                         sk::StrCat("invalid plugin type \"", type, "\""));
  for (const auto& dir : options_.bin_dirs) {
    std::string p = sk::StrCat(dir, "/", type);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return cni::CniError(
      cni::kCniInvalidConfig,
      sk::StrCat("failed to find plugin \"", type, "\" in path [",
                 absl::StrJoin(options_.bin_dirs, " "), "]"));
}

absl::Status DelegateRunner::PluginsExist(const NetConfig& net) const {
  for (const auto& t : net.plugin_types)
    SK_RETURN_IF_ERROR(FindPlugin(t).status());
  return absl::OkStatus();
}

absl::StatusOr<std::string> DelegateRunner::Exec(
    const std::string& type, const std::string& command, const RuntimeConf& rt,
    const std::string& stdin_data) const {
  std::function<void()> during = std::exchange(during_next_exec_, nullptr);
  SK_ASSIGN_OR_RETURN(std::string bin, FindPlugin(type));
  std::vector<std::string> vars;
  size_t n = 0;
  while (environ[n] != nullptr) ++n;
  vars.reserve(n + 6);
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).substr(0, 4) != "CNI_") vars.emplace_back(*e);
  vars.push_back("CNI_COMMAND=" + command);
  vars.push_back("CNI_CONTAINERID=" + rt.container_id);
  vars.push_back("CNI_NETNS=" + rt.netns);
  vars.push_back("CNI_IFNAME=" + rt.ifname);
  vars.push_back("CNI_ARGS=" + FormatCniArgs(rt.args));
  vars.push_back("CNI_PATH=" + absl::StrJoin(options_.bin_dirs, ":"));

  const std::string what =
      sk::StrCat("plugin type=\"", type, "\" (", Lower(command), ")");
  SubprocessOptions o;
  o.argv = {type};
  o.program = bin;
  o.env = std::move(vars);
  o.stdin_data = stdin_data;
  o.timeout = absl::FromChrono(options_.timeout);
  o.max_output = options_.max_output_bytes;
  o.while_running = std::move(during);
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<SubprocessResult> run = RunSubprocess(o);
  exec_time_ += std::chrono::steady_clock::now() - started;
  if (absl::IsDeadlineExceeded(run.status())) {
    return cni::CniError(cni::kCniTryAgainLater,
                         sk::StrCat(what, ": no answer within ",
                                    options_.timeout.count(), " ms; killed"));
  }
  if (absl::IsResourceExhausted(run.status())) {
    return cni::CniError(
        cni::kCniInvalidConfig,
        sk::StrCat(what, ": output exceeds the ", options_.max_output_bytes,
                   "-byte limit; killed"));
  }
  if (!run.ok()) return run.status();
  const int status = run->status;
  const std::string& output = run->output;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  if (std::optional<cni::PluginError> e =
          cni::ParsePluginError(output, options_.max_output_bytes)) {
    // libcni's types.Error.Error(): "msg; details".
    return cni::CniError(e->code,
                         sk::StrCat(what, " failed: ", e->msg,
                                    e->details.empty() ? "" : "; ", e->details),
                         e->details);
  }
  return cni::CniError(
      cni::kCniInternal,
      sk::StrCat(what, " failed (", run->HowItEnded(), ")",
                 output.empty() ? "" : ": ", output.substr(0, 512)));
}

absl::StatusOr<nlohmann::json> DelegateRunner::RunPlugin(
    const NetConfig& net, size_t index, const std::string& command,
    const RuntimeConf& rt, const nlohmann::json* prev) const {
  nlohmann::json conf = net.is_list ? net.json["plugins"][index] : net.json;
  if (net.is_list) {
    conf["name"] = net.name;
    if (!net.cni_version.empty()) conf["cniVersion"] = net.cni_version;
  }
  if (prev != nullptr && !prev->is_null()) conf["prevResult"] = *prev;
  nlohmann::json rc = nlohmann::json::object();
  if (auto caps = conf.find("capabilities");
      caps != conf.end() && caps->is_object()) {
    for (const auto& [k, v] : rt.capability_args.items())
      if (auto c = caps->find(k);
          c != caps->end() && c->is_boolean() && c->get<bool>())
        rc[k] = v;
  }
  if (!rc.empty()) conf["runtimeConfig"] = rc;
  const std::string& type = net.plugin_types[index];
  SK_ASSIGN_OR_RETURN(std::string out, Exec(type, command, rt, conf.dump()));
  if (command != "ADD") return nlohmann::json();
  absl::StatusOr<nlohmann::json> result =
      ParseJsonBounded(out, {.max_bytes = options_.max_output_bytes});
  if (!result.ok() || !result->is_object())
    return cni::CniError(
        cni::kCniDecodeFailure,
        sk::StrCat("plugin type=\"", type,
                   "\" (add): result is not a JSON "
                   "object: ",
                   result.ok() ? std::string(result->type_name())
                               : std::string(result.status().message())));
  return *std::move(result);
}

std::filesystem::path DelegateRunner::CachePath(
    const std::string& network, const std::string& container_id,
    const std::string& ifname) const {
  return options_.cache_dir / "results" /
         sk::StrCat(network, "-", container_id, "-", ifname);
}

absl::StatusOr<std::optional<nlohmann::json>> DelegateRunner::CachedResult(
    const std::string& network, const RuntimeConf& rt) const {
  if (const DeferredWrite* d =
          FindDeferred(CachePath(network, rt.container_id, rt.ifname)))
    return d->result.is_object() ? std::optional<nlohmann::json>(d->result)
                                 : std::nullopt;
  const std::filesystem::path path =
      CachePath(network, rt.container_id, rt.ifname);
  absl::StatusOr<std::string> text =
      ReadFileBounded(path, kMaxDelegateConfBytes * 2);
  if (absl::IsNotFound(text.status())) return std::nullopt;
  if (!text.ok()) return text.status();
  if (options_.result_memo != nullptr)
    if (std::shared_ptr<const nlohmann::json> r =
            options_.result_memo->Find(path.string(), *text))
      return *r;  // the bytes this daemon wrote: their result, unparsed
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(*text);
  if (!j.ok() || !j->is_object())
    return absl::DataLossError(
        sk::StrCat(CachePath(network, rt.container_id, rt.ifname),
                   ": not a result cache"));
  auto it = j->find("result");
  if (it == j->end() || !it->is_object()) return std::nullopt;
  return std::move(*it);
}

absl::Status DelegateRunner::Gc(const NetConfig& net,
                                const nlohmann::json& valid) const {
  if (cni::CompareVersions(net.cni_version, "1.1.0") < 0)
    return absl::OkStatus();
  absl::Status first;
  for (size_t i = 0; i < net.plugin_types.size(); ++i) {
    nlohmann::json conf = net.is_list ? net.json["plugins"][i] : net.json;
    conf["name"] = net.name;
    conf["cniVersion"] = net.cni_version;
    conf["cni.dev/valid-attachments"] = valid;
    absl::Status s =
        Exec(net.plugin_types[i], "GC", RuntimeConf{}, conf.dump()).status();
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

std::vector<DelegateRunner::Cached> DelegateRunner::ListCached(
    size_t max_entries) const {
  std::vector<Cached> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(
           options_.cache_dir / "results", ec)) {
    if (out.size() >= max_entries) break;
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    absl::StatusOr<std::string> text =
        ReadFileBounded(e.path(), kMaxDelegateConfBytes * 2);
    if (!text.ok()) continue;
    absl::StatusOr<nlohmann::json> j = ParseJsonBounded(*text);
    if (!j.ok() || !j->is_object() || j->value("kind", "") != "cniCacheV1")
      continue;
    auto str = [&](const char* k) {
      auto it = j->find(k);
      return it != j->end() && it->is_string() ? it->get<std::string>()
                                               : std::string();
    };
    std::string conf_bytes;
    if (!absl::Base64Unescape(str("config"), &conf_bytes)) continue;
    absl::StatusOr<NetConfig> net =
        ParseNetConfig(conf_bytes, str("networkName"), "cached config");
    if (!net.ok()) continue;
    Cached c{*std::move(net), RuntimeConf{}, e.path()};
    c.rt.container_id = str("containerId");
    c.rt.ifname = str("ifName");
    c.rt.netns = str("netns");
    if (auto it = j->find("cniArgs"); it != j->end() && it->is_array())
      for (const auto& p : *it)
        if (p.is_array() && p.size() == 2 && p[0].is_string() &&
            p[1].is_string())
          c.rt.args.emplace_back(p[0].get<std::string>(),
                                 p[1].get<std::string>());
    if (auto it = j->find("capabilityArgs"); it != j->end() && it->is_object())
      c.rt.capability_args = *it;
    if (!ValidCacheComponent(c.rt.container_id) || c.rt.ifname.empty())
      continue;
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status DelegateRunner::EditCachedResult(
    const std::string& network, const RuntimeConf& rt,
    const std::function<void(nlohmann::json& result)>& edit) {
  std::filesystem::path path = CachePath(network, rt.container_id, rt.ifname);
  if (DeferredWrite* d = FindDeferred(path)) {
    if (!d->result.is_object())
      return absl::DataLossError(sk::StrCat(path, ": not a result cache"));
    edit(d->result);
    return absl::OkStatus();
  }
  SK_ASSIGN_OR_RETURN(std::string text,
                      ReadFileBounded(path, kMaxDelegateConfBytes * 2));
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(text);
  if (!j.ok() || !j->is_object() || !j->contains("result") ||
      !(*j)["result"].is_object())
    return absl::DataLossError(sk::StrCat(path, ": not a result cache"));
  nlohmann::json& result = (*j)["result"];
  edit(result);
  return WriteCacheFile(path, j->dump(), result);
}

absl::StatusOr<nlohmann::json> DelegateRunner::Add(const NetConfig& net,
                                                   const RuntimeConf& rt) {
  if (!ValidCacheComponent(net.name) || !ValidCacheComponent(rt.container_id))
    return cni::CniError(
        cni::kCniInvalidConfig,
        sk::StrCat("network name \"", net.name, "\" or container id \"",
                   rt.container_id, "\" is not a valid cache file name"));
  nlohmann::json prev;
  for (size_t i = 0; i < net.plugin_types.size(); ++i) {
    SK_ASSIGN_OR_RETURN(prev, RunPlugin(net, i, "ADD", rt, &prev));
  }
  std::filesystem::path path = CachePath(net.name, rt.container_id, rt.ifname);
  if (options_.defer_cache_files) {
    if (DeferredWrite* d = FindDeferred(path)) {
      d->result = prev;
    } else {
      deferred_writes_.push_back({path, net.json, net.name, rt, prev});
    }
    return prev;
  }
  SK_RETURN_IF_ERROR(WriteCache({path, net.json, net.name, rt, prev}));
  return prev;
}

std::string DelegateRunner::CacheText(const nlohmann::json& config,
                                      const std::string& network,
                                      const RuntimeConf& rt,
                                      nlohmann::json result) {
  // Members set one by one (see EncodeAttachments); the keys print sorted.
  nlohmann::json cache = nlohmann::json::object();
  cache["kind"] = "cniCacheV1";
  cache["containerId"] = rt.container_id;
  cache["config"] = absl::Base64Escape(config.dump());
  cache["ifName"] = rt.ifname;
  cache["networkName"] = network;
  cache["netns"] = rt.netns;
  nlohmann::json& args = cache["cniArgs"] = nlohmann::json::array();
  for (const auto& [k, v] : rt.args) args.push_back({k, v});
  cache["capabilityArgs"] = rt.capability_args;
  cache["result"] = std::move(result);
  return cache.dump();
}

DelegateRunner::DeferredWrite* DelegateRunner::FindDeferred(
    const std::filesystem::path& path) {
  for (DeferredWrite& d : deferred_writes_)
    if (d.path == path) return &d;
  return nullptr;
}

const DelegateRunner::DeferredWrite* DelegateRunner::FindDeferred(
    const std::filesystem::path& path) const {
  for (const DeferredWrite& d : deferred_writes_)
    if (d.path == path) return &d;
  return nullptr;
}

absl::Status DelegateRunner::WriteCache(const DeferredWrite& d) const {
  SK_RETURN_IF_ERROR(MakeDirs(d.path.parent_path()));
  return WriteCacheFile(d.path, CacheText(d.config, d.network, d.rt, d.result),
                        d.result);
}

absl::Status DelegateRunner::WriteCacheFile(
    const std::filesystem::path& path, std::string text,
    const nlohmann::json& result) const {
  // No fsync, as libcni's cache (os.WriteFile): a host crash ends every pod
  // netns this entry could serve; the rename keeps it whole across a daemon
  // crash.
  absl::Status s = WriteFileAtomic(path, text, 0600, /*sync_dir=*/false,
                                   /*sync_file=*/false);
  if (options_.result_memo != nullptr) {
    if (s.ok() && result.is_object()) {
      options_.result_memo->Put(path.string(), std::move(text),
                                std::make_shared<const nlohmann::json>(result));
    } else {
      options_.result_memo->Erase(path.string());
    }
  }
  return s;
}

absl::Status DelegateRunner::WritePendingCaches(std::string* failed_network) {
  for (const DeferredWrite& d : deferred_writes_) {
    if (absl::Status s = WriteCache(d); !s.ok()) {
      if (failed_network != nullptr) *failed_network = d.network;
      return s;
    }
  }
  deferred_writes_.clear();
  return absl::OkStatus();
}

absl::Status DelegateRunner::WriteDeferred() {
  absl::Status first;
  for (const DeferredWrite& d : deferred_writes_) {
    absl::Status s = WriteCache(d);
    if (!s.ok() && first.ok()) first = s;
  }
  deferred_writes_.clear();
  for (const std::filesystem::path& p : deferred_removals_) {
    std::error_code ec;
    std::filesystem::remove(p, ec);
  }
  deferred_removals_.clear();
  return first;
}

absl::Status DelegateRunner::Del(const NetConfig& net, const RuntimeConf& rt) {
  std::optional<nlohmann::json> cached;
  if (ValidCacheComponent(net.name) && ValidCacheComponent(rt.container_id)) {
    absl::StatusOr<std::optional<nlohmann::json>> c =
        CachedResult(net.name, rt);
    if (c.ok()) cached = *std::move(c);  // a corrupt cache must not block DEL
  }
  const nlohmann::json* prev = nullptr;
  if (cached && cni::CompareVersions(net.cni_version, "0.4.0") >= 0)
    prev = &*cached;
  for (size_t i = net.plugin_types.size(); i-- > 0;) {
    SK_RETURN_IF_ERROR(RunPlugin(net, i, "DEL", rt, prev).status());
  }
  if (ValidCacheComponent(net.name) && ValidCacheComponent(rt.container_id)) {
    std::filesystem::path path =
        CachePath(net.name, rt.container_id, rt.ifname);
    if (options_.result_memo != nullptr)
      options_.result_memo->Erase(path.string());
    if (options_.defer_cache_files) {
      std::erase_if(deferred_writes_,
                    [&](const DeferredWrite& d) { return d.path == path; });
      deferred_removals_.push_back(std::move(path));
    } else {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }
  return absl::OkStatus();
}

absl::Status DelegateRunner::Check(const NetConfig& net,
                                   const RuntimeConf& rt) {
  if (cni::CompareVersions(net.cni_version, "0.4.0") < 0)
    return cni::CniError(
        cni::kCniIncompatibleVersion,
        sk::StrCat("network \"", net.name, "\": configuration version \"",
                   net.cni_version, "\" does not support the CHECK command"));
  if (auto it = net.json.find("disableCheck");
      it != net.json.end() && it->is_boolean() && it->get<bool>())
    return absl::OkStatus();
  if (!ValidCacheComponent(net.name) || !ValidCacheComponent(rt.container_id))
    return cni::CniError(cni::kCniInvalidConfig,
                         sk::StrCat("network name \"", net.name,
                                    "\" is not a valid cache file name"));
  SK_ASSIGN_OR_RETURN(std::optional<nlohmann::json> cached,
                      CachedResult(net.name, rt));
  for (size_t i = 0; i < net.plugin_types.size(); ++i) {
    SK_RETURN_IF_ERROR(
        RunPlugin(net, i, "CHECK", rt, cached ? &*cached : nullptr).status());
  }
  return absl::OkStatus();
}

}  // namespace sk::netattach
