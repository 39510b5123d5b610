// Load tier: 100 pods ADD at once through the meta-plugin, competing for 7
// VFs. Each ADD goes the whole production path: the `sriov-netattach` shim
// (as a runtime runs it) -> `sriovkit-netattachd` (pod, NAD and network
// status in the HTTPS API-server stand-in, devices from a kubelet
// checkpoint) -> the real `sriov` plugin code as a delegate process
// (tools/sriov-fake-pf: sk::cni::Plugin with the PF's netlink answered by a
// shared-file model, the only part standing in for hardware; fixture sysfs
// with the VFs on vfio-pci, KubeVirt's path; the real CNI state dir and its
// locks). The checkpoint gives pod i the VF i % 7, as a kubelet that handed
// one VF to several pods would. Asserted: each VF goes to exactly one pod,
// every loser fails with code 11 naming the VF, relayed through the shim,
// and no loser leaves a meta-plugin cache, a delegate list or an sriov
// attachment behind. The duration is printed for docs/development.md,
// never asserted.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "lib/cni/state.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_pf_netlink.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace sk::netattach {
namespace {

using ::sk::testing::ApiServerStandIn;
using ::sk::testing::RunShell;
using ::sk::testing::TempDir;
using ::sk::testing::TestPki;
using ::testing::HasSubstr;

constexpr int kPods = 100;
constexpr int kVfs = 7;

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string PodName(int i) { return "virt-launcher-" + std::to_string(i); }

class NetattachContentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (netns)";
    tag_ = std::to_string(::getpid());
    for (int i = 0; i < kPods; ++i) {
      std::string ns = "skld-" + tag_ + "-" + std::to_string(i);
      ASSERT_EQ(Sh("ip netns add " + ns), 0) << ns;
      netns_.push_back(ns);
    }
    for (const char* d : {"conf", "cache", "sock", "state", "bin", "root"})
      std::filesystem::create_directories(dir_ / d);
    // One igb PF with 7 VFs on vfio-pci, and its netlink model.
    sk::testing::FakeSysfsBuilder b(dir_ / "root");
    sk::testing::FakeCardOptions o;
    o.vf_driver = "vfio-pci";
    o.ports = 1;
    o.num_vfs = kVfs;
    card_ = sk::testing::AddIntel82576(b, o)[0];
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(card_.vfs.size(), static_cast<size_t>(kVfs));
    sk::testing::FakePfNetlink(dir_ / "pf.json").AddPf(card_.netdev, 7, kVfs);
    std::filesystem::create_symlink("/usr/lib/cni/loopback",
                                    dir_ / "bin/loopback");
    std::filesystem::create_symlink(SK_SRIOV_FAKE_PF_BINARY,
                                    dir_ / "bin/sriov");

    CreatePki();
    ApiServerStandIn::Options so;
    so.tokens = {{"node-token-1", "system:serviceaccount:sriovkit:netattach"}};
    auto api = ApiServerStandIn::Start(pki_, so);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);
    std::ofstream(dir_ / "kubeconfig")
        << "apiVersion: v1\nkind: Config\ncurrent-context: node\n"
           "clusters:\n- name: lab\n  cluster:\n    server: "
        << api_->url() << "\n    certificate-authority-data: "
        << absl::Base64Escape(pki_.ca_pem())
        << "\nusers:\n- name: netattach\n  user:\n    token: node-token-1\n"
           "contexts:\n- name: node\n  context:\n    cluster: lab\n"
           "    user: netattach\n";
    std::ofstream(dir_ / "conf/10-cluster.conflist")
        << R"({"cniVersion":"1.0.0","name":"cluster",)"
           R"("plugins":[{"type":"loopback"}]})";
    std::ofstream(dir_ / "daemon.json") << R"({"clusterNetwork":"cluster"})";
    const std::string nad_path =
        "/apis/k8s.cni.cncf.io/v1/namespaces/vms/"
        "network-attachment-definitions/sriov-net";
    nlohmann::json nad = {
        {"apiVersion", "k8s.cni.cncf.io/v1"},
        {"kind", "NetworkAttachmentDefinition"},
        {"metadata",
         {{"annotations",
           {{"k8s.v1.cni.cncf.io/resourceName", "example.com/sriov_a"}}}}},
        {"spec",
         {{"config", R"({"cniVersion":"1.0.0","type":"sriov",)"
                     R"("name":"sriov-net"})"}}}};
    api_->Put(nad_path, nad);
    nlohmann::json entries = nlohmann::json::array();
    for (int i = 0; i < kPods; ++i) {
      api_->Put(
          "/api/v1/namespaces/vms/pods/" + PodName(i),
          {{"metadata",
            {{"uid", "uid-" + std::to_string(i)},
             {"annotations", {{"k8s.v1.cni.cncf.io/networks", "sriov-net"}}}}},
           {"spec", {{"nodeName", "node-1"}}}});
      entries.push_back({{"PodUID", "uid-" + std::to_string(i)},
                         {"ContainerName", "compute"},
                         {"ResourceName", "example.com/sriov_a"},
                         {"DeviceIDs", {{"-1", {card_.vfs[i % kVfs]}}}},
                         {"AllocResp", ""}});
    }
    std::ofstream(dir_ / "checkpoint") << nlohmann::json{
        {"Data",
         {{"PodDeviceEntries", entries},
          {"RegisteredDevices", nlohmann::json::object()}}},
        {"Checksum", 1}}.dump();
    StartDaemon();
  }

  void TearDown() override {
    if (daemon_ > 0) {
      ::kill(daemon_, SIGTERM);
      ::waitpid(daemon_, nullptr, 0);
    }
    api_.reset();
    for (const std::string& ns : netns_) Sh("ip netns del " + ns);
  }

  void CreatePki() {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::move(*pki);
  }

  void StartDaemon() {
    const std::string log = (dir_ / "daemon.log").string();
    const std::string d = dir_.path().string();
    daemon_ = ::fork();
    ASSERT_GE(daemon_, 0);
    if (daemon_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 2);
      // Inherited by the delegates the daemon runs.
      ::setenv("SRIOVKIT_SYSFS_ROOT", (d + "/root").c_str(), 1);
      ::setenv("SRIOVKIT_CNI_STATE_DIR", (d + "/state").c_str(), 1);
      ::setenv("SK_FAKE_PF_STATE", (d + "/pf.json").c_str(), 1);
      ::execl(SK_NETATTACHD_BINARY, "sriovkit-netattachd", "--kubeconfig",
              (d + "/kubeconfig").c_str(), "--node-name", "node-1",
              "--socket-dir", (d + "/sock").c_str(), "--config",
              (d + "/daemon.json").c_str(), "--pod-resources-socket",
              (d + "/no-kubelet.sock").c_str(), "--kubelet-checkpoint",
              (d + "/checkpoint").c_str(), "--cni-bin-dir",
              (d + "/bin").c_str(), "--cni-conf-dir", (d + "/conf").c_str(),
              "--cache-dir", (d + "/cache").c_str(), "--devinfo-dir",
              (d + "/devinfo").c_str(), nullptr);
      ::_exit(127);
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(dir_ / "sock/netattach.sock")) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << Slurp(dir_ / "daemon.log");
      int st = 0;
      ASSERT_EQ(::waitpid(daemon_, &st, WNOHANG), 0)
          << "daemon exited: " << Slurp(dir_ / "daemon.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  ::sk::testing::ShellResult Add(int i) {
    return RunShell(absl::StrCat(
        "CNI_COMMAND=ADD CNI_CONTAINERID=cid-", i, " CNI_NETNS=/run/netns/",
        netns_[i], " CNI_IFNAME=eth0 CNI_PATH=", (dir_ / "bin").string(),
        " CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=vms;K8S_POD_NAME=",
        PodName(i), ";K8S_POD_INFRA_CONTAINER_ID=cid-", i, ";K8S_POD_UID=uid-",
        i, "' timeout 60 ", SK_NETATTACH_SHIM_BINARY, " < ",
        (dir_ / "shim.json").string()));
  }

  TempDir dir_;
  std::string tag_;
  std::vector<std::string> netns_;
  sk::testing::FakePf card_;
  TestPki pki_;
  std::unique_ptr<ApiServerStandIn> api_;
  pid_t daemon_ = -1;
};

TEST_F(NetattachContentionTest, HundredAddsForSevenVfsThroughTheMetaPlugin) {
  std::ofstream(dir_ / "shim.json")
      << R"({"cniVersion":"1.0.0","name":"sriovkit","type":"sriov-netattach",)"
         R"("socketDir":")"
      << (dir_ / "sock").string() << R"("})";
  std::vector<::sk::testing::ShellResult> results(kPods);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      results[i] = Add(i);
    });
  }
  while (ready.load() < kPods) std::this_thread::yield();
  go = true;
  for (std::thread& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  std::vector<int> winners_per_vf(kVfs, 0);
  std::map<std::string, int> winner_of;  // VF -> pod
  int losers = 0;
  for (int i = 0; i < kPods; ++i) {
    const auto& r = results[i];
    const std::string& vf = card_.vfs[i % kVfs];
    SCOPED_TRACE(absl::StrCat("pod ", i, " VF ", vf, ": ", r.stdout_text));
    if (r.exit_code == 0) {
      ++winners_per_vf[i % kVfs];
      winner_of[vf] = i;
      continue;
    }
    ++losers;
    ASSERT_EQ(r.exit_code, 1) << r.stderr_text;
    nlohmann::json err = nlohmann::json::parse(r.stdout_text, nullptr, false);
    ASSERT_TRUE(err.is_object());
    EXPECT_EQ(err["code"], 11);
    const std::string msg = err.value("msg", "");
    EXPECT_THAT(msg, HasSubstr("pci address " + vf + " is already allocated"));
    EXPECT_THAT(msg, HasSubstr("sriov-net"));
    // Nothing of the loser stays: no delegate list, no result cache.
    EXPECT_FALSE(
        std::filesystem::exists(dir_ / "cache" / ("cid-" + std::to_string(i))));
    if (std::filesystem::exists(dir_ / "cache/results")) {
      for (const auto& e :
           std::filesystem::directory_iterator(dir_ / "cache/results")) {
        EXPECT_THAT(
            e.path().filename().string(),
            ::testing::Not(HasSubstr("cid-" + std::to_string(i) + "-")));
      }
    }
  }
  EXPECT_EQ(winners_per_vf, std::vector<int>(kVfs, 1));
  EXPECT_EQ(losers, kPods - kVfs);

  // The sriov plugin's records: one attachment per VF, the winner's.
  cni::StateDir state(dir_ / "state");
  auto caches = state.ListCaches();
  ASSERT_TRUE(caches.ok()) << caches.status();
  EXPECT_EQ(caches->size(), static_cast<size_t>(kVfs));
  for (const auto& [vf, pod] : winner_of) {
    nlohmann::json status = nlohmann::json::parse(
        (*api_->Get("/api/v1/namespaces/vms/pods/" +
                    PodName(pod)))["metadata"]["annotations"]
                                  ["k8s.v1.cni.cncf.io/network-status"]
                                      .get<std::string>());
    ASSERT_EQ(status.size(), 2u) << status.dump();
    EXPECT_EQ(status[1]["name"], "vms/sriov-net");
  }
  std::cout << "[ figures ] " << kPods << " concurrent ADDs for " << kVfs
            << " VFs through the meta-plugin: " << kVfs << " winners, "
            << losers << " code-11 losers, in " << secs << " s\n";
}

}  // namespace
}  // namespace sk::netattach
