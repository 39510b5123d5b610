// The meta layer's cost (issue 11 "Figures"): one pod ADD+DEL through the
// `sriov-netattach` shim and a running `sriovkit-netattachd` (pod from the
// HTTPS API-server stand-in's watch cache, network-status patched back over
// TLS) with a single macvlan + host-local delegate, against the same
// delegate config exec'd directly by this process as a CNI runtime would
// (the peer, measured in the same run, interleaved cycle by cycle). The
// difference of the medians is what the meta layer adds per pod.
//
// Two more rows, interleaved in the same cycles, are the floor of this
// architecture (a CNI binary that forwards to a daemon, and network-status
// written before ADD returns, as Multus's thick plugin does): the shim's own
// process, exec'd twice with CNI_COMMAND=VERSION (which it answers without
// the daemon), and one network-status PATCH of the same pod with the same
// client code (sk::kube::Client) against the same stand-in. What the meta
// layer adds beyond their sum is the daemon's and the socket's own work.
// Beside the shim's execs, the empty program linked as the shim is (fully
// static, musl) is exec'd twice: the part of the shim's cost that is exec,
// libc's start-up and exit, whatever the shim's code does.
//
// Each cycle runs the pairs in alternating order, and passes DEL the ADD
// result as prevResult, as libcni does; the per-command rows are medians of
// the per-cycle differences.
//
// Then the daemon's resident memory (VmRSS) with 5,000
// NetworkAttachmentDefinitions and 500 pods on its node in its watch caches,
// against the same daemon with empty caches, and the JSON size of those
// objects as the API serves them.
//
// Needs root (network namespaces); runs in a private netns.
//   build/bench/netattach_bench [cycles=200]
//
// Load-independent profile of the daemon (docs/multus-role.md): with
// SK_BENCH_DAEMON_WRAPPER set to a command prefix (split at spaces), the
// daemon runs under it, e.g.
//   SK_BENCH_DAEMON_WRAPPER="strace -f -c -o /tmp/s20" netattach_bench 20
//   SK_BENCH_DAEMON_WRAPPER="valgrind --tool=callgrind
//     --callgrind-out-file=/tmp/cg20" netattach_bench 20
// and the memory part is skipped; the difference between N cycles and 0
// cycles (the 5 warm-up cycles run either way), divided by N, is the
// daemon's cost per pod ADD+DEL.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "lib/net/netns.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace {

using Clock = std::chrono::steady_clock;
using ::sk::testing::ApiServerStandIn;
using ::sk::testing::TestPki;

constexpr char kCniBin[] = "/usr/lib/cni";

pid_t g_daemon_pid = -1;  // stopped by Die too, so it cannot outlive us

void Die(const std::string& what) {
  std::cerr << "netattach_bench: " << what << "\n";
  if (g_daemon_pid > 0) ::kill(g_daemon_pid, SIGTERM);
  std::exit(1);
}

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// posix_spawn `bin` with `env` and `input` on stdin, as a CNI runtime execs
// a plugin (Go's os/exec, which containerd and CRI-O use, clones with
// CLONE_VM|CLONE_VFORK: no copy of this process's page tables, which a
// fork() of this process, API stand-in and all, would add to every exec);
// returns the exit status (stdout discarded into a pipe read fully, as a
// runtime reads it).
int Run(const std::string& bin, const std::vector<std::string>& env,
        const std::string& input, std::string* output = nullptr) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) Die("pipe");
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(bin.c_str()), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) Die("posix_spawn " + bin + ": " + std::strerror(rc));
  // A program that exits without reading its stdin (the empty program)
  // closes the pipe: EPIPE is not a failure.
  const ssize_t written = ::write(in[1], input.data(), input.size());
  if (written != static_cast<ssize_t>(input.size()) &&
      !(written < 0 && errno == EPIPE)) {
    Die("write stdin");
  }
  ::close(in[1]);
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    if (output != nullptr) output->append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double Pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty()
             ? 0
             : v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Daemon {
  pid_t pid = -1;
  ~Daemon() { Stop(); }
  void Stop() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
      g_daemon_pid = -1;
    }
  }
};

void StartDaemon(Daemon& d, const std::filesystem::path& dir,
                 const std::string& sock_dir) {
  std::filesystem::remove_all(sock_dir);
  d.pid = ::fork();
  if (d.pid == 0) {
    int fd = ::open((dir / "daemon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND,
                    0600);
    ::dup2(fd, 2);
    const std::string s = dir.string();
    std::vector<std::string> args;
    if (const char* w = std::getenv("SK_BENCH_DAEMON_WRAPPER")) {
      args = absl::StrSplit(w, ' ', absl::SkipEmpty());
    }
    for (const std::string& a : {std::string(SK_NETATTACHD_BINARY),
                                 std::string("--kubeconfig"),
                                 s + "/kubeconfig",
                                 std::string("--node-name"),
                                 std::string("node-1"),
                                 std::string("--socket-dir"),
                                 sock_dir,
                                 std::string("--config"),
                                 s + "/daemon.json",
                                 std::string("--pod-resources-socket"),
                                 s + "/none.sock",
                                 std::string("--kubelet-checkpoint"),
                                 s + "/none",
                                 std::string("--cni-bin-dir"),
                                 std::string(kCniBin),
                                 std::string("--cni-conf-dir"),
                                 s + "/conf",
                                 std::string("--cache-dir"),
                                 s + "/cache",
                                 std::string("--devinfo-dir"),
                                 s + "/devinfo"}) {
      args.push_back(a);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  g_daemon_pid = d.pid;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(sock_dir + "/netattach.sock")) {
    if (Clock::now() > deadline) Die("daemon did not start; see daemon.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int cycles = argc > 1 ? std::atoi(argv[1]) : 200;
  if (::geteuid() != 0) Die("needs root (network namespaces)");
  ::signal(SIGPIPE, SIG_IGN);  // a plugin may exit before reading stdin
  sk::testing::TempDir dir;
  const std::string tag = std::to_string(::getpid());
  const std::string host_ns = "sknb-host-" + tag, pod_ns = "sknb-pod-" + tag;
  if (Sh("ip netns add " + host_ns) || Sh("ip netns add " + pod_ns) ||
      Sh("ip -n " + host_ns + " link add skm0 type veth peer name skm1") ||
      Sh("ip -n " + host_ns + " link set skm0 up") ||
      Sh("ip -n " + host_ns + " link set lo up")) {
    Die("netns setup");
  }
  struct Cleanup {
    std::string a, b;
    ~Cleanup() {
      Sh("ip netns del " + a);
      Sh("ip netns del " + b);
    }
  } cleanup{host_ns, pod_ns};
  auto host = sk::net::OpenNetns("/run/netns/" + host_ns);
  if (!host.ok() || ::setns(host->get(), CLONE_NEWNET) != 0) Die("setns");

  absl::StatusOr<TestPki> pki = TestPki::Create();
  if (!pki.ok()) Die(std::string(pki.status().message()));
  auto api = ApiServerStandIn::Start(*pki, {.tokens = {{"tok", "bench"}}});
  if (!api.ok()) Die(std::string(api.status().message()));
  for (const char* d : {"conf", "cache", "ipam", "devinfo"}) {
    std::filesystem::create_directories(dir / d);
  }
  std::ofstream(dir / "kubeconfig")
      << "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n"
         "- name: k\n  cluster:\n    server: "
      << (*api)->url() << "\n    certificate-authority-data: "
      << absl::Base64Escape(pki->ca_pem())
      << "\nusers:\n- name: u\n  user:\n    token: tok\ncontexts:\n"
         "- name: c\n  context:\n    cluster: k\n    user: u\n";
  const std::string delegate =
      R"({"cniVersion":"1.0.0","name":"macnet","type":"macvlan",)"
      R"("master":"skm0","mode":"bridge","ipam":{"type":"host-local",)"
      R"("subnet":"10.97.0.0/16","dataDir":")" +
      (dir / "ipam").string() + R"("}})";
  std::ofstream(dir / "conf/10-macnet.conf") << delegate;
  // A node's conf dir is written long before its pods come. The daemon
  // does not keep what it read from a file modified less than 2 s before
  // (conf_cache.h, git's "racily clean" rule), so the cycles start once the
  // file is older than that, or the first ~2 s of every run would measure
  // a conf dir just written.
  const auto conf_written = Clock::now();
  // At verbose, the daemon logs each call's time and its delegates' part.
  std::ofstream(dir / "daemon.json")
      << R"({"clusterNetwork":"macnet","logLevel":"verbose","logFile":")"
      << (dir / "netattachd.log").string() << R"("})";
  (*api)->Put("/api/v1/namespaces/bench/pods/p0",
              nlohmann::json::parse(R"({"metadata":{"uid":"u0"},)"
                                    R"("spec":{"nodeName":"node-1"}})"));

  Daemon daemon;
  const std::string sock_dir = (dir / "sock").string();
  StartDaemon(daemon, dir.path(), sock_dir);
  std::this_thread::sleep_until(conf_written + std::chrono::milliseconds(2100));

  const std::string shim_conf =
      R"({"cniVersion":"1.0.0","name":"sriovkit","type":"sriov-netattach",)"
      R"("socketDir":")" +
      sock_dir + R"("})";
  auto env = [&](const char* cmd, int i) {
    return std::vector<std::string>{
        absl::StrCat("CNI_COMMAND=", cmd),
        absl::StrCat("CNI_CONTAINERID=c", i),
        "CNI_NETNS=/run/netns/" + pod_ns,
        "CNI_IFNAME=eth0",
        absl::StrCat("CNI_PATH=", kCniBin),
        "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p0;"
        "K8S_POD_INFRA_CONTAINER_ID=c;K8S_POD_UID=u0"};
  };
  const std::string macvlan = std::string(kCniBin) + "/macvlan";
  absl::StatusOr<sk::kube::RestConfig> rest =
      sk::kube::LoadKubeconfig(dir / "kubeconfig");
  if (!rest.ok()) Die(std::string(rest.status().message()));
  auto client = sk::kube::Client::Create(*std::move(rest));
  if (!client.ok()) Die(std::string(client.status().message()));
  const std::string pod_path = "/api/v1/namespaces/bench/pods/p0";
  constexpr char kStatusKey[] = "k8s.v1.cni.cncf.io/network-status";
  std::string status_value;  // what the daemon wrote, once it has
  std::vector<double> meta_ms, direct_ms, shim_ms, patch_ms, empty_ms;
  // Per cycle, meta minus direct: ADD+DEL, ADD, DEL.
  std::vector<double> pair_ms, add_ms, del_ms;
  // Per cycle, the meta pair's wall time: ADD, DEL (ms).
  std::map<int, std::pair<double, double>> meta_wall;
  for (int i = -5; i < cycles; ++i) {  // 5 warm-up cycles, not counted
    // The two pairs alternate which goes first, so that neither always
    // follows the other's link deletion (whose RCU work the kernel finishes
    // in the background) or the PATCH.
    Clock::duration meta_add{}, meta_del{}, dir_add{}, dir_del{};
    auto pair = [&](const std::string& bin, const std::string& conf, int id,
                    Clock::duration& add, Clock::duration& del) {
      auto a = Clock::now();
      std::string result;
      if (Run(bin, env("ADD", id), conf, &result) != 0)
        Die(bin + " ADD failed");
      add = Clock::now() - a;
      // As libcni's DelNetwork: the cached ADD result as prevResult.
      nlohmann::json del_conf = nlohmann::json::parse(conf);
      del_conf["prevResult"] = nlohmann::json::parse(result);
      const std::string del_input = del_conf.dump();
      auto b = Clock::now();  // the runtime's own JSON work is not timed
      if (Run(bin, env("DEL", id), del_input) != 0) Die(bin + " DEL failed");
      del = Clock::now() - b;
    };
    auto meta = [&] {
      pair(SK_NETATTACH_SHIM_BINARY, shim_conf, i, meta_add, meta_del);
    };
    auto direct = [&] {
      pair(macvlan, delegate, 100000 + i, dir_add, dir_del);
    };
    if (i % 2 == 0) {
      meta();
      direct();
    } else {
      direct();
      meta();
    }
    auto t2 = Clock::now();
    if (Run(SK_NETATTACH_SHIM_BINARY, env("VERSION", i), shim_conf) != 0 ||
        Run(SK_NETATTACH_SHIM_BINARY, env("VERSION", i), shim_conf) != 0) {
      Die("shim VERSION failed");
    }
    auto t3 = Clock::now();
    if (Run(SK_EXEC_FLOOR_EMPTY_BINARY, env("VERSION", i), shim_conf) != 0 ||
        Run(SK_EXEC_FLOOR_EMPTY_BINARY, env("VERSION", i), shim_conf) != 0) {
      Die("the empty program failed");
    }
    auto t3b = Clock::now();
    if (status_value.empty()) {
      absl::StatusOr<nlohmann::json> pod = (*client)->Get(pod_path);
      if (pod.ok()) {
        status_value = pod->value("/metadata/annotations"_json_pointer,
                                  nlohmann::json::object())
                           .value(kStatusKey, "");
      }
      if (status_value.empty()) Die("the daemon wrote no network-status");
    }
    auto t4 = Clock::now();
    if (!(*client)
             ->SetAnnotation(pod_path, "status", kStatusKey, status_value)
             .ok()) {
      Die("network-status PATCH failed");
    }
    auto t5 = Clock::now();
    if (i >= 0) {
      auto ms = [](Clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
      };
      meta_wall[i] = {ms(meta_add), ms(meta_del)};
      meta_ms.push_back(ms(meta_add + meta_del));
      direct_ms.push_back(ms(dir_add + dir_del));
      pair_ms.push_back(ms(meta_add + meta_del) - ms(dir_add + dir_del));
      add_ms.push_back(ms(meta_add) - ms(dir_add));
      del_ms.push_back(ms(meta_del) - ms(dir_del));
      shim_ms.push_back(ms(t3 - t2));
      empty_ms.push_back(ms(t3b - t3));
      patch_ms.push_back(ms(t5 - t4));
    }
  }
  // The daemon's log: per call, its time and the delegates' part. The meta
  // layer's own time in a cycle is the shim's wall time less the delegates'
  // (exact: the same delegate run on both sides of the subtraction).
  std::vector<double> own_ms, daemon_own_ms;
  // The same per command: where the rest is (ADD writes the status, DEL
  // reads the saved list and the result cache).
  std::vector<double> own_add_ms, own_del_ms, daemon_add_ms, daemon_del_ms;
  {
    std::map<int, std::array<double, 4>> calls;  // handle/deleg ADD, DEL
    std::ifstream log(dir / "netattachd.log");
    static const std::regex kLine(
        R"((ADD|DEL) containerID=c(-?\d+) .*: ok in ([\d.]+) ms )"
        R"(\(delegates ([\d.]+) ms\))");
    std::smatch mt;
    for (std::string line; std::getline(log, line);) {
      if (!std::regex_search(line, mt, kLine)) continue;
      const size_t at = mt[1] == "ADD" ? 0 : 2;
      auto& c = calls[std::stoi(mt[2])];
      c[at] = std::stod(mt[3]);
      c[at + 1] = std::stod(mt[4]);
    }
    for (const auto& [cycle, wall] : meta_wall) {
      auto it = calls.find(cycle);
      if (it == calls.end())
        Die("no log line for cycle " + std::to_string(cycle));
      const auto& c = it->second;
      own_ms.push_back(wall.first - c[1] + wall.second - c[3]);
      daemon_own_ms.push_back(c[0] - c[1] + c[2] - c[3]);
      own_add_ms.push_back(wall.first - c[1]);
      own_del_ms.push_back(wall.second - c[3]);
      daemon_add_ms.push_back(c[0] - c[1]);
      daemon_del_ms.push_back(c[2] - c[3]);
    }
  }
  const double m = Median(meta_ms), d = Median(direct_ms);
  const double floor = Median(shim_ms) + Median(patch_ms);
  std::printf(
      "pod ADD+DEL, %d cycles interleaved (median / p90 ms):\n"
      "  via sriov-netattach + daemon : %7.2f / %7.2f\n"
      "  macvlan exec'd directly      : %7.2f / %7.2f\n"
      "  meta-layer overhead (median) : %7.2f ms  (ratio %.2fx)\n"
      "  floor: 2 shim execs (VERSION): %7.2f / %7.2f\n"
      "    of which the empty program : %7.2f / %7.2f  (linked as the shim "
      "is)\n"
      "  floor: network-status PATCH  : %7.2f / %7.2f\n"
      "  overhead above the floor     : %7.2f ms  (floor %.2f ms)\n"
      "  meta minus direct in the same cycle (median / p90 ms):\n"
      "    ADD+DEL                    : %7.2f / %7.2f\n"
      "    ADD (1 shim exec + PATCH)  : %7.2f / %7.2f\n"
      "    DEL (1 shim exec)          : %7.2f / %7.2f\n"
      "  the meta layer's own time, exact (meta wall time less the\n"
      "  delegates' time the daemon measured, same call; median / p90 ms):\n"
      "    ADD+DEL                    : %7.2f / %7.2f  (floor %.2f ms)\n"
      "    of which in the daemon     : %7.2f / %7.2f\n"
      "    ADD alone                  : %7.2f / %7.2f  (in the daemon %.2f)\n"
      "    DEL alone                  : %7.2f / %7.2f  (in the daemon %.2f)\n",
      cycles, m, Pct(meta_ms, 0.9), d, Pct(direct_ms, 0.9), m - d, m / d,
      Median(shim_ms), Pct(shim_ms, 0.9), Median(empty_ms), Pct(empty_ms, 0.9),
      Median(patch_ms), Pct(patch_ms, 0.9), m - d - floor, floor,
      Median(pair_ms), Pct(pair_ms, 0.9), Median(add_ms), Pct(add_ms, 0.9),
      Median(del_ms), Pct(del_ms, 0.9), Median(own_ms), Pct(own_ms, 0.9), floor,
      Median(daemon_own_ms), Pct(daemon_own_ms, 0.9), Median(own_add_ms),
      Pct(own_add_ms, 0.9), Median(daemon_add_ms), Median(own_del_ms),
      Pct(own_del_ms, 0.9), Median(daemon_del_ms));
  if (std::getenv("SK_BENCH_DAEMON_WRAPPER") != nullptr) {
    daemon.Stop();  // the wrapper writes its profile as the daemon exits
    std::printf("daemon ran under SK_BENCH_DAEMON_WRAPPER: memory skipped\n");
    return 0;
  }
  const long rss_empty = RssKiB(daemon.pid);
  daemon.Stop();

  // 5,000 NADs and 500 pods on this node (plus 500 on another, filtered out
  // by the field selector), then a fresh daemon syncs its caches.
  size_t bytes = 0;
  for (int i = 0; i < 5000; ++i) {
    nlohmann::json nad = nlohmann::json::parse(
        R"({"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition",
            "metadata":{"annotations":{"k8s.v1.cni.cncf.io/resourceName":
              "example.com/sriov_a"}},"spec":{}})");
    nad["spec"]["config"] = absl::StrCat(
        R"({"cniVersion":"1.0.0","name":"net-)", i,
        R"(","type":"sriov","vlan":)", i % 4095,
        R"(,"spoofchk":"on","trust":"off","ipam":{"type":"host-local","subnet":"10.)",
        i % 250, ".", i / 250, R"(.0/24"}})");
    (*api)->Put(absl::StrCat("/apis/k8s.cni.cncf.io/v1/namespaces/ns", i % 50,
                             "/network-attachment-definitions/net-", i),
                nad);
    bytes +=
        (*api)
            ->Get(absl::StrCat("/apis/k8s.cni.cncf.io/v1/namespaces/ns", i % 50,
                               "/network-attachment-definitions/net-", i))
            ->dump()
            .size();
  }
  for (int i = 0; i < 1000; ++i) {
    nlohmann::json pod = nlohmann::json::parse(
        R"({"metadata":{"labels":{"kubevirt.io":"virt-launcher"},"annotations":{
            "k8s.v1.cni.cncf.io/networks":"[{\"name\":\"net-1\",\"interface\":\"net1\"}]"}},
            "spec":{"containers":[{"name":"compute","image":"virt-launcher",
              "resources":{"limits":{"example.com/sriov_a":"1"}}}]}})");
    pod["spec"]["nodeName"] = i % 2 ? "node-2" : "node-1";
    const std::string path =
        absl::StrCat("/api/v1/namespaces/ns", i % 50, "/pods/vm-", i);
    (*api)->Put(path, pod);
    if (i % 2 == 0) bytes += (*api)->Get(path)->dump().size();
  }
  StartDaemon(daemon, dir.path(), sock_dir);  // serves after the caches sync
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long rss_full = RssKiB(daemon.pid);
  std::printf(
      "daemon VmRSS: %ld KiB with empty caches, %ld KiB with 5000 NADs + 500 "
      "pods cached (+%ld KiB; the objects are %zu KiB of JSON)\n",
      rss_empty, rss_full, rss_full - rss_empty, bytes / 1024);
  double load[3] = {0, 0, 0};
  if (::getloadavg(load, 3) == 3) {
    std::printf("load average at the end: %.2f %.2f %.2f\n", load[0], load[1],
                load[2]);
  }
  return 0;
}
