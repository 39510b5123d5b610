#include "lib/nodedaemon/daemon.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "lib/cni/state.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_node_kernel.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace sk::nodedaemon {
namespace {

using nlohmann::json;
using ::sk::testing::ApiServerStandIn;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::sk::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kToken[] = "node-token";
constexpr char kNs[] = "sriov-network-operator";
constexpr char kNode[] = "worker-0";

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

std::string PolicyPath(const std::string& name) {
  return std::string(kGroupVersionPath) + "/namespaces/" + kNs + "/" +
         kPolicyResource + "/" + name;
}

json Policy(const std::string& name, int num_vfs, const std::string& pf,
            const std::string& resource = "intel_net") {
  return {{"apiVersion", "sriovnetwork.openshift.io/v1"},
          {"kind", "SriovNetworkNodePolicy"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec",
           {{"resourceName", resource},
            {"nodeSelector", {{"feature.node.kubernetes.io/sriov", "true"}}},
            {"numVfs", num_vfs},
            {"nicSelector", {{"pfNames", {pf}}}},
            {"deviceType", "netdevice"}}}};
}

// A pod on `node` whose Multus network-status names VF `bdf`.
json PodWithVf(const std::string& ns, const std::string& name,
               const std::string& node, const std::string& bdf) {
  json status = json::array(
      {{{"name", "ns/sriov-net"},
        {"interface", "net1"},
        {"device-info", {{"type", "pci"}, {"pci", {{"pci-address", bdf}}}}}}});
  json p = {{"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", {{"nodeName", node}}},
            {"status", {{"phase", "Running"}}}};
  if (!bdf.empty()) {
    p["metadata"]["annotations"] = {
        {"k8s.v1.cni.cncf.io/network-status", status.dump()}};
  }
  return p;
}

std::string PodPath(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/pods/" + name;
}

// NodeOs over the reacting fake kernel.
class FakeOs : public nodeconfig::NodeOs {
 public:
  explicit FakeOs(sk::testing::FakeNodeKernel& k) : k_(k) {}
  absl::Status Write(std::string_view rel, std::string_view value) override {
    return k_.Write(rel, value);
  }
  absl::Status LoadModule(std::string_view) override {
    return absl::OkStatus();
  }

 private:
  sk::testing::FakeNodeKernel& k_;
};

class NodeDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk::testing::FakeCardOptions co;
    co.num_vfs = 0;
    pfs_ = sk::testing::AddIntel82576(b_, co);
    ApiServerStandIn::Options so;
    so.tokens = {{kToken, "system:serviceaccount:sriov:node"}};
    auto s = ApiServerStandIn::Start(Pki(), so);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    server_->Put(
        std::string("/api/v1/nodes/") + kNode,
        {{"metadata",
          {{"labels", {{"feature.node.kubernetes.io/sriov", "true"}}}}}});
    kube::ClientOptions kopts;
    kopts.max_attempts = 1;
    auto c = server_->NewClient(Pki(), kToken, kopts);
    ASSERT_THAT(c.status(), IsOk());
    client_ = *std::move(c);
    opts_.node_name = kNode;
    opts_.namespace_name = kNs;
    opts_.device_plugin_config = tmp_.path() / "pcidp" / "config.json";
    opts_.state_dir = tmp_.path() / "state";
    opts_.cni_state_dir = tmp_.path() / "cni";
    opts_.sysfs_root = dir_.path();
    opts_.proc_root = "";
    opts_.clock = &clock_;
    opts_.debounce = std::chrono::milliseconds(20);
    daemon_ = std::make_unique<NodeDaemon>(*client_, os_, opts_);
  }

  int NumVfs(int pf) {
    auto n =
        fs_.ReadInt("sys/bus/pci/devices/" + pfs_[pf].bdf + "/sriov_numvfs");
    return n.ok() ? static_cast<int>(*n) : -1;
  }
  std::string Vf(int pf, int i) {
    auto v = fs_.ReadLinkBasename("sys/bus/pci/devices/" + pfs_[pf].bdf +
                                  "/virtfn" + std::to_string(i));
    return v.ok() ? *v : "";
  }
  json State() {
    auto s = server_->Get(daemon_->NodeStatePath());
    return s ? *s : json();
  }
  // status.interfaces entry of PF `pf`.
  json StatusPf(json state, int pf) {
    json ifs = state["status"]["interfaces"];
    if (!ifs.is_array()) return json::object();
    for (const json& i : ifs)
      if (i.value("pciAddress", "") == pfs_[pf].bdf) return i;
    return json::object();
  }
  int TotalVfs(int pf) {
    auto n =
        fs_.ReadInt("sys/bus/pci/devices/" + pfs_[pf].bdf + "/sriov_totalvfs");
    return n.ok() ? static_cast<int>(*n) : -1;
  }
  std::string Config() {
    auto c = ReadFile(opts_.device_plugin_config);
    return c.ok() ? *c : "";
  }

  sk::testing::FakeSysfsDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  sk::testing::FakeNodeKernel kernel_{b_, "igbvf"};
  FakeOs os_{kernel_};
  sysfs::Sysfs fs_{dir_.path()};
  sk::testing::TempDir tmp_;
  sk::testing::FakeClock clock_;
  std::vector<sk::testing::FakePf> pfs_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<kube::Client> client_;
  DaemonOptions opts_;
  std::unique_ptr<NodeDaemon> daemon_;
};

TEST_F(NodeDaemonTest, PolicyCreatedAppliesWritesConfigAndPublishesState) {
  server_->Put(PolicyPath("p1"), Policy("p1", 3, pfs_[0].netdev));
  SyncResult r = daemon_->SyncFromApi();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_TRUE(r.applied_changes);
  EXPECT_TRUE(r.config_written);
  EXPECT_TRUE(r.state_published);
  EXPECT_EQ(NumVfs(0), 3);
  EXPECT_EQ(NumVfs(1), 0);  // not selected

  json cfg = json::parse(Config());
  ASSERT_THAT(cfg["resourceList"], SizeIs(1));
  EXPECT_EQ(cfg["resourceList"][0]["resourceName"], "intel_net");
  EXPECT_EQ(cfg["resourceList"][0]["selectors"]["pfNames"][0], pfs_[0].netdev);

  json st = State();
  EXPECT_EQ(st["kind"], "SriovNetworkNodeState");
  EXPECT_EQ(st["status"]["syncStatus"], "Succeeded");
  EXPECT_EQ(st["status"]["lastSyncError"], "");
  json pf = StatusPf(st, 0);
  EXPECT_EQ(pf["name"], pfs_[0].netdev);
  EXPECT_EQ(pf["vendor"], "8086");
  EXPECT_EQ(pf["deviceID"], "10c9");
  EXPECT_EQ(pf["numVfs"], 3);
  EXPECT_EQ(pf["totalvfs"], TotalVfs(0));
  EXPECT_GT(TotalVfs(0), 0);
  EXPECT_EQ(pf["linkType"], "ETH");
  ASSERT_THAT(pf["Vfs"], SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(pf["Vfs"][i]["pciAddress"], Vf(0, i));
    EXPECT_EQ(pf["Vfs"][i]["vfID"], i);
    EXPECT_EQ(pf["Vfs"][i]["driver"], "igbvf");
    EXPECT_EQ(pf["Vfs"][i]["deviceID"], "10ca");
  }
  EXPECT_FALSE(StatusPf(st, 1).contains("Vfs"));
  ASSERT_THAT(st["spec"]["interfaces"], SizeIs(1));
  EXPECT_EQ(st["spec"]["interfaces"][0]["vfGroups"][0]["policyName"], "p1");
  EXPECT_EQ(st["spec"]["interfaces"][0]["vfGroups"][0]["vfRange"], "0-2");
}

TEST_F(NodeDaemonTest, UnchangedSyncKeepsConfigFileAndWritesNothing) {
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  struct stat before {};
  ASSERT_EQ(::stat(opts_.device_plugin_config.c_str(), &before), 0);
  size_t writes = kernel_.writes().size();
  SyncResult r = daemon_->SyncFromApi();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_FALSE(r.config_written);
  EXPECT_FALSE(r.applied_changes);
  EXPECT_EQ(kernel_.writes().size(), writes);
  struct stat after {};
  ASSERT_EQ(::stat(opts_.device_plugin_config.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST_F(NodeDaemonTest, NumVfsChangedReappliesAndDeletedResetsOwnedPf) {
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  ASSERT_EQ(NumVfs(0), 2);

  server_->Put(PolicyPath("p1"), Policy("p1", 5, pfs_[0].netdev));
  SyncResult r = daemon_->SyncFromApi();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_EQ(NumVfs(0), 5);
  EXPECT_THAT(StatusPf(State(), 0)["Vfs"], SizeIs(5));

  ASSERT_TRUE(server_->Delete(PolicyPath("p1")));
  r = daemon_->SyncFromApi();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_EQ(NumVfs(0), 0);
  EXPECT_TRUE(r.config_written);
  EXPECT_THAT(json::parse(Config())["resourceList"], IsEmpty());
  EXPECT_EQ(StatusPf(State(), 0)["numVfs"], 0);
  EXPECT_THAT(State()["spec"]["interfaces"], IsEmpty());
}

TEST_F(NodeDaemonTest, PfNotConfiguredBySriovkitIsNotReset) {
  // VFs someone else made on PF 1: no policy, no record -> left alone.
  ASSERT_THAT(kernel_.Write(
                  "sys/bus/pci/devices/" + pfs_[1].bdf + "/sriov_numvfs", "2"),
              IsOk());
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  EXPECT_EQ(NumVfs(1), 2);
  EXPECT_THAT(StatusPf(State(), 1)["Vfs"], SizeIs(2));
}

TEST_F(NodeDaemonTest, InvalidPolicyAppliesNothingAndPublishesFailed) {
  server_->Put(PolicyPath("good"), Policy("good", 2, pfs_[0].netdev));
  json bad = Policy("bad", 2, pfs_[1].netdev);
  bad["spec"]["deviceType"] = "dpdk";
  server_->Put(PolicyPath("bad"), bad);
  SyncResult r = daemon_->SyncFromApi();
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status.message(), HasSubstr("\"bad\""));
  EXPECT_THAT(r.status.message(), HasSubstr("spec.deviceType"));
  EXPECT_THAT(kernel_.writes(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(opts_.device_plugin_config));
  json st = State();
  EXPECT_EQ(st["status"]["syncStatus"], "Failed");
  EXPECT_THAT(st["status"]["lastSyncError"].get<std::string>(),
              HasSubstr("spec.deviceType"));
  // The host is still reported.
  EXPECT_EQ(StatusPf(st, 0)["numVfs"], 0);
}

TEST_F(NodeDaemonTest, VfInUseBlocksNumVfsChangeAndIsNamed) {
  server_->Put(PolicyPath("p1"), Policy("p1", 3, pfs_[0].netdev));
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  // A pod's container holds VF 1 (the SR-IOV CNI's cache record).
  cni::CacheEntry e;
  e.conf.device_id = Vf(0, 1);
  e.conf.raw = {{"cniVersion", "1.0.0"},
                {"name", "net-a"},
                {"type", "sriov"},
                {"deviceID", Vf(0, 1)}};
  e.container_id = "c0ffee42";
  e.ifname = "net1";
  e.has_ext = true;
  e.netns = "/var/run/netns/pod-a";
  ASSERT_THAT(cni::StateDir(opts_.cni_state_dir).SaveCache(e), IsOk());

  server_->Put(PolicyPath("p1"), Policy("p1", 5, pfs_[0].netdev));
  SyncResult r = daemon_->SyncFromApi();
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(NumVfs(0), 3);
  json st = State();
  // Waiting, not failed: the change is applied once the VF is free.
  EXPECT_EQ(st["status"]["syncStatus"], "InProgress");
  std::string err = st["status"]["lastSyncError"];
  EXPECT_THAT(err, HasSubstr(pfs_[0].bdf));
  EXPECT_THAT(err, HasSubstr(Vf(0, 1)));
  EXPECT_THAT(err, HasSubstr("c0ffee42"));

  // Freed: the next sync applies it.
  ASSERT_THAT(
      cni::StateDir(opts_.cni_state_dir).RemoveCache("c0ffee42", "net1"),
      IsOk());
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  EXPECT_EQ(NumVfs(0), 5);
}

TEST_F(NodeDaemonTest, BlockingPodsAreNamedAndNotEvictedWithoutAllowDrain) {
  server_->Put(PolicyPath("p1"), Policy("p1", 3, pfs_[0].netdev));
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  cni::CacheEntry e;
  e.conf.device_id = Vf(0, 1);
  e.conf.raw = {{"cniVersion", "1.0.0"},
                {"name", "net-a"},
                {"type", "sriov"},
                {"deviceID", Vf(0, 1)}};
  e.container_id = "c0ffee42";
  e.ifname = "net1";
  e.has_ext = true;
  ASSERT_THAT(cni::StateDir(opts_.cni_state_dir).SaveCache(e), IsOk());
  server_->Put(PodPath("vms", "virt-launcher-a"),
               PodWithVf("vms", "virt-launcher-a", kNode, Vf(0, 1)));
  server_->Put(PolicyPath("p1"), Policy("p1", 5, pfs_[0].netdev));
  server_->ClearRequests();
  SyncResult r = daemon_->SyncFromApi();
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(r.blocking.size(), 1u);
  EXPECT_EQ(r.blocking[0].ToString(), "vms/virt-launcher-a");
  EXPECT_TRUE(r.evicted.empty());
  json st = State();
  EXPECT_EQ(st["status"]["syncStatus"], "InProgress");
  EXPECT_THAT(st["status"]["lastSyncError"].get<std::string>(),
              HasSubstr("held by pods vms/virt-launcher-a"));
  for (const auto& req : server_->requests()) {
    EXPECT_EQ(req.path.find("/eviction"), std::string::npos) << req.path;
    EXPECT_FALSE(req.method == "PATCH" &&
                 req.path == std::string("/api/v1/nodes/") + kNode);
  }
  EXPECT_EQ(NumVfs(0), 3);
}

TEST_F(NodeDaemonTest, AllowDrainEvictsOnlyTheHolderRetriesThePdbAndUncordons) {
  server_->Put(PolicyPath("p1"), Policy("p1", 3, pfs_[0].netdev));
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  cni::CacheEntry e;
  e.conf.device_id = Vf(0, 1);
  e.conf.raw = {{"cniVersion", "1.0.0"},
                {"name", "net-a"},
                {"type", "sriov"},
                {"deviceID", Vf(0, 1)}};
  e.container_id = "c0ffee42";
  e.ifname = "net1";
  e.has_ext = true;
  ASSERT_THAT(cni::StateDir(opts_.cni_state_dir).SaveCache(e), IsOk());
  server_->Put(PodPath("vms", "virt-launcher-a"),
               PodWithVf("vms", "virt-launcher-a", kNode, Vf(0, 1)));
  server_->Put(PodPath("vms", "virt-launcher-b"),
               PodWithVf("vms", "virt-launcher-b", kNode, ""));
  server_->Put(PodPath("vms", "elsewhere"),
               PodWithVf("vms", "elsewhere", "worker-9", Vf(0, 1)));
  server_->RefuseEvictions(PodPath("vms", "virt-launcher-a"), 2);
  opts_.allow_drain = true;
  opts_.drain.backoff = {std::chrono::seconds(1), std::chrono::seconds(8)};
  daemon_ = std::make_unique<NodeDaemon>(*client_, os_, opts_);
  server_->Put(PolicyPath("p1"), Policy("p1", 5, pfs_[0].netdev));
  server_->ClearRequests();
  SyncResult r = daemon_->SyncFromApi();
  EXPECT_THAT(r.status, IsOk());
  ASSERT_EQ(r.evicted.size(), 1u);
  EXPECT_EQ(r.evicted[0].ToString(), "vms/virt-launcher-a");
  EXPECT_EQ(NumVfs(0), 5);
  std::vector<std::string> evictions;
  int node_patches = 0;
  for (const auto& req : server_->requests()) {
    if (req.path.find("/eviction") != std::string::npos)
      evictions.push_back(req.path + " " + std::to_string(req.status));
    if (req.method == "PATCH" &&
        req.path == std::string("/api/v1/nodes/") + kNode)
      ++node_patches;
  }
  EXPECT_THAT(evictions,
              ::testing::ElementsAre(
                  PodPath("vms", "virt-launcher-a") + "/eviction 429",
                  PodPath("vms", "virt-launcher-a") + "/eviction 429",
                  PodPath("vms", "virt-launcher-a") + "/eviction 201"));
  EXPECT_GE(node_patches, 2);  // cordon, uncordon (and the annotations)
  EXPECT_FALSE(server_->Get(PodPath("vms", "virt-launcher-a")).has_value());
  EXPECT_TRUE(server_->Get(PodPath("vms", "virt-launcher-b")).has_value());
  EXPECT_TRUE(server_->Get(PodPath("vms", "elsewhere")).has_value());
  json node = *server_->Get(std::string("/api/v1/nodes/") + kNode);
  EXPECT_FALSE(node["spec"].contains("unschedulable"));
  EXPECT_EQ(node["metadata"]["annotations"]
                ["sriovnetwork.openshift.io/current-state"],
            "Idle");
  EXPECT_EQ(State()["status"]["syncStatus"], "Succeeded");
}

TEST_F(NodeDaemonTest, ConfiguredFileIsWrittenAfterASuccessAndRemovedOnChange) {
  opts_.configured_file = tmp_.path() / "run" / "node-configured";
  daemon_ = std::make_unique<NodeDaemon>(*client_, os_, opts_);
  json pol = Policy("p1", 3, pfs_[0].netdev);
  pol["metadata"]["generation"] = 4;
  server_->Put(PolicyPath("p1"), pol);
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  auto text = ReadFile(opts_.configured_file);
  ASSERT_THAT(text.status(), IsOk());
  json j = json::parse(*text);
  EXPECT_EQ(j["node"], kNode);
  EXPECT_EQ(j["policies"]["p1"], 4);
  // A generation that is not an integer is written as 0 (it used to throw).
  pol["metadata"]["generation"] = "4";
  server_->Put(PolicyPath("p1"), pol);
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  text = ReadFile(opts_.configured_file);
  ASSERT_THAT(text.status(), IsOk());
  EXPECT_EQ(json::parse(*text)["policies"]["p1"], 0);
  // A change blocked by a VF in use: the node is no longer "configured".
  cni::CacheEntry e;
  e.conf.device_id = Vf(0, 1);
  e.conf.raw = {{"cniVersion", "1.0.0"},
                {"name", "net-a"},
                {"type", "sriov"},
                {"deviceID", Vf(0, 1)}};
  e.container_id = "c0ffee42";
  e.ifname = "net1";
  e.has_ext = true;
  ASSERT_THAT(cni::StateDir(opts_.cni_state_dir).SaveCache(e), IsOk());
  server_->Put(PolicyPath("p1"), Policy("p1", 5, pfs_[0].netdev));
  EXPECT_FALSE(daemon_->SyncFromApi().status.ok());
  EXPECT_FALSE(std::filesystem::exists(opts_.configured_file));
  ASSERT_THAT(
      cni::StateDir(opts_.cni_state_dir).RemoveCache("c0ffee42", "net1"),
      IsOk());
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  EXPECT_TRUE(std::filesystem::exists(opts_.configured_file));
}

TEST_F(NodeDaemonTest, FailedWriteRollsThePfBackAndIsReported) {
  json p = Policy("p1", 2, pfs_[0].netdev);
  p["spec"]["mtu"] = 9000;
  server_->Put(PolicyPath("p1"), p);
  kernel_.FailWrite("class/net/" + pfs_[0].netdev + "/mtu",
                    absl::InvalidArgumentError("write: Invalid argument"), 1);
  SyncResult r = daemon_->SyncFromApi();
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(NumVfs(0), 0);
  json st = State();
  EXPECT_EQ(st["status"]["syncStatus"], "Failed");
  std::string err = st["status"]["lastSyncError"];
  EXPECT_THAT(err, HasSubstr(pfs_[0].bdf));
  EXPECT_THAT(err, HasSubstr("rolled back"));
  EXPECT_THAT(err, HasSubstr("mtu"));
  // The next sync (the failure was one write) applies it.
  ASSERT_THAT(daemon_->SyncFromApi().status, IsOk());
  EXPECT_EQ(NumVfs(0), 2);
}

TEST_F(NodeDaemonTest, NodeMissingFromApiFailsNamingIt) {
  server_->Delete(std::string("/api/v1/nodes/") + kNode);
  SyncResult r = daemon_->SyncFromApi();
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(r.status.message(), HasSubstr(kNode));
  EXPECT_EQ(State()["status"]["syncStatus"], "Failed");
}

// Waits (bounded, real time) for the published state to satisfy `pred`.
template <typename Pred>
bool WaitForState(ApiServerStandIn& s, const std::string& path, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = s.Get(path);
    if (st && pred(*st)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(NodeDaemonTest, RunFollowsPolicyChangesThroughTheInformer) {
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  std::thread t([&] { EXPECT_THAT(daemon_->Run(), IsOk()); });
  // Stops and joins however the test body ends.
  struct Joiner {
    NodeDaemon& d;
    std::thread& t;
    ~Joiner() {
      d.Stop();
      if (t.joinable()) t.join();
    }
  } joiner{*daemon_, t};
  auto pf_vfs = [&](int n) {
    return [this, n](json st) {
      json status = st["status"];
      return status.is_object() &&
             status.value("syncStatus", "") == "Succeeded" &&
             StatusPf(st, 0).value("numVfs", -1) == n;
    };
  };
  // Applied at start.
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), pf_vfs(2)));
  server_->Put(PolicyPath("p1"), Policy("p1", 4, pfs_[0].netdev));
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), pf_vfs(4)));
  server_->Delete(PolicyPath("p1"));
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), pf_vfs(0)));
  daemon_->Stop();
  t.join();
  EXPECT_GE(daemon_->sync_count(), 3);
  EXPECT_EQ(NumVfs(0), 0);
  EXPECT_THAT(json::parse(Config())["resourceList"], IsEmpty());
}

TEST_F(NodeDaemonTest, RunSyncsWhenTheNodeGetsTheSelectedLabel) {
  server_->Put(std::string("/api/v1/nodes/") + kNode,
               {{"metadata", {{"labels", {{"zone", "a"}}}}}});
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  std::thread t([&] { EXPECT_THAT(daemon_->Run(), IsOk()); });
  struct Joiner {
    NodeDaemon& d;
    std::thread& t;
    ~Joiner() {
      d.Stop();
      if (t.joinable()) t.join();
    }
  } joiner{*daemon_, t};
  auto synced_with = [this](int n) {
    return [this, n](json st) {
      json status = st["status"];
      return status.is_object() &&
             status.value("syncStatus", "") == "Succeeded" &&
             StatusPf(st, 0).value("numVfs", -1) == n;
    };
  };
  // Not selected yet.
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), synced_with(0)));
  EXPECT_EQ(NumVfs(0), 0);
  server_->Put(
      std::string("/api/v1/nodes/") + kNode,
      {{"metadata",
        {{"labels",
          {{"zone", "a"}, {"feature.node.kubernetes.io/sriov", "true"}}}}}});
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), synced_with(2)));
  EXPECT_EQ(NumVfs(0), 2);
}

// The API server is down when the daemon starts, comes back (same port,
// same CA, its store kept as etcd keeps it), goes down again while a policy
// changes and a resync fails to publish, and comes back again: each time
// the informers list and watch again and the node state is published.
TEST_F(NodeDaemonTest, ApiServerDownAndBackPublishesTheNodeState) {
  std::mutex log_mu;
  std::vector<std::string> lines;
  opts_.log = [&](std::string_view line) {
    std::lock_guard<std::mutex> l(log_mu);
    lines.emplace_back(line);
  };
  auto logged = [&](const std::string& text) {
    std::lock_guard<std::mutex> l(log_mu);
    for (const std::string& line : lines)
      if (line.find(text) != std::string::npos) return true;
    return false;
  };
  opts_.resync = std::chrono::milliseconds(300);
  opts_.retry = std::chrono::milliseconds(200);
  daemon_ = std::make_unique<NodeDaemon>(*client_, os_, opts_);
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  server_->Stop();
  std::thread t([&] { EXPECT_THAT(daemon_->Run(), IsOk()); });
  struct Joiner {
    NodeDaemon& d;
    std::thread& t;
    ~Joiner() {
      d.Stop();
      if (t.joinable()) t.join();
    }
  } joiner{*daemon_, t};
  auto synced_with = [this](int n) {
    return [this, n](json st) {
      json status = st["status"];
      return status.is_object() &&
             status.value("syncStatus", "") == "Succeeded" &&
             StatusPf(st, 0).value("numVfs", -1) == n;
    };
  };
  // Nothing is applied before the policies could be listed.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!logged("policy watch: ") && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(logged("cannot connect to " + server_->url()));
  EXPECT_EQ(daemon_->sync_count(), 0);
  EXPECT_EQ(NumVfs(0), 0);

  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), synced_with(2)));
  EXPECT_EQ(NumVfs(0), 2);
  ASSERT_TRUE(server_->WaitForWatches(2, std::chrono::seconds(10)));

  // Down again: a resync cannot publish and is reported; meanwhile the
  // policy changes in the store.
  server_->Stop();
  server_->Put(PolicyPath("p1"), Policy("p1", 4, pfs_[0].netdev));
  until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!logged(": Failed: ") && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(logged(": Failed: "));
  EXPECT_EQ(NumVfs(0), 2);  // the change has not been seen

  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_TRUE(WaitForState(*server_, daemon_->NodeStatePath(), synced_with(4)));
  EXPECT_EQ(NumVfs(0), 4);
  EXPECT_EQ(json::parse(Config())["resourceList"][0]["resourceName"],
            "intel_net");
}

TEST_F(NodeDaemonTest, StopBeforeTheFirstListReturns) {
  server_->Stop();  // nothing answers: the informer keeps retrying
  std::thread t([&] { EXPECT_THAT(daemon_->Run(), IsOk()); });
  daemon_->Stop();
  t.join();
  EXPECT_EQ(daemon_->sync_count(), 0);
  EXPECT_FALSE(std::filesystem::exists(opts_.device_plugin_config));
}

// --- the binary, --once ---

class NodeBinaryTest : public NodeDaemonTest {
 protected:
  std::string Kubeconfig() {
    std::filesystem::path ca = tmp_.path() / "ca.pem";
    std::ofstream(ca) << Pki().ca_pem();
    std::filesystem::path kc = tmp_.path() / "kubeconfig";
    std::ofstream(kc) << "apiVersion: v1\nkind: Config\n"
                      << "clusters:\n- name: c\n  cluster:\n    server: "
                      << server_->url()
                      << "\n    certificate-authority: " << ca.string()
                      << "\nusers:\n- name: u\n  user:\n    token: " << kToken
                      << "\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
                      << "    user: u\ncurrent-context: x\n";
    return kc.string();
  }
  sk::testing::ShellResult Once(const std::string& extra = "") {
    return sk::testing::RunShell(
        std::string("timeout 60 " SK_NODE_BINARY " --once --kubeconfig ") +
        Kubeconfig() + " --node-name " + kNode + " --namespace " + kNs +
        " --device-plugin-config " + opts_.device_plugin_config.string() +
        " --state-dir " + opts_.state_dir.string() + " --cni-state-dir " +
        opts_.cni_state_dir.string() + " --sysfs-root " + dir_.path().string() +
        " --proc-root " + tmp_.path().string() + " --configured-file " +
        (tmp_.path() / "node-configured").string() + " " + extra);
  }
};

TEST_F(NodeBinaryTest, OnceSucceedsWithVfsAlreadyInPlace) {
  // VFs present as a previous run left them: the plan is a no-op, so the
  // binary's real sysfs writes are not needed.
  ASSERT_THAT(kernel_.Write(
                  "sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs", "2"),
              IsOk());
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  auto r = Once();
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("Succeeded"));
  EXPECT_EQ(State()["status"]["syncStatus"], "Succeeded");
  EXPECT_THAT(StatusPf(State(), 0)["Vfs"], SizeIs(2));
  EXPECT_EQ(json::parse(Config())["resourceList"][0]["resourceName"],
            "intel_net");
}

TEST_F(NodeBinaryTest, ManageKernelArgsReadsTheRootsCommandLineFirst) {
  ASSERT_THAT(kernel_.Write(
                  "sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs", "2"),
              IsOk());
  server_->Put(PolicyPath("p1"), Policy("p1", 2, pfs_[0].netdev));
  std::filesystem::path root = tmp_.path() / "host";
  ASSERT_THAT(MakeDirs(root / "proc"), IsOk());
  std::string flags = "--manage-kernel-args --root " + root.string();
  // No proc/cmdline under the root: the kernel side fails, naming it, and
  // the sync stops there.
  auto r = Once(flags);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.stderr_text, HasSubstr("cmdline"));
  EXPECT_EQ(State()["status"]["syncStatus"], "Failed");
  // A netdevice policy wants no kernel argument: nothing to reboot for.
  std::ofstream(root / "proc/cmdline") << "BOOT_IMAGE=/vmlinuz ro quiet\n";
  std::ofstream(root / "proc/cpuinfo") << "vendor_id\t: GenuineIntel\n";
  r = Once(flags);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(State()["status"]["syncStatus"], "Succeeded");
}

TEST_F(NodeBinaryTest, OnceBlockedByVfInUseExits69NamingTheContainer) {
  ASSERT_THAT(kernel_.Write(
                  "sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs", "2"),
              IsOk());
  cni::CacheEntry e;
  e.conf.device_id = Vf(0, 0);
  e.conf.raw = {{"cniVersion", "1.0.0"},
                {"name", "net-a"},
                {"type", "sriov"},
                {"deviceID", Vf(0, 0)}};
  e.container_id = "feedbeef";
  e.ifname = "net1";
  e.has_ext = true;
  ASSERT_THAT(cni::StateDir(opts_.cni_state_dir).SaveCache(e), IsOk());
  server_->Put(PolicyPath("p1"), Policy("p1", 3, pfs_[0].netdev));
  auto r = Once("--allow-drain");
  EXPECT_EQ(r.exit_code, 69) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("feedbeef"));
  EXPECT_EQ(NumVfs(0), 2);
  // No pod's network-status claims the VF: --allow-drain has nothing to
  // evict, so the change waits.
  EXPECT_EQ(State()["status"]["syncStatus"], "InProgress");
  EXPECT_THAT(State()["status"]["lastSyncError"].get<std::string>(),
              HasSubstr(Vf(0, 0)));
}

TEST_F(NodeBinaryTest, LoopSyncsAtStartAndStopsCleanlyOnSigterm) {
  // No policies: the start sync writes an empty pool list and publishes;
  // a sync in progress when SIGTERM comes is finished first.
  std::string cfg = opts_.device_plugin_config.string();
  std::string cmd =
      std::string(SK_NODE_BINARY " --kubeconfig ") + Kubeconfig() +
      " --node-name " + kNode + " --namespace " + kNs +
      " --device-plugin-config " + cfg + " --state-dir " +
      opts_.state_dir.string() + " --sysfs-root " + dir_.path().string() +
      " --cni-state-dir " + opts_.cni_state_dir.string() + " --proc-root " +
      tmp_.path().string() + " & pid=$!; i=0; while [ ! -f " + cfg +
      " ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; "
      "kill -TERM $pid; wait $pid; echo rc=$?";
  auto r = sk::testing::RunShell(cmd);
  EXPECT_THAT(r.stdout_text, HasSubstr("rc=0")) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("stopping"));
  EXPECT_THAT(json::parse(Config())["resourceList"], IsEmpty());
  EXPECT_EQ(State()["status"]["syncStatus"], "Succeeded");
}

TEST_F(NodeBinaryTest, ControllerWritesNadsHoldsTheLeaseAndReleasesIt) {
  server_->Put(std::string(kGroupVersionPath) + "/namespaces/" + kNs +
                   "/sriovnetworks/blue",
               {{"spec", {{"resourceName", "intel_vm"}, {"vlan", 100}}}});
  std::string nad = std::string("/apis/k8s.cni.cncf.io/v1/namespaces/") + kNs +
                    "/network-attachment-definitions/blue";
  std::string log = (tmp_.path() / "controller.log").string();
  // Without --device-plugin-config/--state-dir (not needed in this mode).
  // SIGTERM once the log shows the first pass (bounded wait, 15 s).
  std::string cmd = std::string(SK_NODE_BINARY " --controller --kubeconfig ") +
                    Kubeconfig() + " --namespace " + kNs + " 2>" + log +
                    " & pid=$!; i=0; until grep -q 'pass 1:' " + log +
                    " || [ $i -ge 300 ]; do sleep 0.05; i=$((i+1)); done; "
                    "kill -TERM $pid; wait $pid; echo rc=$?; cat " +
                    log + " >&2";
  auto r = sk::testing::RunShell(cmd);
  EXPECT_THAT(r.stdout_text, HasSubstr("rc=0")) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("is the leader"));
  auto got = server_->Get(nad);
  ASSERT_TRUE(got.has_value()) << r.stderr_text;
  EXPECT_THAT((*got)["spec"]["config"].get<std::string>(),
              HasSubstr("\"vlan\":100"));
  // SIGTERM released the Lease.
  auto lease =
      server_->Get(std::string("/apis/coordination.k8s.io/v1/") +
                   "namespaces/" + kNs + "/leases/sriovkit-nad-controller");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ((*lease)["spec"].value("holderIdentity", ""), "");
}

TEST_F(NodeBinaryTest, OnceExitCodes) {
  json bad = Policy("bad", 2, pfs_[0].netdev);
  bad["spec"]["numVfs"] = "two";
  server_->Put(PolicyPath("bad"), bad);
  auto r = Once();
  EXPECT_EQ(r.exit_code, 65) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("spec.numVfs"));
  EXPECT_EQ(State()["status"]["syncStatus"], "Failed");

  server_->Delete(PolicyPath("bad"));
  server_->Delete(std::string("/api/v1/nodes/") + kNode);
  r = Once();
  EXPECT_EQ(r.exit_code, 66) << r.stderr_text;

  r = Once("--bogus-flag");
  EXPECT_EQ(r.exit_code, 64) << r.stderr_text;

  r = sk::testing::RunShell(
      "timeout 60 " SK_NODE_BINARY
      " --once --kubeconfig /nonexistent/kc --node-name n "
      "--device-plugin-config /tmp/x --state-dir /tmp/y");
  EXPECT_EQ(r.exit_code, 66) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("/nonexistent/kc"));
}

}  // namespace
}  // namespace sk::nodedaemon
