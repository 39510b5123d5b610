#pragma once

// Runs a delegate network (a conf or a conflist) the way libcni does
// (containernetworking/cni libcni/api.go AddNetworkList / DelNetworkList /
// CheckNetworkList, pkg/invoke):
//
//   * ADD runs the plugins in order, each getting the previous plugin's
//     result as `prevResult`; DEL runs them in reverse with the cached ADD
//     result as `prevResult` (cniVersion >= 0.4.0); CHECK in order, also
//     with the cached result.
//   * Each plugin gets on stdin its own object with the list's `cniVersion`
//     and `name`, and `runtimeConfig` holding only the capability args whose
//     key it declares true in `capabilities`.
//   * The binary is `<dir>/<type>` from the first bin dir that has it; the
//     environment is ours minus CNI_*, plus CNI_COMMAND, CNI_CONTAINERID,
//     CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH (the bin dirs).
//   * The ADD result is cached at <cacheDir>/results/<net>-<cid>-<ifname> in
//     libcni's cniCacheV1 format, so DEL and CHECK get the same prevResult
//     (and other libcni users can read it).
//
// Each exec is bounded: stdout beyond `max_output_bytes` or a run longer
// than `timeout` kills the plugin. Thread-safe (no shared mutable state);
// the caller serialises calls for one (container, ifname).

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/netattach/delegate_conf.h"
#include "lib/netattach/parse_memo.h"

namespace sk::netattach {

// The per-attachment runtime inputs (libcni's RuntimeConf).
struct RuntimeConf {
  std::string container_id;
  std::string netns;
  std::string ifname;
  // CNI_ARGS as ordered pairs ("IgnoreUnknown","true"), ...
  std::vector<std::pair<std::string, std::string>> args;
  // Capability name -> value ("mac", "ips", "deviceID", ...).
  nlohmann::json capability_args = nlohmann::json::object();
};

// "K=V;K2=V2".
// containernetworking/cni pkg/utils: container IDs and network names become
// cache file names, so both are held to ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ (and
// at most 1024 bytes).
bool ValidCacheComponent(std::string_view s);

std::string FormatCniArgs(
    const std::vector<std::pair<std::string, std::string>>& args);

struct RunnerOptions {
  std::vector<std::string> bin_dirs;
  std::filesystem::path cache_dir;  // results under <cache_dir>/results
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  size_t max_output_bytes = size_t{1} << 20;
  // The result cache's files are left for later: Add keeps the entry in
  // memory (CachedResult and EditCachedResult see it there) until
  // WritePendingCaches(), which the meta-plugin calls once every delegate
  // is added and its default-route edit made, before it answers (one write
  // per file); Del notes the file to remove, for WriteDeferred() once the
  // runtime has its answer (MetaPlugin, "later").
  bool defer_cache_files = false;
  // Not owned; may be null. Each result cache written is remembered here
  // (its bytes and its result), so reading it back (CachedResult: DEL's and
  // CHECK's prevResult) costs a read and a compare instead of a parse; Del
  // forgets it. Shared by the runners of every call (ParseMemo is
  // thread-safe).
  ParseMemo<nlohmann::json>* result_memo = nullptr;
};

class DelegateRunner {
 public:
  explicit DelegateRunner(RunnerOptions options);

  // Runs the ADD chain and caches the final result, which it returns.
  // A plugin's CNI error keeps its code; the message names the plugin and
  // verb: "plugin type=\"macvlan\" failed (add): <msg>[; <details>]".
  // Code 7 for a plugin not in the bin dirs, 11 for a timeout.
  absl::StatusOr<nlohmann::json> Add(const NetConfig& net,
                                     const RuntimeConf& rt);
  // Runs DEL in reverse (stopping at the first error, as libcni does) and
  // removes the cached result when every plugin succeeded.
  absl::Status Del(const NetConfig& net, const RuntimeConf& rt);
  // Runs CHECK (skipped with `disableCheck`); code 1 below cniVersion 0.4.0.
  absl::Status Check(const NetConfig& net, const RuntimeConf& rt);
  // CNI 1.1 GC (libcni GCNetworkList, the plugin half): for a network of
  // cniVersion >= 1.1.0 runs GC on every plugin with `name`, `cniVersion`
  // and `cni.dev/valid-attachments` = `valid` ([{containerID, ifname}]).
  // Continues past a failing plugin; returns the first error. Older
  // networks: nothing to do.
  absl::Status Gc(const NetConfig& net, const nlohmann::json& valid) const;
  // Every attachment in the result cache (libcni GetCachedAttachments): its
  // network conf (from the cached `config`) and runtime inputs. Unreadable
  // entries are skipped; at most `max_entries`.
  struct Cached {
    NetConfig net;
    RuntimeConf rt;
    std::filesystem::path path;
  };
  std::vector<Cached> ListCached(size_t max_entries = 100000) const;
  // OK when every plugin binary of `net` is in the bin dirs; else code 7
  // naming the missing one.
  absl::Status PluginsExist(const NetConfig& net) const;

  // The wall time spent in plugin processes so far (spawn to reap), summed
  // over every plugin this runner has run. One runner serves one call. A
  // RunDuringNextExec function that outlasts its plugin is in it too (its
  // work then delays the reap); the saved list's write takes ~0.1 ms
  // against a plugin's 10 ms and more.
  std::chrono::nanoseconds exec_time() const { return exec_time_; }

  // `fn` runs while the next plugin this runner starts is running (once it
  // has started, before the wait for it), so that its cost overlaps the
  // plugin's. The next Exec takes it whether or not its plugin starts: when
  // it does not (not found, spawn failed), `fn` is dropped unrun. An empty
  // `fn` drops one still pending. It must not throw.
  void RunDuringNextExec(std::function<void()> fn) {
    during_next_exec_ = std::move(fn);
  }

  // <cache_dir>/results/<network>-<container_id>-<ifname>.
  std::filesystem::path CachePath(const std::string& network,
                                  const std::string& container_id,
                                  const std::string& ifname) const;
  // Rewrites the cached `result` of an attachment with `edit` (as Multus's
  // DeleteDefaultGWCache / AddDefaultGWCache). NotFound when none is cached.
  absl::Status EditCachedResult(
      const std::string& network, const RuntimeConf& rt,
      const std::function<void(nlohmann::json& result)>& edit);
  // The cached `result` of an attachment; nullopt when none is cached.
  absl::StatusOr<std::optional<nlohmann::json>> CachedResult(
      const std::string& network, const RuntimeConf& rt) const;
  // With `defer_cache_files`: writes the entries Add kept, stopping at the
  // first failure, whose network it names in `*failed_network`; the entries
  // stay in memory then (a rollback's Del still finds each prevResult).
  absl::Status WritePendingCaches(std::string* failed_network);
  // With `defer_cache_files`: writes the entries still kept and removes the
  // files Del noted, continuing past a failure; returns the first error.
  // Nothing is left pending after it.
  absl::Status WriteDeferred();
  bool has_deferred() const {
    return !deferred_writes_.empty() || !deferred_removals_.empty();
  }

 private:
  absl::StatusOr<std::string> FindPlugin(const std::string& type) const;
  absl::StatusOr<std::string> Exec(const std::string& type,
                                   const std::string& command,
                                   const RuntimeConf& rt,
                                   const std::string& stdin_data) const;
  absl::StatusOr<nlohmann::json> RunPlugin(const NetConfig& net, size_t index,
                                           const std::string& command,
                                           const RuntimeConf& rt,
                                           const nlohmann::json* prev) const;

  // A result cache entry, its file and what goes in it (kept in memory
  // until written, with defer_cache_files).
  struct DeferredWrite {
    std::filesystem::path path;
    nlohmann::json config;  // the network's conf, as run
    std::string network;
    RuntimeConf rt;
    nlohmann::json result;
  };
  DeferredWrite* FindDeferred(const std::filesystem::path& path);
  const DeferredWrite* FindDeferred(const std::filesystem::path& path) const;
  absl::Status WriteCache(const DeferredWrite& d) const;
  // Writes a result cache file and remembers it (result_memo).
  absl::Status WriteCacheFile(const std::filesystem::path& path,
                              std::string text,
                              const nlohmann::json& result) const;
  static std::string CacheText(const nlohmann::json& config,
                               const std::string& network,
                               const RuntimeConf& rt, nlohmann::json result);

  RunnerOptions options_;
  mutable std::chrono::nanoseconds exec_time_{0};  // see exec_time()
  // See RunDuringNextExec; taken by Exec, which is const for the callers
  // that only read (Check, Gc) and so takes it from a mutable member.
  mutable std::function<void()> during_next_exec_;
  std::vector<DeferredWrite> deferred_writes_;
  std::vector<std::filesystem::path> deferred_removals_;
};

}  // namespace sk::netattach
