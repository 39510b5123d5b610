#include "lib/deviceplugin/daemon.h"

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "spdlog/spdlog.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/config.h"
#include "lib/deviceplugin/inventory.h"

namespace sk::deviceplugin {
namespace {

// As LoadConfigFile (config.h).
constexpr size_t kMaxConfigFileBytes = size_t{4} << 20;

absl::StatusOr<std::vector<sysfs::PciDevice>> DiscoverHost(
    const sysfs::Sysfs& fs) {
  sysfs::DiscoverOptions o;
  o.resolve_names = false;  // names are not used; skip parsing pci.ids
  o.details = false;        // selectors need netdev names and link types only
  auto host = sysfs::HostSnapshot::Discover(fs, o);
  if (!host.ok()) return host.status();
  return host->devices();
}

void RemoveStaleCdiSpecs(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("sriov-dp-", 0) == 0) {
      std::error_code rm;
      std::filesystem::remove(e.path(), rm);
      spdlog::info("removed stale CDI spec {}", e.path().string());
    }
  }
}

}  // namespace

bool Daemon::LogLimiter::ShouldLog(const std::string& msg, absl::Time now) {
  // The same error again is logged only every kRepeatEvery, so a long
  // outage stays visible without flooding the log.
  constexpr absl::Duration kRepeatEvery = absl::Minutes(5);
  if (msg == last_ && now < last_time_ + kRepeatEvery) return false;
  last_ = msg;
  last_time_ = now;
  return true;
}

bool DaemonState::ready() const {
  if (!node_wait.empty()) return false;
  if (!config_loaded || !config_error.empty()) return false;
  for (const auto& p : pools) {
    if (!p.registered) return false;
  }
  return true;
}

Daemon::Daemon(DaemonOptions opts)
    : opts_(std::move(opts)), fs_(opts_.sysfs_root) {
  if (!opts_.discover) opts_.discover = DiscoverHost;
  if (!opts_.server.service.metrics) {
    opts_.server.service.metrics = opts_.metrics;
  }
  clock_ = opts_.clock != nullptr ? opts_.clock : &RealClock();
}

Daemon::~Daemon() { StopAll(); }

void Daemon::Shutdown() {
  shutdown_.store(true);
  Wake();
}

void Daemon::Wake() {
  if (wake_) {
    uint64_t one = 1;
    ssize_t n = ::write(wake_.get(), &one, sizeof(one));
    (void)n;
  }
}

DaemonState Daemon::GetState() const {
  absl::MutexLock lock(&state_mu_);
  return state_;
}

void Daemon::Publish() {
  DaemonState st;
  st.config_loaded = loaded_;
  st.config_error = last_config_error_;
  st.mode = mode_;
  st.restarts = restarts_;
  st.reloads = reloads_;
  st.reload_failures = reload_failures_;
  st.rediscoveries = rediscoveries_;
  st.node_wait = node_wait_;
  for (const Slot& s : slots_) {
    PoolState p;
    p.resource_name = s.pool.config.FullName();
    p.devices = s.pool.devices.size();
    for (const PoolDevice& d : s.pool.devices) p.healthy += d.healthy ? 1 : 0;
    p.excluded = s.pool.excluded;
    p.serving = s.server != nullptr;
    p.registered = s.server != nullptr && s.server->registered();
    if (s.server) p.socket = s.server->socket_path().string();
    p.last_error = s.last_error;
    st.pools.push_back(std::move(p));
  }
  absl::MutexLock lock(&state_mu_);
  state_ = std::move(st);
}

void Daemon::TryLoad() {
  auto fail = [&](const absl::Status& s) {
    std::string msg(s.message());
    if (config_log_.ShouldLog(msg, absl::Now())) {
      spdlog::error("not ready: {}; retrying in {} (sooner if {} changes)", msg,
                    absl::FormatDuration(opts_.retry_interval),
                    ConfigDir().string());
    }
    last_config_error_ = msg;
  };
  auto text = ReadFileBounded(opts_.config_file, kMaxConfigFileBytes);
  if (!text.ok()) return fail(text.status());
  auto cfg = ParseConfig(*text, opts_.config_file, opts_.resource_prefix);
  if (!cfg.ok()) return fail(cfg.status());
  for (const auto& w : cfg->warnings) spdlog::warn("{}", w);
  for (const auto& e : cfg->pool_errors) {
    spdlog::error("resource dropped: {}", std::string(e.message()));
  }
  if (cfg->resources.empty()) {
    spdlog::warn("{}: no resources configured; idle", opts_.config_file);
  }
  auto pools = BuildPools(cfg->resources);
  if (!pools.ok()) return fail(pools.status());
  if (!last_config_error_.empty()) {
    spdlog::info("{}: loaded; recovering", opts_.config_file);
  }
  last_config_error_.clear();
  loaded_ = true;
  loaded_text_ = *std::move(text);
  resources_ = std::move(cfg->resources);
  ApplyPools(*std::move(pools), Rebuild::kReload);
}

absl::StatusOr<std::vector<Pool>> Daemon::BuildPools(
    const std::vector<ResourceConfig>& resources) {
  absl::Time t0 = absl::Now();
  auto devices = opts_.discover(fs_);
  if (!devices.ok()) return Annotate(devices.status(), "discovery");
  DiscoveryOptions dopts;
  dopts.exclude_default_route = opts_.exclude_default_route;
  dopts.ddp = opts_.ddp.get();
  dopts.rdma_param = opts_.rdma_param.get();
  absl::Time t1 = absl::Now();
  Inventory inv = BuildInventory(resources, *devices, fs_, dopts);
  // Rediscoveries (every rescan) log at debug level; the first load at info.
  const auto level = loaded_ ? spdlog::level::debug : spdlog::level::info;
  spdlog::log(level, "discovered {} PCI devices in {} ms, pools built in {} ms",
              devices->size(), absl::ToInt64Milliseconds(t1 - t0),
              absl::ToInt64Milliseconds(absl::Now() - t1));
  for (const auto& line : inv.log) spdlog::log(level, "{}", line);
  return std::move(inv.pools);
}

namespace {

bool SameDevices(const Pool& a, const Pool& b) {
  if (a.devices.size() != b.devices.size()) return false;
  for (size_t i = 0; i < a.devices.size(); ++i) {
    const PoolDevice& x = a.devices[i];
    const PoolDevice& y = b.devices[i];
    if (x.id != y.id || x.healthy != y.healthy || x.numa_node != y.numa_node ||
        x.rdma_devices != y.rdma_devices) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Daemon::ApplyPools(std::vector<Pool> pools, Rebuild why) {
  std::set<std::string> claimed;
  for (const Pool& p : pools) {
    for (const PoolDevice& d : p.devices) claimed.insert(d.id);
  }
  std::vector<Slot> next;
  std::vector<size_t> fresh;  // indexes into `next` to start
  // Lists for ListAndWatch, sent once the state (GetState: /metrics,
  // /readyz) has them, so no observer sees a list the state does not.
  std::vector<std::pair<PluginServer*, Pool>> updates;
  for (Pool& p : pools) {
    std::string name = p.config.FullName();
    auto old = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) {
      return s.pool.config.FullName() == name;
    });
    if (old == slots_.end()) {
      spdlog::info("{}: {} devices", name, p.devices.size());
      fresh.push_back(next.size());
      next.push_back(Slot{std::move(p), nullptr, absl::InfinitePast(), "", {}});
      continue;
    }
    if (why != Rebuild::kReload) {
      // Devices that left without joining another pool: see daemon.h.
      for (const PoolDevice& d : old->pool.devices) {
        if (p.Find(d.id) != nullptr || claimed.count(d.id) > 0) continue;
        std::error_code ec;
        bool exists = std::filesystem::exists(
            opts_.sysfs_root / "sys/bus/pci/devices" / d.id, ec);
        if (!exists && why == Rebuild::kRescan) {
          spdlog::info("{}: {} removed (its PCI function is gone)", name, d.id);
          continue;
        }
        if (d.healthy) {
          spdlog::warn("{}: {} unhealthy ({})", name, d.id,
                       exists ? "no longer matches the pool's selectors"
                              : "its PCI function is gone");
        }
        PoolDevice keep = d;
        keep.healthy = false;
        p.devices.push_back(std::move(keep));
      }
      std::sort(
          p.devices.begin(), p.devices.end(),
          [](const PoolDevice& a, const PoolDevice& b) { return a.id < b.id; });
    }
    old->pool.excluded = p.excluded;
    bool changed = why == Rebuild::kReload || !SameDevices(old->pool, p);
    if (changed) {
      size_t healthy = 0;
      for (const PoolDevice& d : p.devices) healthy += d.healthy ? 1 : 0;
      spdlog::info("{}: {} devices ({} healthy)", name, p.devices.size(),
                   healthy);
      old->pool = p;
      if (old->server) updates.emplace_back(old->server.get(), std::move(p));
    }
    next.push_back(std::move(*old));
    slots_.erase(old);
  }
  for (Slot& gone : slots_) {
    spdlog::info("{}: removed from the config; stopping",
                 gone.pool.config.FullName());
    if (gone.server) gone.server->Stop(/*cleanup=*/true);
  }
  slots_ = std::move(next);
  for (size_t i : fresh) StartSlot(slots_[i]);
  Publish();
  for (auto& [server, pool] : updates)
    server->service().UpdatePool(std::move(pool));
  // Discovery's temporaries (one snapshot of every PCI device) are freed by
  // now; hand the pages back so the long-running daemon stays small.
  malloc_trim(0);
}

void Daemon::Reload() {
  reload_at_ = absl::InfiniteFuture();
  auto refuse = [&](const absl::Status& s) {
    std::string msg(s.message());
    if (msg != last_config_error_) {
      ++reload_failures_;
      spdlog::error("config reload refused: {}; {} pools keep serving", msg,
                    slots_.size());
    }
    last_config_error_ = msg;
  };
  auto text = ReadFileBounded(opts_.config_file, kMaxConfigFileBytes);
  if (!text.ok()) return refuse(text.status());
  if (*text == loaded_text_) {
    if (!last_config_error_.empty()) {
      spdlog::info("{}: back to the config in force", opts_.config_file);
    }
    last_config_error_.clear();
    return;
  }
  auto cfg = ParseConfig(*text, opts_.config_file, opts_.resource_prefix);
  if (!cfg.ok()) return refuse(cfg.status());
  if (!cfg->pool_errors.empty()) return refuse(cfg->pool_errors.front());
  auto pools = BuildPools(cfg->resources);
  if (!pools.ok()) return refuse(pools.status());
  for (const auto& w : cfg->warnings) spdlog::warn("{}", w);
  spdlog::info("{}: config changed; applying", opts_.config_file);
  ++reloads_;
  last_config_error_.clear();
  loaded_text_ = *std::move(text);
  resources_ = std::move(cfg->resources);
  ApplyPools(*std::move(pools), Rebuild::kReload);
}

void Daemon::Rediscover(Rebuild why) {
  rediscover_at_ = absl::InfiniteFuture();
  burst_start_ = absl::InfiniteFuture();
  ++rediscoveries_;
  absl::Time t0 = absl::Now();
  auto pools = BuildPools(resources_);
  if (opts_.metrics) opts_.metrics->RecordRediscovery(absl::Now() - t0);
  if (!pools.ok()) {
    spdlog::error("rediscovery: {}; pools unchanged",
                  std::string(pools.status().message()));
    return;
  }
  ApplyPools(*std::move(pools), why);
}

int Daemon::PollTimeoutMs() const {
  // States the daemon cannot be woken out of look every kTickMs: waiting
  // for the node-configured file, a directory that cannot be watched yet,
  // and an injected clock (its time jumps without a wakeup).
  constexpr int kTickMs = 50;
  bool tick = !NodeConfiguredSeen() || socket_dir_wd_ < 0 ||
              config_dir_wd_ < 0 || opts_.clock != nullptr;
  absl::Time now = absl::Now();
  absl::Time next = std::min(reload_at_, rediscover_at_);
  if (!loaded_) next = std::min(next, next_load_);
  if (loaded_ && opts_.rescan_interval > absl::ZeroDuration()) {
    next = std::min(next, now + absl::FromChrono(next_rescan_ - clock_->Now()));
  }
  for (const Slot& s : slots_) {
    // A slot waits for its next attempt while it has no server, or (legacy
    // mode) is not registered; a rejected one is handled at once (Tick sets
    // its next attempt).
    if (s.server && s.server->rejected()) {
      next = std::min(
          next, s.next_attempt == absl::InfinitePast() ? now : s.next_attempt);
    } else if (!s.server || (mode_ == RegistrationMode::kLegacy &&
                             !s.server->registered())) {
      next = std::min(next, s.next_attempt);
    }
  }
  if (next == absl::InfiniteFuture()) return tick ? kTickMs : -1;
  int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(next - now, absl::Milliseconds(1)));
  int64_t cap = tick ? kTickMs : std::numeric_limits<int>::max();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, cap));
}

std::filesystem::path Daemon::ConfigDir() const {
  std::filesystem::path dir =
      std::filesystem::path(opts_.config_file).parent_path();
  return dir.empty() ? "." : dir;
}

void Daemon::StartSlot(Slot& s) {
  if (s.server) {
    s.server->Stop(false);
    s.server.reset();
  }
  ServerOptions so = opts_.server;
  so.mode = mode_;
  so.on_registration_status = [this] { Wake(); };
  auto srv = PluginServer::Start(s.pool, fs_, so);
  if (!srv.ok()) {
    absl::Time now = absl::Now();
    std::string msg(srv.status().message());
    // InvalidArgument (a bad name, a socket path over the limit) stays so
    // until a restart with other flags or config; anything else (a missing
    // or read-only directory) may heal.
    bool permanent = srv.status().code() == absl::StatusCode::kInvalidArgument;
    if (s.error_log.ShouldLog(msg, now)) {
      if (permanent) {
        spdlog::error("{}; pool not served (fix it and restart the plugin)",
                      msg);
      } else {
        spdlog::error("{}; retrying in {}", msg,
                      absl::FormatDuration(opts_.retry_interval));
      }
    }
    s.last_error = msg;
    s.next_attempt =
        permanent ? absl::InfiniteFuture() : now + opts_.retry_interval;
    return;
  }
  s.server = *std::move(srv);
  s.last_error.clear();
  s.next_attempt = absl::InfinitePast();
}

void Daemon::HandleInotify() {
  alignas(struct inotify_event) char buf[4096];
  while (true) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      std::string name = ev->len > 0 ? std::string(ev->name) : "";
      if (ev->wd == socket_dir_wd_ &&
          (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))) {
        // The directory was removed or moved away (a watch follows the
        // inode, not the path): watch the path again once it is back (Tick).
        ::inotify_rm_watch(inotify_.get(), socket_dir_wd_);
        socket_dir_wd_ = -1;
      }
      if (ev->wd == config_dir_wd_ &&
          (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))) {
        // The config directory itself went away (a watch follows the
        // inode): watch the path again once it is back (Tick).
        ::inotify_rm_watch(inotify_.get(), config_dir_wd_);
        config_dir_wd_ = -1;
      } else if (ev->wd == config_dir_wd_) {
        if (!loaded_) {
          next_load_ = absl::InfinitePast();
        } else {
          reload_at_ = absl::Now() + opts_.config_debounce;
        }
      }
      if (ev->wd == socket_dir_wd_ && mode_ == RegistrationMode::kLegacy &&
          name == "kubelet.sock" && (ev->mask & IN_CREATE)) {
        // Kubelet (re)started: every pool registers again, on the socket it
        // already serves (a restart would cancel in-flight calls). A pool
        // that already registered on this kubelet.sock (the event was read
        // late) is left alone.
        for (Slot& s : slots_) {
          if (!s.server || !s.server->registered()) continue;
          if (!s.server->SocketExists()) continue;  // handled in Tick
          if (s.server->RegisteredWithCurrentKubelet()) continue;
          spdlog::info("{}: kubelet.sock created; re-registering",
                       s.pool.config.FullName());
          s.server->MarkUnregistered();
          s.next_attempt = absl::InfinitePast();
        }
      }
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
}

bool Daemon::WatchConfigDir() {
  config_dir_wd_ =
      ::inotify_add_watch(inotify_.get(), ConfigDir().c_str(),
                          IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
                              IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
  return config_dir_wd_ >= 0;
}

bool Daemon::WatchSocketDir() {
  socket_dir_wd_ =
      ::inotify_add_watch(inotify_.get(), socket_dir_.c_str(),
                          IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
  return socket_dir_wd_ >= 0;
}

bool Daemon::NodeConfigured() {
  if (node_configured_ || opts_.wait_node_configured.empty()) return true;
  std::error_code ec;
  if (std::filesystem::exists(opts_.wait_node_configured, ec)) {
    spdlog::info("{} exists: node configured; starting the pools",
                 opts_.wait_node_configured);
    node_configured_ = true;
    node_wait_.clear();
    return true;
  }
  node_wait_ = "waiting for " + opts_.wait_node_configured;
  if (node_log_.ShouldLog(node_wait_, absl::Now())) {
    spdlog::info(
        "{} (written by the node daemon once the node is "
        "configured); no pool is registered until then",
        node_wait_);
  }
  return false;
}

void Daemon::Tick() {
  absl::Time now = absl::Now();
  if (!NodeConfigured()) return;
  if (socket_dir_wd_ < 0 && WatchSocketDir()) {
    spdlog::info("watching {} again", socket_dir_.string());
    // kubelet.sock may have been re-created while nobody watched.
    for (Slot& s : slots_) {
      if (mode_ != RegistrationMode::kLegacy || !s.server ||
          !s.server->registered() || s.server->RegisteredWithCurrentKubelet()) {
        continue;
      }
      s.server->MarkUnregistered();
      s.next_attempt = absl::InfinitePast();
    }
  }
  if (config_dir_wd_ < 0 && WatchConfigDir()) {
    spdlog::info("watching {} again", ConfigDir().string());
    // The file may have changed while nobody watched.
    if (loaded_) reload_at_ = std::min(reload_at_, now);
  }
  if (!loaded_) {
    if (now >= next_load_) {
      TryLoad();
      next_load_ = now + opts_.retry_interval;
      next_rescan_ =
          clock_->Now() + absl::ToChronoNanoseconds(opts_.rescan_interval);
    }
    return;
  }
  if (now >= reload_at_) Reload();
  if (opts_.rescan_interval > absl::ZeroDuration() &&
      clock_->Now() >= next_rescan_) {
    next_rescan_ =
        clock_->Now() + absl::ToChronoNanoseconds(opts_.rescan_interval);
    Rediscover(Rebuild::kRescan);
  } else if (now >= rediscover_at_) {
    Rediscover(Rebuild::kEvent);
  }
  for (Slot& s : slots_) {
    if (s.server && !s.server->SocketExists()) {
      spdlog::warn("{}: socket {} removed; restarting",
                   s.pool.config.FullName(), s.server->socket_path().string());
      ++restarts_;
      StartSlot(s);
    } else if (s.server && s.server->rejected()) {
      // Give kubelet a moment before offering the socket again.
      if (s.next_attempt == absl::InfinitePast()) {
        s.next_attempt = now + opts_.retry_interval;
      } else if (now >= s.next_attempt) {
        spdlog::warn("{}: re-creating socket after refused registration",
                     s.pool.config.FullName());
        ++restarts_;
        StartSlot(s);
      }
    } else if (!s.server && now >= s.next_attempt) {
      StartSlot(s);
    }
    if (s.server && mode_ == RegistrationMode::kLegacy &&
        !s.server->registered() && now >= s.next_attempt) {
      absl::Status st = s.server->Register(absl::Milliseconds(500));
      if (!st.ok()) {
        std::string msg(st.message());
        absl::Duration retry = opts_.retry_interval / 5;
        if (s.error_log.ShouldLog(msg, absl::Now())) {
          spdlog::warn("{}; retrying in {}", msg, absl::FormatDuration(retry));
        }
        s.last_error = msg;
        s.next_attempt = now + retry;
      } else {
        s.last_error.clear();
      }
    }
  }
}

absl::Status Daemon::Run() {
  inotify_.Reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) return ErrnoStatus(errno, "inotify_init1");
  wake_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) return ErrnoStatus(errno, "eventfd");

  std::error_code ec;
  mode_ = std::filesystem::is_directory(opts_.server.plugins_registry_dir, ec)
              ? RegistrationMode::kWatcher
              : RegistrationMode::kLegacy;
  socket_dir_ = mode_ == RegistrationMode::kWatcher
                    ? opts_.server.plugins_registry_dir
                    : opts_.server.device_plugin_dir;
  spdlog::info("registration mode: {} ({})",
               mode_ == RegistrationMode::kWatcher ? "plugin watcher"
                                                   : "legacy Register",
               socket_dir_.string());
  if (auto s = MakeDirs(socket_dir_); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
  }
  if (!WatchSocketDir()) {
    spdlog::warn(
        "{}; polling until it can be watched",
        std::string(
            ErrnoStatus(errno, "inotify on ", socket_dir_.string()).message()));
  }
  if (!WatchConfigDir()) {
    spdlog::warn(
        "{}; watching it once it exists",
        std::string(
            ErrnoStatus(errno, "inotify on ", ConfigDir().string()).message()));
  }
  if (opts_.server.service.use_cdi) {
    RemoveStaleCdiSpecs(opts_.server.service.cdi_dir);
  }

  // No periodic tick: poll() sleeps until the next deadline (PollTimeoutMs)
  // or until inotify, a kernel event, a registration status from kubelet or
  // Shutdown() wakes it.
  while (!shutdown_.load()) {
    Tick();
    Publish();
    int event_fd = opts_.events ? opts_.events->fd() : -1;
    struct pollfd fds[3] = {{inotify_.get(), POLLIN, 0},
                            {wake_.get(), POLLIN, 0},
                            {event_fd, POLLIN, 0}};
    int n = ::poll(fds, 3, PollTimeoutMs());
    if (n > 0 && (fds[0].revents & POLLIN)) HandleInotify();
    if (n > 0 && (fds[1].revents & POLLIN)) {
      uint64_t count;
      ssize_t r = ::read(wake_.get(), &count, sizeof(count));
      (void)r;
    }
    if (n > 0 && (fds[2].revents & POLLIN)) {
      std::vector<DeviceEvent> evs = opts_.events->Drain();
      if (!evs.empty() && loaded_) {
        // Settle on quiet: each event moves the rediscovery to event_quiet
        // after it, but never past event_max_delay after the burst began.
        absl::Time now = absl::Now();
        if (burst_start_ == absl::InfiniteFuture()) {
          burst_start_ = now;
          spdlog::debug("{} {} (+{} more events); rediscovering soon",
                        evs[0].action, evs[0].devpath, evs.size() - 1);
        }
        rediscover_at_ = std::min(now + opts_.event_quiet,
                                  burst_start_ + opts_.event_max_delay);
      }
    }
  }
  StopAll();
  Publish();
  return absl::OkStatus();
}

void Daemon::StopAll() {
  for (Slot& s : slots_) {
    if (s.server) {
      s.server->Stop(/*cleanup=*/true);
      s.server.reset();
    }
  }
}

}  // namespace sk::deviceplugin
