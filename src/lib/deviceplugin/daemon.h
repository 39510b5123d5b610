#pragma once
// The device-plugin daemon: config -> discovery -> pools -> one PluginServer
// per pool, kept registered with kubelet until Shutdown().
//
//   Daemon d(opts);
//   std::thread t([&] { (void)d.Run(); });
//   ...
//   d.Shutdown();   // from the signal-handling thread
//   t.join();
//
// Lifecycle rules (upstream k8snetworkplumbingwg/sriov-network-device-plugin
// v3.11.0 cmd/sriovdp/manager.go and pkg/resources/server.go, except where
// noted):
// - Mode: plugin-watcher when plugins_registry_dir exists at start,
//   otherwise legacy Register on kubelet.sock.
// - An unreadable or invalid config (or a sysfs that cannot be listed) keeps
//   the daemon up and not ready; the exact error (file, key, value) is
//   logged with when the next try is, again every 5 minutes while it
//   persists, and loading is retried when the config's directory changes
//   and every `retry_interval`.
// - Config reload (upstream reads the file once): the config's directory is
//   watched with inotify, so an in-place write, a rename over the file and
//   the Kubernetes ConfigMap update (a new `..data` symlink renamed over the
//   old one; config.json -> ..data/config.json) are all seen. Changes are
//   debounced by `config_debounce`; an unchanged text is ignored. A new text
//   that cannot be read or parsed, or that has any bad resource entry
//   (pool_errors), is refused as a whole: the old pools keep serving, the
//   error (file, key, value) is logged and kept in DaemonState::config_error
//   and ready() is false until a good config is written. A good one is
//   applied: pools of new resource names are started, pools whose name is
//   gone are stopped (socket, device-info files and CDI spec removed, their
//   ListAndWatch streams end), pools whose name stays are updated in place
//   (ListAndWatch re-sends; no re-registration).
// - Rediscovery: discovery re-runs once kernel events from `events` (see
//   events.h) settle: `event_quiet` after the last event of a burst, and at
//   most `event_max_delay` after its first (a steady stream of events still
//   rediscovers); and every `rescan_interval` on `clock` (the periodic full
//   rescan, a safety net for a lost event; upstream has none). Pools keep their
//   names and sockets; their device lists are updated through ListAndWatch when
//   they differ. An empty pool is served with zero devices.
// - Health and device IDs: a device ID is its PCI address and always names
//   the same function. A device that was advertised and is not selected by
//   any pool any more is kept in its pool as Unhealthy
//   (k8s.io "Unhealthy" makes kubelet drop it from allocatable without
//   forgetting allocations) while its PCI function exists (its driver
//   changed away from the pool's selector, its PF netdev was renamed...),
//   and Healthy again once it matches. A device whose PCI function is gone
//   is Unhealthy after the event and is dropped from the pool at the next
//   periodic rescan that still does not find it. A device now selected by
//   another pool leaves its old pool at once. A config reload does not keep
//   such devices: the new config says what the pools are.
//   Not implemented yet: PF carrier (opt-in) health.
// - A resource entry that fails to parse is dropped (logged). A pool whose
//   server cannot start (directory missing or not writable) or register is
//   logged, with the next try, and retried on its own; one whose name or
//   socket path can never work (InvalidArgument, e.g. a path over the
//   107-byte unix socket limit) is reported and not retried. The others
//   serve either way. PoolState::last_error has the reason.
// - The socket directory may vanish or be replaced while running: its
//   inotify watch is re-added once it is back, and the pools re-create
//   their sockets there.
// - Kubelet restart: inotify on the socket directory. When a pool's socket
//   disappears, its server is re-created and re-registered at once (legacy
//   mode also re-registers when kubelet.sock is re-created; registration is
//   retried every retry_interval/5 until kubelet answers).
//   Watcher mode: a refused registration re-creates the socket too.
// - Shutdown: sockets, device-info files and CDI specs are removed. At start,
//   stale "sriov-dp-*" CDI specs in cdi_dir are removed (CDI mode).
//
// Thread safety: Run() on one thread; Shutdown() and GetState() from any.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "lib/base/clock.h"
#include "lib/base/unique_fd.h"
#include "lib/deviceplugin/device_types.h"
#include "lib/deviceplugin/events.h"
#include "lib/deviceplugin/metrics.h"
#include "lib/deviceplugin/server.h"
#include "lib/sysfs/host.h"

namespace sk::deviceplugin {

struct DaemonOptions {
  std::string config_file = "/etc/pcidp/config.json";
  std::string resource_prefix = "intel.com";
  std::filesystem::path sysfs_root = "/";
  bool exclude_default_route = true;
  ServerOptions server;  // dirs, CDI, devinfo; `mode` is decided by Run()
  absl::Duration retry_interval = absl::Seconds(1);
  // Discovery; default HostSnapshot::Discover. Tests may inject a fixed list.
  std::function<absl::StatusOr<std::vector<sysfs::PciDevice>>(
      const sysfs::Sysfs&)>
      discover;
  // Reload the config this long after its directory last changed.
  absl::Duration config_debounce = absl::Milliseconds(200);
  // Re-discover once no kernel event came for `event_quiet`, or
  // `event_max_delay` after the first event of a burst, whichever is first.
  absl::Duration event_quiet = absl::Milliseconds(3);
  absl::Duration event_max_delay = absl::Milliseconds(25);
  // Periodic full rescan; zero or negative disables it. One rescan of 2,048
  // VFs costs 0.1-0.3 s of CPU (docs/performance.md): 0.02-0.05 % of a
  // core at 600 s.
  absl::Duration rescan_interval = absl::Seconds(600);
  // Time for the periodic rescan; null: RealClock(). The daemon sleeps until
  // its next deadline (no periodic tick); with an injected clock, whose time
  // can jump without waking it, it also looks every 50 ms.
  Clock* clock = nullptr;
  // Kernel events; null: rescans only.
  std::shared_ptr<EventSource> events;
  // When set, no config is loaded and no pool is served or registered until
  // this file exists (sriovkit-node writes it once it applied its policies;
  // its content is not read). Checked every tick (50 ms); "waiting for
  // <file>" is logged once, and again every 5 minutes while it lasts. Once
  // seen, later removal of the file changes nothing.
  std::string wait_node_configured;
  // Sources of DDP profile names (ddpProfiles selectors) and of devlink's
  // enable_rdma (isRdma where sysfs shows no RDMA device); null: none
  // (device_types.h, devlink.h, ddp_source.h).
  std::shared_ptr<const DdpProfileSource> ddp;
  std::shared_ptr<const RdmaParamSource> rdma_param;
  // Allocate and rediscovery figures for the ops endpoint; may be null.
  std::shared_ptr<Metrics> metrics;
};

struct PoolState {
  std::string resource_name;
  size_t devices = 0;
  size_t healthy = 0;
  std::map<std::string, size_t> excluded;  // Pool::excluded
  bool serving = false;
  bool registered = false;
  std::string socket;
  std::string last_error;
};

struct DaemonState {
  bool config_loaded = false;
  std::string config_error;  // the last load error, empty once loaded
  RegistrationMode mode = RegistrationMode::kLegacy;
  std::vector<PoolState> pools;
  int restarts = 0;         // servers re-created after their socket vanished
  int reloads = 0;          // new configs applied after the first load
  int reload_failures = 0;  // new configs refused (the old pools serve)
  int rediscoveries = 0;    // discovery runs after the first load
  // Non-empty while the pools wait for the node-configured file
  // (DaemonOptions::wait_node_configured): "waiting for <file>".
  std::string node_wait;
  // Ready: not waiting for the node, config loaded, the config on disk is
  // the one served (no config_error) and every pool registered.
  bool ready() const;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions opts);
  ~Daemon();

  // Runs until Shutdown(). Returns Internal only when the daemon cannot
  // create its own inotify/wakeup descriptors; everything else is retried.
  absl::Status Run();
  // Asks Run() to clean up and return. Safe from any thread.
  void Shutdown();
  DaemonState GetState() const ABSL_LOCKS_EXCLUDED(state_mu_);

 private:
  // Decides whether an error is worth logging: when it changes, and again
  // every few minutes while it persists.
  class LogLimiter {
   public:
    bool ShouldLog(const std::string& msg, absl::Time now);

   private:
    std::string last_;
    absl::Time last_time_ = absl::InfinitePast();
  };

  struct Slot {
    Pool pool;
    std::unique_ptr<PluginServer> server;
    absl::Time next_attempt = absl::InfinitePast();
    std::string last_error;
    LogLimiter error_log;
  };

  enum class Rebuild { kReload, kEvent, kRescan };
  void TryLoad();
  // Re-reads the config; applies it when it changed and is valid.
  void Reload();
  // Discovery plus pools for `resources`; the discovery error otherwise.
  absl::StatusOr<std::vector<Pool>> BuildPools(
      const std::vector<ResourceConfig>& resources);
  // Replaces the pools by `pools` (see the rules above).
  void ApplyPools(std::vector<Pool> pools, Rebuild why);
  void Rediscover(Rebuild why);
  // Makes Run()'s poll() return (the eventfd). Any thread.
  void Wake();
  // poll() timeout until the next deadline (-1: none; see Run()).
  int PollTimeoutMs() const;
  void Tick();
  // True once wait_node_configured exists (or when it is not set).
  bool NodeConfigured();
  // As NodeConfigured(), without looking at the file.
  bool NodeConfiguredSeen() const {
    return node_configured_ || opts_.wait_node_configured.empty();
  }
  void StartSlot(Slot& s);
  void HandleInotify();
  // (Re-)adds the inotify watch on socket_dir_; false when it cannot.
  bool WatchSocketDir();
  // (Re-)adds the watch on ConfigDir(); false while it cannot be watched.
  bool WatchConfigDir();
  void Publish() ABSL_LOCKS_EXCLUDED(state_mu_);
  void StopAll();
  std::filesystem::path ConfigDir() const;

  DaemonOptions opts_;
  sysfs::Sysfs fs_;
  RegistrationMode mode_ = RegistrationMode::kLegacy;
  std::vector<Slot> slots_;
  bool loaded_ = false;
  std::string last_config_error_;
  LogLimiter config_log_;
  LogLimiter node_log_;
  bool node_configured_ = false;
  std::string node_wait_;  // DaemonState::node_wait
  absl::Time next_load_ = absl::InfinitePast();
  int restarts_ = 0;
  int reloads_ = 0;
  int reload_failures_ = 0;
  int rediscoveries_ = 0;
  std::string loaded_text_;  // the config text the pools come from
  std::vector<ResourceConfig> resources_;
  absl::Time reload_at_ = absl::InfiniteFuture();      // debounced reload
  absl::Time rediscover_at_ = absl::InfiniteFuture();  // events settled
  absl::Time burst_start_ = absl::InfiniteFuture();    // first unsettled one
  Clock::TimePoint next_rescan_{};
  Clock* clock_ = nullptr;

  UniqueFd inotify_;
  UniqueFd wake_;                     // eventfd
  std::filesystem::path socket_dir_;  // where the pools' sockets live
  int socket_dir_wd_ = -1;            // -1 while socket_dir_ is not watched
  int config_dir_wd_ = -1;            // -1 while ConfigDir() is not watched
  std::atomic<bool> shutdown_{false};

  mutable absl::Mutex state_mu_;
  DaemonState state_ ABSL_GUARDED_BY(state_mu_);
};

}  // namespace sk::deviceplugin
