// End to end through the real executables (root): the `sriov-netattach`
// shim, run as a CNI runtime runs it, forwards to a running
// `sriovkit-netattachd`, which reads the pod and its
// NetworkAttachmentDefinition from the HTTPS API-server stand-in (real TLS,
// bearer token), the pod's devices from a kubelet checkpoint file, runs
// Debian's real delegates (bridge + host-local for the cluster network, macvlan
// + host-local for the NAD) in a real pod netns, and patches network-status
// onto the pod in the stand-in. Everything runs in a private "host" netns (the
// stand-in listens on its loopback; the daemon is started from it).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "lib/net/netns.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_device_plugin.h"
#include "tests/testing/kubelet_stand_in.h"
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

constexpr char kCniBin[] = "/usr/lib/cni";
constexpr char kMac[] = "02:aa:bb:cc:dd:01";
constexpr char kDevice[] = "0000:00:0a.1";
constexpr char kPodPath[] = "/api/v1/namespaces/vms/pods/virt-launcher-a";

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class NetattachdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(std::filesystem::exists(std::string(kCniBin) + "/macvlan"))
        << "containernetworking-plugins is not installed";
    const std::string tag = std::to_string(::getpid());
    host_ns_ = "sknd-host-" + tag;
    pod_ns_ = "sknd-pod-" + tag;
    ASSERT_EQ(Sh("ip netns add " + host_ns_), 0);
    ASSERT_EQ(Sh("ip netns add " + pod_ns_), 0);
    ASSERT_EQ(
        Sh("ip -n " + host_ns_ + " link add skm0 type veth peer name skm1"), 0);
    for (const char* l : {"lo", "skm0", "skm1"}) {
      ASSERT_EQ(Sh("ip -n " + host_ns_ + " link set " + l + " up"), 0);
    }
    absl::StatusOr<UniqueFd> orig = net::OpenCurrentNetns();
    ASSERT_TRUE(orig.ok());
    orig_ns_ = std::move(*orig);
    absl::StatusOr<UniqueFd> host = net::OpenNetns("/run/netns/" + host_ns_);
    ASSERT_TRUE(host.ok());
    ASSERT_EQ(::setns(host->get(), CLONE_NEWNET), 0);
    entered_ = true;

    // The API server stand-in, on this netns's loopback.
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::move(*pki);
    ApiServerStandIn::Options so;
    so.tokens = {{"node-token-1", "system:serviceaccount:sriovkit:netattach"}};
    auto api = ApiServerStandIn::Start(pki_, so);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);

    for (const char* d : {"conf", "cache", "ipam", "devinfo/dp", "sock"}) {
      std::filesystem::create_directories(dir_ / d);
    }
    std::ofstream(dir_ / "kubeconfig")
        << "apiVersion: v1\nkind: Config\ncurrent-context: node\n"
           "clusters:\n- name: lab\n  cluster:\n    server: "
        << api_->url() << "\n    certificate-authority-data: "
        << absl::Base64Escape(pki_.ca_pem())
        << "\nusers:\n- name: netattach\n  user:\n    token: node-token-1\n"
           "contexts:\n- name: node\n  context:\n    cluster: lab\n"
           "    user: netattach\n";
    std::ofstream(dir_ / "conf/10-cluster.conflist") << R"({
      "cniVersion":"1.0.0","name":"cluster","plugins":[
       {"type":"bridge","bridge":"sknd0","isGateway":true,
        "isDefaultGateway":true,
        "ipam":{"type":"host-local","subnet":"10.98.0.0/24",
                "dataDir":")" + (dir_ / "ipam").string() + R"("}}]})";
    std::ofstream(dir_ / "daemon.json") << R"({"clusterNetwork":"cluster"})";
    // The device plugin's device-information file for the VF.
    std::ofstream(
        dir_ / "devinfo/dp" /
        (std::string("example.com-sriov_a-") + kDevice + "-device.json"))
        << R"({"type":"pci","version":"1.1.0","pci":{"pci-address":")"
        << kDevice << R"("}})";
    // The kubelet's checkpoint (no PodResources socket on this "node").
    std::ofstream(dir_ / "checkpoint")
        << R"({"Data":{"PodDeviceEntries":[{"PodUID":"uid-a",)"
           R"("ContainerName":"compute","ResourceName":"example.com/sriov_a",)"
           R"("DeviceIDs":{"-1":[")"
        << kDevice
        << R"("]},"AllocResp":""}],"RegisteredDevices":{}},)"
           R"("Checksum":1})";

    api_->Put(
        "/apis/k8s.cni.cncf.io/v1/namespaces/vms/"
        "network-attachment-definitions/data-net",
        nlohmann::json::parse(
            R"({"apiVersion":"k8s.cni.cncf.io/v1",
                "kind":"NetworkAttachmentDefinition",
                "metadata":{"annotations":{
                  "k8s.v1.cni.cncf.io/resourceName":"example.com/sriov_a"}},
                "spec":{}})"));
    nlohmann::json nad = *api_->Get(
        "/apis/k8s.cni.cncf.io/v1/namespaces/vms/"
        "network-attachment-definitions/data-net");
    nad["spec"]["config"] =
        R"({"cniVersion":"1.0.0","type":"macvlan","master":"skm0",)"
        R"("mode":"bridge","capabilities":{"mac":true,"deviceID":true},)"
        R"("ipam":{"type":"host-local","subnet":"10.99.0.0/24","dataDir":")" +
        (dir_ / "ipam").string() + R"("}})";
    api_->Put(
        "/apis/k8s.cni.cncf.io/v1/namespaces/vms/"
        "network-attachment-definitions/data-net",
        nad);
    api_->Put(kPodPath, nlohmann::json::parse(std::string(R"({
                "metadata":{"uid":"uid-a","annotations":{
                  "k8s.v1.cni.cncf.io/networks":
                    "[{\"name\":\"data-net\",\"interface\":\"net1\",\"mac\":\")") +
                                              kMac + R"(\"}]"}},
                "spec":{"nodeName":"node-1"}})"));
  }

  void TearDown() override {
    StopDaemon();
    api_.reset();
    if (entered_) ::setns(orig_ns_.get(), CLONE_NEWNET);
    if (!pod_ns_.empty()) Sh("ip netns del " + pod_ns_);
    if (!host_ns_.empty()) Sh("ip netns del " + host_ns_);
  }

  void StartDaemon() {
    const std::string log = (dir_ / "daemon.log").string();
    daemon_ = ::fork();
    ASSERT_GE(daemon_, 0);
    if (daemon_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 2);
      std::string d = dir_.path().string();
      ::execl(SK_NETATTACHD_BINARY, "sriovkit-netattachd", "--kubeconfig",
              (d + "/kubeconfig").c_str(), "--node-name", "node-1",
              "--socket-dir", (d + "/sock").c_str(), "--config",
              (d + "/daemon.json").c_str(), "--pod-resources-socket",
              (d + "/" + pod_resources_socket_).c_str(), "--kubelet-checkpoint",
              (d + "/checkpoint").c_str(), "--cni-bin-dir", kCniBin,
              "--cni-conf-dir", (d + "/conf").c_str(), "--cache-dir",
              (d + "/cache").c_str(), "--devinfo-dir", (d + "/devinfo").c_str(),
              nullptr);
      ::_exit(127);
    }
    // Serving once the socket exists (bounded).
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

  // SIGTERM, then the exit status (-1 when not running).
  int StopDaemon() {
    if (daemon_ <= 0) return -1;
    ::kill(daemon_, SIGTERM);
    int st = 0;
    ::waitpid(daemon_, &st, 0);
    daemon_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  ::sk::testing::ShellResult Shim(const std::string& command) {
    const std::string conf = R"({"cniVersion":"1.0.0","name":"sriovkit",)"
                             R"("type":"sriov-netattach","socketDir":")" +
                             (dir_ / "sock").string() + R"("})";
    std::ofstream(dir_ / "shim.json") << conf;
    return RunShell(absl::StrCat(
        "CNI_COMMAND=", command, " CNI_CONTAINERID=cid-", pod_ns_,
        " CNI_NETNS=/run/netns/", pod_ns_,
        " CNI_IFNAME=eth0 CNI_PATH=", kCniBin,
        " CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=vms;"
        "K8S_POD_NAME=virt-launcher-a;K8S_POD_INFRA_CONTAINER_ID=cid;"
        "K8S_POD_UID=uid-a' ",
        SK_NETATTACH_SHIM_BINARY, " < ", (dir_ / "shim.json").string()));
  }

  std::string InPod(const std::string& cmd) {
    return RunShell("ip -n " + pod_ns_ + " " + cmd).stdout_text;
  }

  TempDir dir_;
  std::string host_ns_, pod_ns_;
  UniqueFd orig_ns_;
  bool entered_ = false;
  TestPki pki_;
  std::unique_ptr<ApiServerStandIn> api_;
  pid_t daemon_ = -1;
  std::string pod_resources_socket_ = "no-kubelet.sock";
};

TEST_F(NetattachdTest, AddWritesNetworkStatusAndDelUndoesEverything) {
  StartDaemon();
  auto add = Shim("ADD");
  ASSERT_EQ(add.exit_code, 0)
      << add.stdout_text << add.stderr_text << Slurp(dir_ / "daemon.log");
  // The cluster network's result, on CNI_IFNAME.
  nlohmann::json result = nlohmann::json::parse(add.stdout_text);
  EXPECT_EQ(result["cniVersion"], "1.0.0");
  ASSERT_TRUE(result["ips"].is_array());
  EXPECT_THAT(result["ips"][0]["address"].get<std::string>(),
              HasSubstr("10.98.0."));

  // The pod netns holds both interfaces, net1 with the requested MAC.
  EXPECT_THAT(InPod("link show eth0"), HasSubstr("eth0"));
  EXPECT_THAT(InPod("link show net1"), HasSubstr(kMac));
  EXPECT_THAT(InPod("-4 addr show net1"), HasSubstr("10.99.0."));

  // network-status on the pod in the API, as KubeVirt reads it.
  std::optional<nlohmann::json> pod = api_->Get(kPodPath);
  ASSERT_TRUE(pod.has_value());
  const std::string status_text =
      (*pod)["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"];
  nlohmann::json status = nlohmann::json::parse(status_text);
  ASSERT_EQ(status.size(), 2u) << status_text;
  EXPECT_EQ(status[0]["name"], "cluster");
  EXPECT_EQ(status[0]["interface"], "eth0");
  EXPECT_EQ(status[0]["default"], true);
  EXPECT_EQ(status[1]["name"], "vms/data-net");
  EXPECT_EQ(status[1]["interface"], "net1");
  EXPECT_EQ(status[1]["mac"], kMac);
  EXPECT_THAT(status[1]["ips"][0].get<std::string>(), HasSubstr("10.99.0."));
  EXPECT_EQ(status[1]["device-info"]["pci"]["pci-address"], kDevice);
  // Written through the status subresource with the node's identity.
  bool patched = false;
  for (const auto& r : api_->requests()) {
    if (r.method == "PATCH" && r.path == std::string(kPodPath) + "/status") {
      patched = true;
      EXPECT_EQ(r.user, "system:serviceaccount:sriovkit:netattach");
    }
  }
  EXPECT_TRUE(patched);

  // The delegate got the pod's device as deviceID (libcni-style cache).
  bool cached_device = false;
  for (const auto& e :
       std::filesystem::directory_iterator(dir_ / "cache/results")) {
    nlohmann::json c = nlohmann::json::parse(Slurp(e.path()));
    std::string conf;
    ASSERT_TRUE(absl::Base64Unescape(c["config"].get<std::string>(), &conf));
    if (conf.find(kDevice) != std::string::npos) cached_device = true;
  }
  EXPECT_TRUE(cached_device);

  auto del = Shim("DEL");
  ASSERT_EQ(del.exit_code, 0) << del.stdout_text << Slurp(dir_ / "daemon.log");
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show net1").exit_code, 1);
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show eth0").exit_code, 1);
  // A second DEL (the runtime retries) succeeds.
  EXPECT_EQ(Shim("DEL").exit_code, 0);

  EXPECT_EQ(StopDaemon(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sock/netattach.sock"));
  // No daemon: the shim fails fast with code 11 naming the socket.
  auto down = Shim("ADD");
  EXPECT_EQ(down.exit_code, 1);
  nlohmann::json err = nlohmann::json::parse(down.stdout_text);
  EXPECT_EQ(err["code"], 11);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr((dir_ / "sock/netattach.sock").string()));
}

TEST_F(NetattachdTest, UnknownNetworkFailsNamingItAndLeavesNothing) {
  nlohmann::json pod = *api_->Get(kPodPath);
  pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"] =
      "data-net,missing-net";
  api_->Put(kPodPath, pod);
  StartDaemon();
  auto add = Shim("ADD");
  ASSERT_EQ(add.exit_code, 1) << add.stdout_text;
  nlohmann::json err = nlohmann::json::parse(add.stdout_text);
  EXPECT_THAT(err["msg"].get<std::string>(), HasSubstr("missing-net"));
  // The cluster network and data-net were rolled back.
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show eth0").exit_code, 1);
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show net1").exit_code, 1);
}

// The kubelet's PodResources API answers (the stand-in allocated two VFs of
// one pool to the pod, listed out of order): the two networks of that pool
// get them sorted, in annotation order, as Multus hands them out.
TEST_F(NetattachdTest, DevicesFromPodResourcesHandedOutSortedInOrder) {
  const std::filesystem::path dp_dir = dir_ / "dp";
  std::filesystem::create_directories(dp_dir);
  auto kubelet = deviceplugin::KubeletStandIn::StartLegacy(dp_dir);
  ASSERT_TRUE(kubelet.ok()) << kubelet.status();
  const std::vector<std::string> ids = {"0000:00:0a.3", "0000:00:0a.2"};
  auto plugin = ::sk::testing::FakeDevicePlugin::Start(
      dp_dir, "sriov_a.sock", "example.com/sriov_a", ids);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  ASSERT_TRUE((*kubelet)
                  ->WaitForDevices("example.com/sriov_a", 2, absl::Seconds(10))
                  .ok());
  ASSERT_TRUE((*kubelet)
                  ->AllocateFor({"vms", "virt-launcher-a", "uid-a", "compute"},
                                "example.com/sriov_a", ids)
                  .ok());
  pod_resources_socket_ = "podres.sock";
  ASSERT_TRUE((*kubelet)->ServePodResources(dir_ / pod_resources_socket_).ok());
  for (const std::string& id : ids) {
    std::ofstream(dir_ / "devinfo/dp" /
                  ("example.com-sriov_a-" + id + "-device.json"))
        << R"({"type":"pci","version":"1.1.0","pci":{"pci-address":")" << id
        << R"("}})";
  }
  nlohmann::json pod = *api_->Get(kPodPath);
  pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"] =
      "data-net@net1,data-net@net2";
  api_->Put(kPodPath, pod);
  StartDaemon();
  auto add = Shim("ADD");
  ASSERT_EQ(add.exit_code, 0) << add.stdout_text << Slurp(dir_ / "daemon.log");
  nlohmann::json status = nlohmann::json::parse((*api_->Get(
      kPodPath))["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"]
                                                    .get<std::string>());
  ASSERT_EQ(status.size(), 3u) << status.dump();
  EXPECT_EQ(status[1]["interface"], "net1");
  EXPECT_EQ(status[1]["device-info"]["pci"]["pci-address"], "0000:00:0a.2");
  EXPECT_EQ(status[2]["interface"], "net2");
  EXPECT_EQ(status[2]["device-info"]["pci"]["pci-address"], "0000:00:0a.3");
  ASSERT_EQ(Shim("DEL").exit_code, 0);
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show net2").exit_code, 1);
}

// The API server dies while the daemon runs, and comes back on the same
// port with the same CA (its store, like etcd, survives).
// - ADD while it is down: the pod, its NAD (watch caches), the cluster
//   network (a NAD lookup that fails falls through to the conf file, as in
//   Multus; before that fix the ADD failed at "get network \"cluster\"")
//   and its devices (kubelet checkpoint) need no API answer, so the
//   delegates run; writing
//   network-status cannot, so the ADD fails with code 11 (try again later)
//   naming the API server, as Multus's SetNetworkStatus failure does (the
//   runtime then calls DEL, which cleans up).
// - DEL while it is down succeeds and removes the interfaces: a pod's
//   deletion never waits for the API.
// - Once the API is back, the informers re-establish their watches, and the
//   next ADD works and writes network-status.
TEST_F(NetattachdTest, ApiServerDownThenBackAddRetriesDelNeverBlocks) {
  StartDaemon();
  ASSERT_TRUE(api_->WaitForWatches(2, std::chrono::seconds(10)));
  api_->Stop();

  const auto add_start = std::chrono::steady_clock::now();
  auto add = Shim("ADD");
  const auto add_took = std::chrono::steady_clock::now() - add_start;
  ASSERT_EQ(add.exit_code, 1) << add.stdout_text << Slurp(dir_ / "daemon.log");
  nlohmann::json err = nlohmann::json::parse(add.stdout_text);
  EXPECT_EQ(err["code"], 11) << add.stdout_text;
  const std::string msg = err["msg"].get<std::string>();
  EXPECT_THAT(msg, HasSubstr("error setting the networks status"));
  EXPECT_THAT(msg, HasSubstr(std::string("PATCH ") + kPodPath + "/status"));
  EXPECT_THAT(msg, HasSubstr("cannot connect to " + api_->url()));
  // Bounded by the client's retries (5 attempts, about 3 s of backoff).
  EXPECT_LT(add_took, std::chrono::seconds(15));
  // The runtime's DEL after the failed ADD, API still down.
  auto del = Shim("DEL");
  EXPECT_EQ(del.exit_code, 0) << del.stdout_text << Slurp(dir_ / "daemon.log");
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show net1").exit_code, 1);
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show eth0").exit_code, 1);

  ASSERT_TRUE(api_->Restart().ok());
  // Both informers (pods, NADs) watch again (their backoff is at most a few
  // seconds after so short an outage).
  ASSERT_TRUE(api_->WaitForWatches(2, std::chrono::seconds(15)))
      << Slurp(dir_ / "daemon.log");
  api_->ClearRequests();
  auto again = Shim("ADD");
  ASSERT_EQ(again.exit_code, 0)
      << again.stdout_text << Slurp(dir_ / "daemon.log");
  EXPECT_THAT(InPod("link show net1"), HasSubstr(kMac));
  nlohmann::json status = nlohmann::json::parse((*api_->Get(
      kPodPath))["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"]
                                                    .get<std::string>());
  ASSERT_EQ(status.size(), 2u) << status.dump();
  EXPECT_EQ(status[1]["interface"], "net1");
  // Served from the re-synced caches: the ADD read neither the pod nor its
  // NAD from the API (the cluster network, no NAD, is looked up and found
  // in the conf dir), and patched the status.
  bool patched = false;
  for (const auto& r : api_->requests()) {
    if (r.method == "GET") {
      EXPECT_NE(r.path, kPodPath);
      EXPECT_THAT(r.path, ::testing::Not(HasSubstr("data-net")));
      // The cluster network is no NAD: the synced NAD cache says so, with
      // no GET (as Multus's lister).
      EXPECT_THAT(
          r.path,
          ::testing::Not(HasSubstr("network-attachment-definitions/cluster")));
    }
    if (r.method == "PATCH" && r.path == std::string(kPodPath) + "/status")
      patched = true;
  }
  EXPECT_TRUE(patched);
  EXPECT_EQ(Shim("DEL").exit_code, 0);
}

// The kubelet dies (SIGKILL leaves its PodResources socket behind) and
// comes back. While the socket does not answer, an ADD fails with code 11
// naming it: a socket that exists is the source, and a checkpoint that may
// be stale is not read instead (multus-cni pkg/kubeletclient). Once a
// kubelet serves the socket again, the next ADD gets the pod's device.
TEST_F(NetattachdTest, KubeletDownThenBackFailsNamingTheSocketThenWorks) {
  const std::filesystem::path dp_dir = dir_ / "dp";
  std::filesystem::create_directories(dp_dir);
  pod_resources_socket_ = "podres.sock";
  const std::filesystem::path podres = dir_ / pod_resources_socket_;
  auto serve_kubelet = [&](const std::string& endpoint) {
    auto kubelet = deviceplugin::KubeletStandIn::StartLegacy(dp_dir);
    EXPECT_TRUE(kubelet.ok()) << kubelet.status();
    auto plugin = ::sk::testing::FakeDevicePlugin::Start(
        dp_dir, endpoint, "example.com/sriov_a", {kDevice});
    EXPECT_TRUE(plugin.ok()) << plugin.status();
    EXPECT_TRUE(
        (*kubelet)
            ->WaitForDevices("example.com/sriov_a", 1, absl::Seconds(10))
            .ok());
    EXPECT_TRUE(
        (*kubelet)
            ->AllocateFor({"vms", "virt-launcher-a", "uid-a", "compute"},
                          "example.com/sriov_a", {kDevice})
            .ok());
    EXPECT_TRUE((*kubelet)->ServePodResources(podres).ok());
    return std::make_pair(*std::move(kubelet), *std::move(plugin));
  };
  auto first = serve_kubelet("sriov_a.sock");
  StartDaemon();
  auto add = Shim("ADD");
  ASSERT_EQ(add.exit_code, 0) << add.stdout_text << Slurp(dir_ / "daemon.log");
  ASSERT_EQ(Shim("DEL").exit_code, 0);

  first.second.reset();
  first.first.reset();
  if (!std::filesystem::exists(podres)) {
    // What SIGKILL leaves: a socket file nobody listens on.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", podres.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::close(fd);
  }
  auto down = Shim("ADD");
  ASSERT_EQ(down.exit_code, 1) << down.stdout_text;
  nlohmann::json err = nlohmann::json::parse(down.stdout_text);
  EXPECT_EQ(err["code"], 11) << down.stdout_text;
  EXPECT_THAT(err["msg"].get<std::string>(), HasSubstr(podres.string()));
  EXPECT_EQ(RunShell("ip -n " + pod_ns_ + " link show net1").exit_code, 1);
  EXPECT_EQ(Shim("DEL").exit_code, 0);

  auto second = serve_kubelet("sriov_a2.sock");
  auto back = Shim("ADD");
  ASSERT_EQ(back.exit_code, 0)
      << back.stdout_text << Slurp(dir_ / "daemon.log");
  nlohmann::json status = nlohmann::json::parse((*api_->Get(
      kPodPath))["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"]
                                                    .get<std::string>());
  ASSERT_EQ(status.size(), 2u) << status.dump();
  EXPECT_EQ(status[1]["device-info"]["pci"]["pci-address"], kDevice);
  EXPECT_EQ(Shim("DEL").exit_code, 0);
}

}  // namespace
}  // namespace sk::netattach
