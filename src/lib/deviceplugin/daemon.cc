#include "lib/deviceplugin/daemon.h"

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spdlog/spdlog.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/config.h"
#include "lib/deviceplugin/inventory.h"

namespace sk::deviceplugin {
namespace {

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
  if (!config_loaded) return false;
  for (const auto& p : pools) {
    if (!p.registered) return false;
  }
  return true;
}

Daemon::Daemon(DaemonOptions opts)
    : opts_(std::move(opts)), fs_(opts_.sysfs_root) {
  if (!opts_.discover) opts_.discover = DiscoverHost;
}

Daemon::~Daemon() { StopAll(); }

void Daemon::Shutdown() {
  shutdown_.store(true);
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
  for (const Slot& s : slots_) {
    PoolState p;
    p.resource_name = s.pool.config.FullName();
    p.devices = s.pool.devices.size();
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
  auto cfg = LoadConfigFile(opts_.config_file, opts_.resource_prefix);
  if (!cfg.ok()) return fail(cfg.status());
  absl::Time t0 = absl::Now();
  auto devices = opts_.discover(fs_);
  if (!devices.ok()) {
    return fail(Annotate(devices.status(), "discovery"));
  }
  for (const auto& w : cfg->warnings) spdlog::warn("{}", w);
  for (const auto& e : cfg->pool_errors) {
    spdlog::error("resource dropped: {}", std::string(e.message()));
  }
  if (cfg->resources.empty()) {
    spdlog::warn("{}: no resources configured; idle", opts_.config_file);
  }
  DiscoveryOptions dopts;
  dopts.exclude_default_route = opts_.exclude_default_route;
  absl::Time t1 = absl::Now();
  Inventory inv = BuildInventory(cfg->resources, *devices, fs_, dopts);
  spdlog::info("discovered {} PCI devices in {} ms, pools built in {} ms",
               devices->size(), absl::ToInt64Milliseconds(t1 - t0),
               absl::ToInt64Milliseconds(absl::Now() - t1));
  for (const auto& line : inv.log) spdlog::info("{}", line);
  if (!last_config_error_.empty()) {
    spdlog::info("{}: loaded; recovering", opts_.config_file);
  }
  last_config_error_.clear();
  loaded_ = true;
  for (Pool& p : inv.pools) {
    spdlog::info("{}: {} devices", p.config.FullName(), p.devices.size());
    slots_.push_back(Slot{std::move(p), nullptr, absl::InfinitePast(), "", {}});
  }
  for (Slot& s : slots_) StartSlot(s);
  // Discovery's temporaries (one snapshot of every PCI device) are freed by
  // now; hand the pages back so the long-running daemon stays small.
  malloc_trim(0);
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
      if (ev->wd == config_dir_wd_ && !loaded_) {
        next_load_ = absl::InfinitePast();
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

bool Daemon::WatchSocketDir() {
  socket_dir_wd_ =
      ::inotify_add_watch(inotify_.get(), socket_dir_.c_str(),
                          IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
  return socket_dir_wd_ >= 0;
}

void Daemon::Tick() {
  absl::Time now = absl::Now();
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
  if (!loaded_) {
    if (now >= next_load_) {
      TryLoad();
      next_load_ = now + opts_.retry_interval;
    }
    return;
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
    spdlog::warn("inotify on {}: {}; polling until it can be watched",
                 socket_dir_.string(), std::strerror(errno));
  }
  config_dir_wd_ =
      ::inotify_add_watch(inotify_.get(), ConfigDir().c_str(),
                          IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE);
  if (opts_.server.service.use_cdi) {
    RemoveStaleCdiSpecs(opts_.server.service.cdi_dir);
  }

  // 50 ms ticks keep re-registration well within the 1 s budget even when
  // inotify is unavailable; an idle tick costs a few stat() calls.
  constexpr int kTickMs = 50;
  while (!shutdown_.load()) {
    Tick();
    Publish();
    struct pollfd fds[2] = {{inotify_.get(), POLLIN, 0},
                            {wake_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, kTickMs);
    if (n > 0 && (fds[0].revents & POLLIN)) HandleInotify();
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
