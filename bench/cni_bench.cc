// ADD+DEL cycle in netdevice mode: our `sriov` plugin (cni_bench_plugin: the
// real plugin with an in-memory PF, see that file) versus Debian's Go
// /usr/lib/cni/host-device, each moving a veth into a pod netns and back,
// each exec'd as a CNI runtime would. Needs root; runs in a private netns.
//
//   build-cni/bench/cni_bench --benchmark_repetitions=1
//
// Prints Google Benchmark rows (manual wall time per cycle, max child RSS as
// a counter) and a summary with both medians, their ratio and max RSS.
//
// Max RSS is each plugin process's own peak (VmHWM of the exec'd image, read
// at its exit under ptrace) in one extra, untimed ADD+DEL cycle per plugin.
// ru_maxrss from wait4 cannot be used: a posix_spawn child shares this
// process's mm until exec, and exec records the old mm's high-water RSS in
// the child's maxrss (Linux exec_mmap -> setmax_mm_hiwater_rss), so it
// reads max(child, this benchmark process).
//
// BM_SriovVfioAddDel is the same cycle in vfio mode (KubeVirt's path) on a
// VF bound to vfio-pci in the fixture, with vlan/qos, MAC, spoofchk and
// trust; BM_ExecTrueFloor, two execs of /bin/true, is its floor (the PF is
// in memory here; the lab scenario lab/scenarios/cni_vfio_bench.sh measures
// it on real igb VFs against iproute2).
//
// After the timed runs, each mode's ADD and DEL run once more under
// `strace -f -c` (when strace is installed) and the syscall count, the
// netlink round trips the kernel saw (sendto) and the PF-side requests
// (counted by the in-memory PF; each is one sendto and its recvs in
// production) are printed: a deterministic guard next to the noisy clock.
//
// BM_KernelNetnsMoveFloor is the kernel's own floor for the same cycle: in
// this process, over rtnetlink (net::LinkOps on netlink::KernelSocket), the
// same veth is moved into the pod netns and back (RTM_SETLINK with
// IFLA_NET_NS_FD), timing only those two requests. Whatever either plugin
// takes beyond it is process start, config, state files and other netlink
// traffic. BM_KernelSequenceFloor times all of the plugin's link requests
// the same way; BM_KernelNetnsMoveAfterExecFloor the two moves each right
// after a process exited. BM_Iproute2NetdevAddDel is the peer doing the
// same link steps from fresh processes: `ip -batch`, as an admin's script.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

#include "lib/net/link_ops.h"
#include "lib/net/netns.h"
#include "lib/netlink/kernel_socket.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace {

struct Exec {
  int status = -1;
  std::string out;
};

// argv and envp for exec'ing `bin` (with `extra` arguments) as a runtime
// would: the CNI variables plus a fixed PATH. Owns the strings the pointers
// point into.
struct ExecArgs {
  ExecArgs(const std::string& bin, const std::vector<std::string>& env_vars,
           const std::vector<std::string>& extra = {})
      : args({bin}), vars(env_vars) {
    args.insert(args.end(), extra.begin(), extra.end());
    vars.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
  }
  ExecArgs(const ExecArgs&) = delete;
  ExecArgs& operator=(const ExecArgs&) = delete;

  std::vector<std::string> args;
  std::vector<std::string> vars;
  std::vector<char*> envp;
  std::vector<char*> argv;
};

Exec Run(const std::string& bin, const std::vector<std::string>& env_vars,
         const std::string& in, const std::vector<std::string>& extra = {}) {
  Exec r;
  int ip[2], op[2];
  if (::pipe2(ip, O_CLOEXEC) != 0 || ::pipe2(op, O_CLOEXEC) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, ip[0], 0);
  posix_spawn_file_actions_adddup2(&fa, op[1], 1);
  ExecArgs args(bin, env_vars, extra);
  pid_t pid;
  int rc = ::posix_spawn(&pid, bin.c_str(), &fa, nullptr, args.argv.data(),
                         args.envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(ip[0]);
  ::close(op[1]);
  if (rc != 0) {
    ::close(ip[1]);
    ::close(op[0]);
    return r;
  }
  (void)!::write(ip[1], in.data(), in.size());
  ::close(ip[1]);
  char buf[4096];
  for (ssize_t n; (n = ::read(op[0], buf, sizeof(buf))) > 0;)
    r.out.append(buf, static_cast<size_t>(n));
  ::close(op[0]);
  ::waitpid(pid, &r.status, 0);
  return r;
}

long VmHwmKb(pid_t pid) {
  FILE* f =
      std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "re");
  if (f == nullptr) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr)
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  std::fclose(f);
  return kb;
}

// Runs `bin` like Run, traced: stops it at exit (PTRACE_O_TRACEEXIT, before
// its mm is released) to read the exec'd image's peak RSS. Returns -1 on
// failure.
long PeakRssKb(const std::string& bin, const std::vector<std::string>& env_vars,
               const std::string& in) {
  int ip[2], op[2];
  if (::pipe2(ip, O_CLOEXEC) != 0 || ::pipe2(op, O_CLOEXEC) != 0) return -1;
  ExecArgs args(bin, env_vars);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(ip[0], 0);
    ::dup2(op[1], 1);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::execve(bin.c_str(), args.argv.data(), args.envp.data());
    ::_exit(127);
  }
  ::close(ip[0]);
  ::close(op[1]);
  // Stdin goes into the pipe now (it is small), so the child never waits on
  // us, even when it cannot be traced (e.g. under strace).
  if (pid > 0) (void)!::write(ip[1], in.data(), in.size());
  ::close(ip[1]);
  long hwm = -1;
  int st = 0;
  // First stop: SIGTRAP after execve.
  if (pid > 0 && ::waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
    ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
             reinterpret_cast<void*>(PTRACE_O_TRACEEXIT));
    ::ptrace(PTRACE_CONT, pid, nullptr, nullptr);
    while (::waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
      int sig = 0;
      if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_EXIT << 8)))
        hwm = VmHwmKb(pid);
      else
        sig = WSTOPSIG(st);  // pass real signals through (Go's SIGURG)
      ::ptrace(PTRACE_CONT, pid, nullptr,
               reinterpret_cast<void*>(static_cast<long>(sig)));
    }
  }
  char buf[4096];
  while (::read(op[0], buf, sizeof(buf)) > 0) {
  }
  ::close(op[0]);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? hwm : -1;
}

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

struct Setup {
  sk::testing::TempDir tmp;
  std::string pod_ns = "skbench-" + std::to_string(::getpid());
  std::string vf, vf_netdev, pf_netdev;
  std::string vfio_vf, vfio_pf_netdev;  // a VF bound to vfio-pci
  bool ok = false;

  Setup() {
    if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) return;
    std::filesystem::create_directories(tmp.path() / "root");
    sk::testing::FakeSysfsBuilder b(tmp.path() / "root");
    sk::testing::FakeCardOptions o;
    o.ports = 1;
    o.num_vfs = 1;
    auto card = sk::testing::AddIntel82576(b, o)[0];
    vf = card.vfs[0];
    vf_netdev = card.vf_netdevs[0];
    pf_netdev = card.netdev;
    o.bus = 0x02;
    o.vf_driver = "vfio-pci";
    auto vfio_card = sk::testing::AddIntel82576(b, o)[0];
    vfio_vf = vfio_card.vfs[0];
    vfio_pf_netdev = vfio_card.netdev;
    ok = Sh("ip link add " + vf_netdev + " type veth peer name skbpeer") == 0 &&
         Sh("ip netns add " + pod_ns) == 0;
  }
  ~Setup() { Sh("ip netns del " + pod_ns); }
};

Setup* g_setup = nullptr;
std::map<std::string, std::vector<double>> g_ms;
std::map<std::string, long> g_rss;

std::vector<std::string> CniEnv(const char* cmd, const std::string& cid,
                                bool vfio = false) {
  return {
      std::string("CNI_COMMAND=") + cmd,
      "CNI_CONTAINERID=" + cid,
      "CNI_NETNS=/run/netns/" + g_setup->pod_ns,
      "CNI_IFNAME=net1",
      "CNI_PATH=/usr/lib/cni",
      "SRIOVKIT_SYSFS_ROOT=" + (g_setup->tmp.path() / "root").string(),
      "SRIOVKIT_CNI_STATE_DIR=" + (g_setup->tmp.path() / "state").string(),
      "SK_BENCH_PF=" + (vfio ? g_setup->vfio_pf_netdev : g_setup->pf_netdev)};
}

void Cycle(benchmark::State& state, const std::string& name,
           const std::string& bin, const std::string& conf, bool vfio = false) {
  if (g_setup == nullptr || !g_setup->ok) {
    state.SkipWithError("needs root (netns) and ip(8)");
    return;
  }
  int i = 0;
  for (auto _ : state) {
    std::string cid = "bench" + std::to_string(i++);
    auto t0 = std::chrono::steady_clock::now();
    Exec add = Run(bin, CniEnv("ADD", cid, vfio), conf);
    Exec del = Run(bin, CniEnv("DEL", cid, vfio), conf);
    auto t1 = std::chrono::steady_clock::now();
    if (add.status != 0 || del.status != 0) {
      state.SkipWithError(("plugin failed: " + add.out + del.out).c_str());
      return;
    }
    double s = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(s);
    g_ms[name].push_back(s * 1000);
  }
  // One more cycle, untimed, for each process's own peak RSS.
  std::string cid = "bench-rss";
  long add_rss = PeakRssKb(bin, CniEnv("ADD", cid, vfio), conf);
  long del_rss = PeakRssKb(bin, CniEnv("DEL", cid, vfio), conf);  // after ADD
  long rss = std::max(add_rss, del_rss);
  state.counters["max_rss_kb"] = static_cast<double>(rss);
  g_rss[name] = std::max(g_rss[name], rss);
}

std::string SelfDir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

std::string NetdevConf() {
  return R"({"cniVersion":"1.0.0","name":"bench","type":"sriov","deviceID":")" +
         g_setup->vf + "\"}";
}
void BM_SriovAddDel(benchmark::State& state) {
  Cycle(state, "sriov (sriovkit)", SelfDir() + "/cni_bench_plugin",
        NetdevConf());
}
// SK_BENCH_PEER_PLUGIN=<another build's bench/cni_bench_plugin>: the same
// netdevice cycle with that binary, as one more benchmark that random
// interleaving mixes with ours; a figure that moved between two runs is
// then told apart from a change of the machine (docs/performance.md).
constexpr char kPeerBuildRow[] = "sriov (peer build)";
void BM_SriovPeerBuildAddDel(benchmark::State& state, const std::string& bin) {
  Cycle(state, kPeerBuildRow, bin, NetdevConf());
}
std::string VfioConf() {
  return R"({"cniVersion":"1.0.0","name":"bench","type":"sriov","deviceID":")" +
         g_setup->vfio_vf +
         R"(","vlan":100,"vlanQoS":3,"mac":"02:00:00:00:00:aa","spoofchk":"off","trust":"on"})";
}
constexpr char kVfioRow[] = "sriov vfio mode";
constexpr char kExecFloorRow[] = "2x exec /bin/true";

void BM_SriovVfioAddDel(benchmark::State& state) {
  Cycle(state, kVfioRow, SelfDir() + "/cni_bench_plugin", VfioConf(),
        /*vfio=*/true);
}

void BM_ExecTrueFloor(benchmark::State& state) {
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Exec a = Run("/bin/true", {}, "");
    Exec b = Run("/bin/true", {}, "");
    auto t1 = std::chrono::steady_clock::now();
    if (a.status != 0 || b.status != 0) {
      state.SkipWithError("cannot exec /bin/true");
      return;
    }
    double s = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(s);
    g_ms[kExecFloorRow].push_back(s * 1000);
  }
}

void BM_GoHostDeviceAddDel(benchmark::State& state) {
  Cycle(
      state, "host-device (Go)", "/usr/lib/cni/host-device",
      R"({"cniVersion":"1.0.0","name":"bench","type":"host-device","device":")" +
          g_setup->vf_netdev + "\"}");
}
// BM_Iproute2NetdevAddDel: the same link steps as our plugin's netdevice
// cycle (BM_KernelSequenceFloor's list), done by iproute2 as an admin's
// script would: `ip -batch` in the host netns, then `ip -n <pod> -batch`
// for ADD, and the reverse for DEL (four ip processes per cycle; ip cannot
// switch namespaces inside one batch). A peer doing the same kernel work
// from fresh processes, keeping no state and taking no lock.
constexpr char kIproute2Row[] = "iproute2 script";
void BM_Iproute2NetdevAddDel(benchmark::State& state) {
  if (g_setup == nullptr || !g_setup->ok) {
    state.SkipWithError("needs root (netns) and ip(8)");
    return;
  }
  const std::filesystem::path d = g_setup->tmp.path() / "ip-batch";
  std::filesystem::create_directories(d);
  const std::string& name = g_setup->vf_netdev;
  const std::string transit = "skipfloor0";
  const std::string self = std::to_string(::getpid());  // this netns
  auto write = [&](const char* file, const std::string& text) {
    std::FILE* f = std::fopen((d / file).c_str(), "we");
    if (f == nullptr) return false;
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
  };
  if (!write("add-host", "link set " + name + " name " + transit +
                             "\nlink set " + transit + " netns " +
                             g_setup->pod_ns + "\n") ||
      !write("add-pod",
             "link set " + transit + " name net1\nlink set net1 up\n") ||
      !write("del-pod", "link set net1 down\nlink set net1 name " + transit +
                            "\nlink set " + transit + " netns " + self +
                            "\n") ||
      !write("del-host", "link set " + transit + " name " + name + "\n")) {
    state.SkipWithError("cannot write the ip batch files");
    return;
  }
  const std::string ip = "/usr/sbin/ip";
  const std::string f = d.string() + "/";
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Exec a = Run(ip, {}, "", {"-batch", f + "add-host"});
    Exec b = Run(ip, {}, "", {"-n", g_setup->pod_ns, "-batch", f + "add-pod"});
    Exec c = Run(ip, {}, "", {"-n", g_setup->pod_ns, "-batch", f + "del-pod"});
    Exec e = Run(ip, {}, "", {"-batch", f + "del-host"});
    auto t1 = std::chrono::steady_clock::now();
    if (a.status != 0 || b.status != 0 || c.status != 0 || e.status != 0) {
      state.SkipWithError("an ip -batch step failed");
      return;
    }
    double s = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(s);
    g_ms[kIproute2Row].push_back(s * 1000);
  }
}

constexpr char kFloorRow[] = "kernel move floor";

// The host and pod namespaces and an rtnetlink socket in each, for the
// in-process floors; nullopt (the benchmark skipped, saying why) when
// they cannot be opened.
struct FloorNetns {
  sk::UniqueFd host_ns, pod_ns;
  std::unique_ptr<sk::netlink::KernelSocket> host_sock, pod_sock;
};
std::optional<FloorNetns> OpenFloorNetns(benchmark::State& state) {
  if (g_setup == nullptr || !g_setup->ok) {
    state.SkipWithError("needs root (netns) and ip(8)");
    return std::nullopt;
  }
  auto host_ns = sk::net::OpenCurrentNetns();
  auto pod_ns = sk::net::OpenNetns("/run/netns/" + g_setup->pod_ns);
  if (!host_ns.ok() || !pod_ns.ok()) {
    state.SkipWithError("cannot open the namespaces");
    return std::nullopt;
  }
  auto host_sock = sk::netlink::KernelSocket::Open(host_ns->get());
  auto pod_sock = sk::netlink::KernelSocket::Open(pod_ns->get());
  if (!host_sock.ok() || !pod_sock.ok()) {
    state.SkipWithError("cannot open rtnetlink sockets");
    return std::nullopt;
  }
  return FloorNetns{*std::move(host_ns), *std::move(pod_ns),
                    *std::move(host_sock), *std::move(pod_sock)};
}

// after_exec: each move follows a /bin/true run to its exit (untimed), as
// every plugin command's moves follow its own exec; it tests whether what a
// process's start and exit leave to the kernel (RCU callbacks) makes a
// move wait longer (docs/performance.md: it does not).
void MoveFloor(benchmark::State& state, bool after_exec, const char* row) {
  std::optional<FloorNetns> ns = OpenFloorNetns(state);
  if (!ns) return;
  sk::net::LinkOps host(*ns->host_sock), pod(*ns->pod_sock);
  const std::string& name = g_setup->vf_netdev;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    // Look-ups are outside the timed spans: the ifindex may change on a
    // move when the target namespace already uses it.
    auto link = host.GetLink(name);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    if (after_exec) (void)Run("/bin/true", {}, "");
    auto t0 = Clock::now();
    absl::Status in = host.SetNetns({link->index, name}, ns->pod_ns.get());
    auto t1 = Clock::now();
    auto moved = pod.GetLink(name);
    if (!in.ok() || !moved.ok()) {
      state.SkipWithError("move into the pod netns failed");
      return;
    }
    if (after_exec) (void)Run("/bin/true", {}, "");
    auto t2 = Clock::now();
    absl::Status out = pod.SetNetns({moved->index, name}, ns->host_ns.get());
    auto t3 = Clock::now();
    if (!out.ok()) {
      state.SkipWithError("move back to the host netns failed");
      return;
    }
    double s = std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
    state.SetIterationTime(s);
    g_ms[row].push_back(s * 1000);
  }
}
constexpr char kFloorAfterExecRow[] = "move floor after exec";
void BM_KernelNetnsMoveFloor(benchmark::State& state) {
  MoveFloor(state, false, kFloorRow);
}
void BM_KernelNetnsMoveAfterExecFloor(benchmark::State& state) {
  MoveFloor(state, true, kFloorAfterExecRow);
}

// BM_KernelSequenceFloor: the link requests our plugin's netdevice cycle
// makes (strace of cni_bench_plugin): ADD renames the netdev to its transit
// name, moves it, renames it to CNI_IFNAME and sets it up; DEL sets it down
// (MAC and MTU are unchanged, so not set), renames it to the transit name,
// moves it back and restores its name. Replayed in this process, all timed
// (look-ups are not): what the kernel charges for that sequence, without
// process start, config, sysfs or state files.
constexpr char kSequenceFloorRow[] = "kernel sequence floor";
void BM_KernelSequenceFloor(benchmark::State& state) {
  std::optional<FloorNetns> ns = OpenFloorNetns(state);
  if (!ns) return;
  sk::net::LinkOps host(*ns->host_sock), pod(*ns->pod_sock);
  const std::string& name = g_setup->vf_netdev;
  const std::string transit = "skseqfloor0";
  const std::string ifname = "net1";
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    Clock::duration timed{};
    bool ok = true;
    // Runs one request, timed; false (and the benchmark skipped) on error.
    auto step = [&](const char* what, auto&& request) {
      if (!ok) return;
      auto t0 = Clock::now();
      absl::Status s = request();
      timed += Clock::now() - t0;
      if (!s.ok()) {
        ok = false;
        state.SkipWithError(
            (std::string(what) + ": " + std::string(s.message())).c_str());
      }
    };
    auto link = host.GetLink(name);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    const int index = link->index;
    step("rename to transit", [&] {
      return host.SetName({index, name}, transit);
    });
    step("move in", [&] {
      return host.SetNetns({index, transit}, ns->pod_ns.get());
    });
    auto in_pod = pod.GetLink(transit);
    if (!ok || !in_pod.ok()) {
      if (ok) state.SkipWithError("moved link not found in the pod netns");
      return;
    }
    const int pi = in_pod->index;
    step("rename in pod", [&] { return pod.SetName({pi, transit}, ifname); });
    step("up", [&] { return pod.SetUp({pi, ifname}, true); });
    step("down", [&] { return pod.SetUp({pi, ifname}, false); });
    step("rename to transit in pod", [&] {
      return pod.SetName({pi, ifname}, transit);
    });
    step("move out", [&] {
      return pod.SetNetns({pi, transit}, ns->host_ns.get());
    });
    auto back = host.GetLink(transit);
    if (!ok || !back.ok()) {
      if (ok) state.SkipWithError("link not back in the host netns");
      return;
    }
    step("rename back", [&] {
      return host.SetName({back->index, transit}, name);
    });
    if (!ok) return;
    double s = std::chrono::duration<double>(timed).count();
    state.SetIterationTime(s);
    g_ms[kSequenceFloorRow].push_back(s * 1000);
  }
}

BENCHMARK(BM_SriovAddDel)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_GoHostDeviceAddDel)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_KernelNetnsMoveFloor)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_Iproute2NetdevAddDel)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_KernelNetnsMoveAfterExecFloor)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_KernelSequenceFloor)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_SriovVfioAddDel)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);
BENCHMARK(BM_ExecTrueFloor)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Syscalls and netlink round trips of one plugin command, from
// `strace -f -c` and the plugin's own PF-side count.
struct Counts {
  long syscalls = -1;
  long sendto = 0;
  long pf_requests = 0;
};

Counts CountCommand(const std::string& bin, const char* cmd,
                    const std::string& cid, const std::string& conf,
                    bool vfio) {
  Counts c;
  std::filesystem::path dir = g_setup->tmp.path();
  std::string conf_file = (dir / "count-conf.json").string();
  std::string trace = (dir / "count-strace.txt").string();
  std::string pf_counts = (dir / "count-pf.txt").string();
  std::filesystem::remove(pf_counts);
  if (FILE* f = std::fopen(conf_file.c_str(), "we")) {
    std::fwrite(conf.data(), 1, conf.size(), f);
    std::fclose(f);
  }
  std::string sh = "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  std::vector<std::string> vars = CniEnv(cmd, cid, vfio);
  vars.push_back("SK_BENCH_COUNTS=" + pf_counts);
  for (const auto& v : vars) sh += " " + ShellQuote(v);
  sh += " strace -f -qq -c -o " + ShellQuote(trace) + " " + ShellQuote(bin) +
        " <" + ShellQuote(conf_file);
  if (Sh(sh) != 0) return c;
  if (FILE* f = std::fopen(trace.c_str(), "re")) {
    char line[512];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      // "% time seconds usecs/call calls errors syscall"; the last row is
      // "100.00 0.000123 1 193 12 total" (errors may be blank).
      std::vector<std::string> w;
      for (char* t = std::strtok(line, " \t\n"); t != nullptr;
           t = std::strtok(nullptr, " \t\n"))
        w.emplace_back(t);
      if (w.size() < 5) continue;
      long calls = std::atol(w[3].c_str());
      if (w.back() == "total") c.syscalls = calls;
      if (w.back() == "sendto" || w.back() == "sendmsg") c.sendto += calls;
    }
    std::fclose(f);
  }
  if (FILE* f = std::fopen(pf_counts.c_str(), "re")) {
    long n = 0;
    while (std::fscanf(f, "pf_requests %ld\n", &n) == 1) c.pf_requests += n;
    std::fclose(f);
  }
  return c;
}

void PrintCounts() {
  if (g_setup == nullptr || !g_setup->ok || Sh("command -v strace") != 0) {
    std::printf("\n(no strace: syscall counts skipped)\n");
    return;
  }
  std::string bin = SelfDir() + "/cni_bench_plugin";
  std::string netdev_conf = NetdevConf();
  std::printf(
      "\nPer command (strace -f -c of the plugin process; deterministic):\n"
      "  %-10s %-4s %9s %16s %12s\n",
      "mode", "verb", "syscalls", "netlink sendto", "PF requests");
  for (bool vfio : {false, true}) {
    const std::string& conf = vfio ? VfioConf() : netdev_conf;
    for (const char* cmd : {"ADD", "DEL"}) {
      Counts c = CountCommand(bin, cmd, "count", conf, vfio);
      std::printf("  %-10s %-4s %9ld %16ld %12ld\n",
                  vfio ? "vfio" : "netdevice", cmd, c.syscalls, c.sendto,
                  c.pf_requests);
    }
  }
  std::printf(
      "  (PF requests go to an in-memory PF here; in production each is one "
      "more sendto plus its recvs.)\n");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty()
             ? 0
             : (v.size() % 2 ? v[v.size() / 2]
                             : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  g_setup = &setup;
  if (const char* peer = std::getenv("SK_BENCH_PEER_PLUGIN")) {
    if (::access(peer, X_OK) != 0) {
      std::fprintf(
          stderr, "cni_bench: SK_BENCH_PEER_PLUGIN=%s: not executable\n", peer);
      return 2;
    }
    benchmark::RegisterBenchmark("BM_SriovPeerBuildAddDel",
                                 BM_SriovPeerBuildAddDel, std::string(peer))
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(60);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  double ours = Median(g_ms["sriov (sriovkit)"]);
  double go = Median(g_ms["host-device (Go)"]);
  std::printf(
      "\nADD+DEL cycle, netdevice move of a veth into a netns (median wall, "
      "max RSS):\n");
  for (const auto& [name, v] : g_ms) {
    if (name == kFloorRow || name == kExecFloorRow ||
        name == kSequenceFloorRow || name == kFloorAfterExecRow ||
        name == kIproute2Row)
      continue;
    std::printf("  %-18s median %7.2f ms over %zu cycles, max RSS %ld KiB\n",
                name.c_str(), Median(v), v.size(), g_rss[name]);
  }
  if (auto it = g_ms.find(kFloorRow); it != g_ms.end())
    std::printf(
        "  %-18s median %7.2f ms over %zu cycles (in-process RTM_SETLINK "
        "IFLA_NET_NS_FD there and back, timed alone)\n",
        kFloorRow, Median(it->second), it->second.size());
  if (auto it = g_ms.find(kFloorAfterExecRow); it != g_ms.end())
    std::printf(
        "  %-18s median %7.2f ms over %zu cycles (the same two moves, each "
        "right after a /bin/true ran and exited, untimed)\n",
        kFloorAfterExecRow, Median(it->second), it->second.size());
  if (auto it = g_ms.find(kSequenceFloorRow); it != g_ms.end())
    std::printf(
        "  %-18s median %7.2f ms over %zu cycles (in-process: the plugin's "
        "8 link requests of a cycle, timed)\n",
        kSequenceFloorRow, Median(it->second), it->second.size());
  if (auto it = g_ms.find(kExecFloorRow); it != g_ms.end())
    std::printf("  %-18s median %7.2f ms over %zu cycles (the vfio floor)\n",
                kExecFloorRow, Median(it->second), it->second.size());
  if (ours > 0 && go > 0)
    std::printf("  speedup (Go median / ours): %.1fx\n", go / ours);
  if (double ip = Median(g_ms[kIproute2Row]); ip > 0)
    std::printf(
        "  %-18s median %7.2f ms over %zu cycles (ip -batch: the same link "
        "steps from four ip processes); ours / it: %.2fx\n",
        kIproute2Row, ip, g_ms[kIproute2Row].size(), ours / ip);
  if (double peer = Median(g_ms[kPeerBuildRow]); ours > 0 && peer > 0)
    std::printf("  ours / peer build (%s): %.2fx\n",
                std::getenv("SK_BENCH_PEER_PLUGIN"), ours / peer);
  double vfio = Median(g_ms[kVfioRow]);
  double exec_floor = Median(g_ms[kExecFloorRow]);
  if (vfio > 0 && exec_floor > 0)
    std::printf("  vfio mode / exec floor: %.2fx\n", vfio / exec_floor);
  PrintCounts();

  return 0;
}
