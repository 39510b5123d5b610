// Device-plugin figures on the 2048-VF scale fixture (8 E810-like PFs x 256
// VFs, all bound to vfio-pci, one pool), measured against the real
// sriov-device-plugin process and KubeletStandIn (kubelet cannot run here)
// over real unix sockets:
//   BM_StartToRegistered  exec -> the stand-in holds the full 2048-device
//                         ListAndWatch list (legacy Register mode); counter
//                         rss_kib = the plugin's VmRSS once registered,
//                         private_kib = its private pages (smaps_rollup)
//   BM_AllocateRoundTrip  one-device Allocate over the unix socket; counters
//                         p50_us / p99_us over all iterations
//   BM_AllocateGrpcFloor  the floor under it: the same Allocate call, over a
//                         unix socket, to a gRPC server in this process that
//                         answers an empty AllocateResponse (transport and
//                         protobuf only, no plugin work)
//   BM_IdleCpu            the registered plugin left alone with 2048 VFs for
//                         SK_DP_IDLE_SECONDS (default 60): counter cpu_pct =
//                         its user+system CPU over that time, in percent of
//                         one core (target < 0.1; the floor is 0). The
//                         plugin's 600 s rescan falls outside the window;
//                         SK_DP_RESCAN_SECONDS=10 puts six inside it
//
//   BM_EventToListAndWatch
//                         in process (the kernel-event seam needs it): the
//                         Daemon with a FakeEventSource; per iteration a VF
//                         is rebound away from vfio-pci, a "bind" uevent is
//                         injected, and the time until the stand-in's
//                         ListAndWatch list shows it Unhealthy is taken;
//                         then the same back to Healthy. Each includes one
//                         full rediscovery of the 2048-VF tree. Counters
//                         p50_ms / p99_ms over both directions.
//
//   BM_RssFlat            in process as above: after a warm-up (1,000
//                         Allocates, 10 rediscoveries), 10,000 one-device
//                         Allocates over the unix socket interleaved with
//                         100 event-driven rediscoveries of the 2048-VF
//                         tree. Counters rss_start_kib / rss_end_kib /
//                         growth_kib: VmRSS of this process (daemon and
//                         stand-in together) before and after; flat means
//                         growth near 0 (no per-call or per-rediscovery
//                         retention).
//
//   deviceplugin_bench --benchmark_counters_tabular=true
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include "spdlog/spdlog.h"
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include "lib/deviceplugin/daemon.h"
#include "tests/testing/fake_event_source.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace {

constexpr char kResource[] = "intel.com/vfio";

struct Fixture {
  sk::testing::TempDir dir;
  std::vector<std::string> vfs;
};

const Fixture& ScaleFixture() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    sk::testing::FakeSysfsBuilder b(fx->dir.path());
    for (const auto& pf : sk::testing::AddScaleTree(b, 8, 256)) {
      for (const auto& vf : pf.vfs) {
        b.BindDriver(vf, "vfio-pci");
        fx->vfs.push_back(vf);
      }
    }
    std::ofstream(fx->dir / "config.json")
        << R"({"resourceList":[{"resourceName":"vfio",
              "selectors":{"drivers":["vfio-pci"]}}]})";
    return fx;
  }();
  return *f;
}

struct Plugin {
  pid_t pid = -1;
  ~Plugin() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int st;
      ::waitpid(pid, &st, 0);
    }
  }
};

std::string ShmDir();

std::unique_ptr<Plugin> Spawn(const std::filesystem::path& root,
                              const std::filesystem::path& work) {
  std::vector<std::string> args = {
      SK_DP_BINARY, "--config-file=" + (root / "config.json").string(),
      "--sysfs-root=" + root.string(),
      "--device-plugin-path=" + (work / "dp").string(),
      "--plugins-registry-path=" + (work / "none").string(),
      // Device-info files go to tmpfs, as /var/run is on a node: /tmp here
      // is ext4 and the atomic write's fsync would dominate the figure.
      "--devinfo-dir=" + ShmDir(), "--log-level=0"};
  // SK_DP_RESCAN_SECONDS=<n> overrides the periodic rescan (default 600 s,
  // never inside BM_IdleCpu's window): with a short one, BM_IdleCpu's
  // cpu_pct includes the rescans and shows their cost.
  if (const char* rescan = std::getenv("SK_DP_RESCAN_SECONDS")) {
    args.push_back(std::string("--rescan-interval=") + rescan);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // SK_DP_BENCH_LOG=<file> keeps the plugin's log (phase timings).
  const char* log = std::getenv("SK_DP_BENCH_LOG");
  posix_spawn_file_actions_addopen(&fa, 2, log ? log : "/dev/null",
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  auto p = std::make_unique<Plugin>();
  if (posix_spawn(&p->pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    p->pid = -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

std::string ShmDir() {
  static std::string dir = [] {
    std::string t = "/dev/shm/sk.XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) return std::string("/tmp");
    std::atexit([] { std::filesystem::remove_all(ShmDir()); });
    return t;
  }();
  return dir;
}

// A field of /proc/<pid>/status or smaps_rollup, in KiB.
long ProcKib(pid_t pid, const char* file, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}
long RssKib(pid_t pid) { return ProcKib(pid, "status", "VmRSS"); }
// Pages only this process holds (RSS minus shared library text etc.).
long PrivateKib(pid_t pid) {
  return ProcKib(pid, "smaps_rollup", "Private_Clean") +
         ProcKib(pid, "smaps_rollup", "Private_Dirty");
}

void BM_StartToRegistered(benchmark::State& state) {
  const Fixture& fx = ScaleFixture();
  long rss = 0;
  long priv = 0;
  for (auto _ : state) {
    sk::testing::TempDir work;
    auto kubelet = sk::deviceplugin::KubeletStandIn::StartLegacy(work / "dp");
    if (!kubelet.ok()) return state.SkipWithError("stand-in failed");
    auto t0 = std::chrono::steady_clock::now();
    auto plugin = Spawn(fx.dir.path(), work.path());
    if (plugin->pid < 0) return state.SkipWithError("spawn failed");
    auto devs =
        (*kubelet)->WaitForDevices(kResource, fx.vfs.size(), absl::Seconds(20));
    auto t1 = std::chrono::steady_clock::now();
    if (!devs.ok()) return state.SkipWithError("not registered");
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    rss = std::max(rss, RssKib(plugin->pid));
    priv = std::max(priv, PrivateKib(plugin->pid));
    // SK_DP_BENCH_SMAPS=<file> keeps the plugin's smaps (where RSS goes).
    if (const char* out = std::getenv("SK_DP_BENCH_SMAPS")) {
      std::ifstream in("/proc/" + std::to_string(plugin->pid) + "/smaps");
      std::ofstream(out) << in.rdbuf();
    }
  }
  state.counters["rss_kib"] = static_cast<double>(rss);
  state.counters["private_kib"] = static_cast<double>(priv);
  state.counters["devices"] = static_cast<double>(fx.vfs.size());
}
BENCHMARK(BM_StartToRegistered)
    ->UseManualTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);

void BM_AllocateRoundTrip(benchmark::State& state) {
  const Fixture& fx = ScaleFixture();
  sk::testing::TempDir work;
  auto kubelet = sk::deviceplugin::KubeletStandIn::StartLegacy(work / "dp");
  if (!kubelet.ok()) return state.SkipWithError("stand-in failed");
  auto plugin = Spawn(fx.dir.path(), work.path());
  if (!(*kubelet)
           ->WaitForDevices(kResource, fx.vfs.size(), absl::Seconds(20))
           .ok()) {
    return state.SkipWithError("not registered");
  }
  std::vector<double> us;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& id = fx.vfs[i++ % fx.vfs.size()];
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*kubelet)->Allocate(kResource, {id});
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) return state.SkipWithError("Allocate failed");
    double d = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(d);
    us.push_back(d * 1e6);
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["rss_kib"] = static_cast<double>(RssKib(plugin->pid));
}
BENCHMARK(BM_AllocateRoundTrip)
    ->UseManualTime()
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);

// An Allocate that does nothing: what any gRPC device plugin pays per call.
class EmptyAllocate final : public v1beta1::DevicePlugin::Service {
  grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest*,
                        v1beta1::AllocateResponse* resp) override {
    resp->add_container_responses();
    return grpc::Status::OK;
  }
};

void BM_AllocateGrpcFloor(benchmark::State& state) {
  const Fixture& fx = ScaleFixture();
  sk::testing::TempDir work;
  const std::string addr = "unix:" + (work / "floor.sock").string();
  EmptyAllocate service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return state.SkipWithError("floor server failed to start");
  auto stub = v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  std::vector<double> us;
  size_t i = 0;
  for (auto _ : state) {
    v1beta1::AllocateRequest req;
    req.add_container_requests()->add_devices_ids(fx.vfs[i++ % fx.vfs.size()]);
    v1beta1::AllocateResponse resp;
    grpc::ClientContext ctx;
    auto t0 = std::chrono::steady_clock::now();
    grpc::Status st = stub->Allocate(&ctx, req, &resp);
    auto t1 = std::chrono::steady_clock::now();
    if (!st.ok()) return state.SkipWithError("floor Allocate failed");
    double d = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(d);
    us.push_back(d * 1e6);
  }
  server->Shutdown();
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}
BENCHMARK(BM_AllocateGrpcFloor)
    ->UseManualTime()
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);

// utime + stime of `pid` in clock ticks (/proc/<pid>/stat fields 14 and 15).
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count from its closing ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  long utime = -1, stime = -1;
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::stol(field);
    if (f == 15) stime = std::stol(field);
  }
  return utime < 0 || stime < 0 ? -1 : utime + stime;
}

void BM_IdleCpu(benchmark::State& state) {
  const Fixture& fx = ScaleFixture();
  const char* env = std::getenv("SK_DP_IDLE_SECONDS");
  const int seconds = env ? std::max(1, std::atoi(env)) : 60;
  double pct = 0;
  for (auto _ : state) {
    sk::testing::TempDir work;
    auto kubelet = sk::deviceplugin::KubeletStandIn::StartLegacy(work / "dp");
    if (!kubelet.ok()) return state.SkipWithError("stand-in failed");
    auto plugin = Spawn(fx.dir.path(), work.path());
    if (!(*kubelet)
             ->WaitForDevices(kResource, fx.vfs.size(), absl::Seconds(20))
             .ok()) {
      return state.SkipWithError("not registered");
    }
    // Settle (start-up threads finish), then measure the idle window.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const long t0 = CpuTicks(plugin->pid);
    auto w0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const long t1 = CpuTicks(plugin->pid);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - w0)
            .count();
    if (t0 < 0 || t1 < 0) return state.SkipWithError("no /proc/<pid>/stat");
    state.SetIterationTime(wall);
    pct = static_cast<double>(t1 - t0) /
          static_cast<double>(::sysconf(_SC_CLK_TCK)) / wall * 100.0;
  }
  state.counters["cpu_pct"] = pct;
  state.counters["idle_s"] = seconds;
}
BENCHMARK(BM_IdleCpu)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);

// Rebinds `id` in the fixture tree as the kernel shows it: the driver link
// and DRIVER= in uevent (the host model reads the latter). The fixture's
// builder is gone by now, so this edits the files directly.
bool Rebind(const std::filesystem::path& root, const std::string& id,
            const std::string& driver) {
  std::error_code ec;
  auto dev = std::filesystem::canonical(root / "sys/bus/pci/devices" / id, ec);
  if (ec) return false;
  std::filesystem::path target =
      std::filesystem::read_symlink(dev / "driver", ec).parent_path() / driver;
  if (ec) return false;
  std::filesystem::create_directories(dev / target, ec);
  std::filesystem::remove(dev / "driver", ec);
  std::filesystem::create_symlink(target, dev / "driver", ec);
  if (ec) return false;
  std::ifstream in(dev / "uevent");
  std::string text, line;
  while (std::getline(in, line)) {
    text += line.rfind("DRIVER=", 0) == 0 ? "DRIVER=" + driver : line;
    text += "\n";
  }
  std::ofstream(dev / "uevent.tmp") << text;
  std::filesystem::rename(dev / "uevent.tmp", dev / "uevent", ec);
  return !ec;
}

// The daemon on the 2048-VF fixture with injected kernel events (no
// rescans), registered with a kubelet stand-in in legacy mode.
struct EventDrivenDaemon {
  explicit EventDrivenDaemon(const Fixture& fx) {
    o.config_file = (fx.dir / "config.json").string();
    o.sysfs_root = fx.dir.path();
    o.server.device_plugin_dir = work / "dp";
    o.server.plugins_registry_dir = work / "none";
    o.server.service.devinfo_dir = ShmDir();
    o.rescan_interval = absl::ZeroDuration();
    o.events = events;
  }
  ~EventDrivenDaemon() { Stop(); }
  absl::Status Start(const Fixture& fx) {
    auto k = sk::deviceplugin::KubeletStandIn::StartLegacy(work / "dp");
    if (!k.ok()) return absl::UnavailableError("stand-in failed");
    kubelet = *std::move(k);
    daemon = std::make_unique<sk::deviceplugin::Daemon>(o);
    run = std::thread([this] { (void)daemon->Run(); });
    if (!kubelet->WaitForDevices(kResource, fx.vfs.size(), absl::Seconds(20))
             .ok()) {
      Stop();
      return absl::DeadlineExceededError("not registered");
    }
    return absl::OkStatus();
  }
  void Stop() {
    if (run.joinable()) {
      daemon->Shutdown();
      run.join();
    }
  }

  sk::testing::TempDir work;
  std::shared_ptr<sk::deviceplugin::testing::FakeEventSource> events =
      std::make_shared<sk::deviceplugin::testing::FakeEventSource>();
  sk::deviceplugin::DaemonOptions o;
  std::unique_ptr<sk::deviceplugin::KubeletStandIn> kubelet;
  std::unique_ptr<sk::deviceplugin::Daemon> daemon;
  std::thread run;
};

void BM_EventToListAndWatch(benchmark::State& state) {
  const Fixture& fx = ScaleFixture();
  spdlog::set_level(spdlog::level::err);
  EventDrivenDaemon d(fx);
  if (absl::Status st = d.Start(fx); !st.ok()) {
    return state.SkipWithError(std::string(st.message()).c_str());
  }
  auto& kubelet = d.kubelet;
  auto& events = d.events;
  auto stop = [&] { d.Stop(); };
  // The stand-in's list observer takes the time the wanted health arrives
  // (no polling: a polling reader copies the 2048-device list and takes CPU
  // from the daemon being measured on 2 cores).
  struct Want {
    std::mutex mu;
    std::condition_variable cv;
    std::string id, health;
    std::optional<std::chrono::steady_clock::time_point> at;
  } want;
  kubelet->set_list_observer(
      [&want](const std::string& resource,
              const std::vector<v1beta1::Device>& devices) {
        if (resource != kResource) return;
        auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> l(want.mu);
        if (want.at || want.id.empty()) return;
        for (const auto& dev : devices) {
          if (dev.id() == want.id && dev.health() == want.health) {
            want.at = now;
            want.cv.notify_all();
          }
        }
      });
  std::vector<double> ms;
  size_t i = 0;
  auto one = [&](const std::string& id, const char* health) -> bool {
    std::unique_lock<std::mutex> l(want.mu);
    want.id = id;
    want.health = health;
    want.at.reset();
    auto t0 = std::chrono::steady_clock::now();
    events->InjectPci("bind", id);
    if (!want.cv.wait_for(l, std::chrono::seconds(10),
                          [&] { return want.at.has_value(); })) {
      return false;
    }
    double d = std::chrono::duration<double>(*want.at - t0).count();
    want.id.clear();
    state.SetIterationTime(d);
    ms.push_back(d * 1e3);
    return true;
  };
  for (auto _ : state) {
    const std::string& id = fx.vfs[(i++ * 37) % fx.vfs.size()];
    bool ok = Rebind(fx.dir.path(), id, "ixgbevf") && one(id, "Unhealthy");
    ok = Rebind(fx.dir.path(), id, "vfio-pci") && ok;
    if (!ok || !one(id, "Healthy")) {
      stop();
      return state.SkipWithError("no ListAndWatch update within 10 s");
    }
  }
  kubelet->set_list_observer(nullptr);
  stop();
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
}
BENCHMARK(BM_EventToListAndWatch)
    ->UseManualTime()
    ->Iterations(50)
    ->Unit(benchmark::kMillisecond);

void BM_RssFlat(benchmark::State& state) {
  const Fixture& fx = ScaleFixture();
  spdlog::set_level(spdlog::level::err);
  EventDrivenDaemon d(fx);
  if (absl::Status st = d.Start(fx); !st.ok()) {
    return state.SkipWithError(std::string(st.message()).c_str());
  }
  auto& kubelet = d.kubelet;
  auto& events = d.events;
  auto stop = [&] { d.Stop(); };
  size_t n = 0;
  // `allocs` Allocates with a rediscovery after every allocs/rounds of them.
  auto cycle = [&](int allocs, int rounds) -> bool {
    for (int r = 0; r < rounds; ++r) {
      for (int a = 0; a < allocs / rounds; ++a) {
        const std::string& id = fx.vfs[(n++ * 37) % fx.vfs.size()];
        if (!kubelet->Allocate(kResource, {id}).ok()) return false;
      }
      const int before = d.daemon->GetState().rediscoveries;
      events->InjectPci("change", fx.vfs[static_cast<size_t>(r)]);
      auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (d.daemon->GetState().rediscoveries <= before) {
        if (std::chrono::steady_clock::now() > limit) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return true;
  };
  long start = 0, end = 0;
  for (auto _ : state) {
    if (!cycle(1000, 10)) {  // warm-up: allocator arenas, gRPC buffers
      stop();
      return state.SkipWithError("warm-up failed");
    }
    start = RssKib(::getpid());
    auto t0 = std::chrono::steady_clock::now();
    if (!cycle(10000, 100)) {
      stop();
      return state.SkipWithError("Allocate failed or no rediscovery in 10 s");
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
    end = RssKib(::getpid());
  }
  stop();
  state.counters["rss_start_kib"] = static_cast<double>(start);
  state.counters["rss_end_kib"] = static_cast<double>(end);
  state.counters["growth_kib"] = static_cast<double>(end - start);
}
BENCHMARK(BM_RssFlat)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
