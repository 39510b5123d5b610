// Reboot orchestration with three node daemons against one API stand-in:
// each node has its own fake kernel, state dir, RebootNeed and Rebooter;
// SriovNetworkPoolConfig maxUnavailable 1; all three need a reboot.
// The daemons run in turns on one thread (one SyncFromApi each), a reboot
// is a recorded call followed by a new NodeDaemon (a new process) with a new
// boot id, so the test is deterministic and fast (fake clock).

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/drain/reboot.h"
#include "lib/nodedaemon/daemon.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_node_kernel.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace sk::nodedaemon {
namespace {

using nlohmann::json;
using ::sk::testing::ApiServerStandIn;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kToken[] = "nodes-token";
constexpr char kNs[] = "sriov-network-operator";
constexpr char kLabel[] = "feature.node.kubernetes.io/sriov";

const sk::testing::TestPki& Pki() {
  static const auto* pki =
      new sk::testing::TestPki(*sk::testing::TestPki::Create());
  return *pki;
}

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

class FakeNeed : public drain::RebootNeed {
 public:
  absl::StatusOr<drain::RebootNeedStatus> Check() override { return status; }
  drain::RebootNeedStatus status;
};

// Everything the test records, in order: "<node> cordoned",
// "<node> evicted <pod>", "<node> reboot", "<node> uncordoned".
struct Timeline {
  std::mutex mu;
  std::vector<std::string> events;
  void Add(const std::string& e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(e);
  }
};

struct Snapshot {
  int cordoned = 0;      // nodes with spec.unschedulable
  int slot_holders = 0;  // drain slot Leases with a holder
  bool own_pod_gone = false;
  bool daemonset_pod_kept = false;
};

class FakeRebooter : public drain::Rebooter {
 public:
  explicit FakeRebooter(std::function<void()> on_reboot)
      : on_reboot_(std::move(on_reboot)) {}
  absl::Status Reboot(std::string_view) override {
    ++calls;
    on_reboot_();
    return absl::OkStatus();
  }
  int calls = 0;

 private:
  std::function<void()> on_reboot_;
};

struct Node {
  std::string name;
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b{dir.path()};
  sk::testing::FakeNodeKernel kernel{b, "igbvf"};
  FakeOs os{kernel};
  sk::testing::TempDir tmp;
  std::vector<sk::testing::FakePf> pfs;
  FakeNeed need;
  std::unique_ptr<FakeRebooter> rebooter;
  std::string boot = "boot-1";
  bool reboot_pending = false;
  std::vector<Snapshot> at_reboot;
  std::unique_ptr<NodeDaemon> daemon;
  SyncResult last;
};

class RebootOrchestrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options so;
    so.tokens = {{kToken, "system:serviceaccount:sriov:node"}};
    auto s = ApiServerStandIn::Start(Pki(), so);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    kube::ClientOptions kopts;
    kopts.max_attempts = 1;
    kopts.clock = &clock_;
    auto c = server_->NewClient(Pki(), kToken, kopts);
    ASSERT_THAT(c.status(), IsOk());
    client_ = *std::move(c);
    server_->Put(std::string("/apis/sriovnetwork.openshift.io/v1/namespaces/") +
                     kNs + "/sriovnetworkpoolconfigs/workers",
                 {{"spec",
                   {{"nodeSelector", {{"matchLabels", {{kLabel, "true"}}}}},
                    {"maxUnavailable", 1}}}});
    for (int i = 0; i < 3; ++i) {
      auto n = std::make_unique<Node>();
      n->name = "worker-" + std::to_string(i);
      sk::testing::FakeCardOptions co;
      co.num_vfs = 0;
      n->pfs = sk::testing::AddIntel82576(n->b, co);
      n->need.status = {true, "kernel argument intel_iommu=on is missing"};
      Node* raw = n.get();
      n->rebooter = std::make_unique<FakeRebooter>([this, raw] {
        timeline_.Add(raw->name + " reboot");
        raw->at_reboot.push_back(Snap(raw->name));
        raw->reboot_pending = true;
      });
      server_->Put("/api/v1/nodes/" + n->name,
                   {{"metadata", {{"labels", {{kLabel, "true"}}}}},
                    {"spec", json::object()}});
      // One workload pod and one DaemonSet pod per node.
      server_->Put("/api/v1/namespaces/apps/pods/app-" + std::to_string(i),
                   {{"spec", {{"nodeName", n->name}}}});
      server_->Put(
          "/api/v1/namespaces/kube-system/pods/ds-" + std::to_string(i),
          {{"metadata",
            {{"ownerReferences", json::array({{{"kind", "DaemonSet"},
                                               {"name", "sriovkit-node"},
                                               {"controller", true}}})}}},
           {"spec", {{"nodeName", n->name}}}});
      nodes_.push_back(std::move(n));
    }
    json policy = {{"metadata", {{"name", "p1"}, {"namespace", kNs}}},
                   {"spec",
                    {{"resourceName", "intel_net"},
                     {"nodeSelector", {{kLabel, "true"}}},
                     {"numVfs", 2},
                     {"nicSelector", {{"pfNames", {nodes_[0]->pfs[0].netdev}}}},
                     {"deviceType", "netdevice"}}}};
    server_->Put(std::string("/apis/sriovnetwork.openshift.io/v1/namespaces/") +
                     kNs + "/sriovnetworknodepolicies/p1",
                 policy);
    for (auto& n : nodes_) Start(*n);
  }

  // A (re)started daemon process on `n`.
  void Start(Node& n) {
    DaemonOptions o;
    o.node_name = n.name;
    o.namespace_name = kNs;
    o.state_dir = n.tmp.path() / "state";
    o.cni_state_dir = n.tmp.path() / "cni";
    o.sysfs_root = n.dir.path();
    o.proc_root = "";
    o.clock = &clock_;
    o.reboot_need = &n.need;
    o.rebooter = n.rebooter.get();
    std::string boot = n.boot;
    o.boot_id = [boot]() -> absl::StatusOr<std::string> { return boot; };
    std::string name = n.name;
    o.log = [this, name](std::string_view line) {
      if (line.find(" cordoned") != std::string_view::npos ||
          line.find(" uncordoned") != std::string_view::npos) {
        timeline_.Add(name + (line.find("uncordoned") != std::string_view::npos
                                  ? " uncordoned"
                                  : " cordoned"));
      } else if (line.rfind("evicted pod ", 0) == 0) {
        timeline_.Add(name + " evicted " + std::string(line.substr(12)));
      }
    };
    n.daemon = std::make_unique<NodeDaemon>(*client_, n.os, o);
  }

  Snapshot Snap(const std::string& node) {
    Snapshot s;
    for (auto& n : nodes_) {
      auto obj = server_->Get("/api/v1/nodes/" + n->name);
      if (obj && (*obj)["spec"].value("unschedulable", false)) ++s.cordoned;
    }
    for (int i = 0; i < 3; ++i) {
      auto l = server_->Get(
          std::string("/apis/coordination.k8s.io/v1/namespaces/") + kNs +
          "/leases/sriovkit-drain-workers-" + std::to_string(i));
      if (l && !(*l)["spec"].value("holderIdentity", "").empty())
        ++s.slot_holders;
    }
    std::string idx = node.substr(node.size() - 1);
    s.own_pod_gone = !server_->Get("/api/v1/namespaces/apps/pods/app-" + idx);
    s.daemonset_pod_kept =
        server_->Get("/api/v1/namespaces/kube-system/pods/ds-" + idx)
            .has_value();
    return s;
  }

  // Node `n` boots if it rebooted, then syncs once.
  void StepNode(Node& n) {
    if (n.reboot_pending) {
      n.reboot_pending = false;
      n.boot = "boot-" + std::to_string(n.rebooter->calls + 1);
      // worker-2's bootloader change did not take effect.
      if (n.name != "worker-2") n.need.status = {};
      Start(n);
    }
    n.last = n.daemon->SyncFromApi();
  }
  // One round: each node in turn.
  void Round() {
    for (auto& n : nodes_) StepNode(*n);
  }
  // From the timeline: the [cordoned, uncordoned] windows never overlap,
  // and each node's workload was evicted inside its window before its
  // reboot.
  void CheckTheCordonWindowsNeverOverlap() {
    std::vector<std::string> ev = timeline_.events;
    std::string all;
    for (const auto& e : ev) all += e + "\n";
    SCOPED_TRACE(all);
    auto at = [&](const std::string& e) {
      auto it = std::find(ev.begin(), ev.end(), e);
      return it == ev.end() ? -1 : static_cast<int>(it - ev.begin());
    };
    std::vector<std::pair<int, int>> windows;
    for (int i = 0; i < 3; ++i) {
      std::string n = "worker-" + std::to_string(i);
      SCOPED_TRACE(n);
      int c = at(n + " cordoned"),
          e = at(n + " evicted apps/app-" + std::to_string(i)),
          r = at(n + " reboot"), u = at(n + " uncordoned");
      ASSERT_GE(c, 0);
      EXPECT_LT(c, e);
      EXPECT_LT(e, r);
      EXPECT_LT(r, u);
      EXPECT_EQ(std::count(ev.begin(), ev.end(), n + " cordoned"), 1);
      windows.emplace_back(c, u);
    }
    std::sort(windows.begin(), windows.end());
    for (size_t i = 1; i < windows.size(); ++i)
      EXPECT_GT(windows[i].first, windows[i - 1].second);
  }
  void CheckEveryRebootHadTheBudgetToItself() {
    for (auto& n : nodes_) {
      SCOPED_TRACE(n->name);
      EXPECT_EQ(n->rebooter->calls, 1);
      ASSERT_EQ(n->at_reboot.size(), 1u);
      const Snapshot& s = n->at_reboot[0];
      EXPECT_EQ(s.cordoned, 1);      // only this node
      EXPECT_EQ(s.slot_holders, 1);  // only this node's slot
      EXPECT_TRUE(s.own_pod_gone);   // drained before the reboot
      EXPECT_TRUE(s.daemonset_pod_kept);
      json node = *server_->Get("/api/v1/nodes/" + n->name);
      EXPECT_FALSE(node["spec"].contains("unschedulable"));
    }
  }

  sk::testing::FakeClock clock_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<kube::Client> client_;
  std::vector<std::unique_ptr<Node>> nodes_;
  Timeline timeline_;
};

TEST_F(RebootOrchestrationTest, OneAtATimeDrainedBeforeRebootFailedNotLooped) {
  for (int round = 0; round < 10; ++round) Round();

  // Every node rebooted exactly once; worker-2 is Failed and stays so.
  CheckEveryRebootHadTheBudgetToItself();
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(nodes_[i]->last.status, IsOk());
    auto st = server_->Get(std::string("/apis/sriovnetwork.openshift.io/v1/"
                                       "namespaces/") +
                           kNs + "/sriovnetworknodestates/worker-" +
                           std::to_string(i));
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ((*st)["status"]["syncStatus"], "Succeeded");
  }
  EXPECT_THAT(nodes_[2]->last.status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("intel_iommu=on")));
  EXPECT_EQ(nodes_[2]->last.reboot, drain::RebootPhase::kFailed);
  auto st2 = server_->Get(std::string("/apis/sriovnetwork.openshift.io/v1/"
                                      "namespaces/") +
                          kNs + "/sriovnetworknodestates/worker-2");
  ASSERT_TRUE(st2.has_value());
  EXPECT_EQ((*st2)["status"]["syncStatus"], "Failed");
  EXPECT_THAT((*st2)["status"]["lastSyncError"].get<std::string>(),
              HasSubstr("intel_iommu=on"));

  CheckTheCordonWindowsNeverOverlap();
}

// The same with the three daemons on their own threads, racing for the
// slot (Lease conflicts); each stops once it is done (booted and verified,
// or Failed for three syncs in a row), bounded by 300 syncs.
TEST_F(RebootOrchestrationTest, ConcurrentDaemonsNeverShareTheBudget) {
  std::vector<std::thread> threads;
  for (auto& n : nodes_) {
    Node* raw = n.get();
    threads.emplace_back([this, raw] {
      int failed_in_a_row = 0;
      for (int i = 0; i < 300; ++i) {
        StepNode(*raw);
        if (raw->rebooter->calls > 0 && !raw->reboot_pending &&
            raw->last.reboot == drain::RebootPhase::kBooted)
          return;
        failed_in_a_row = raw->last.reboot == drain::RebootPhase::kFailed
                              ? failed_in_a_row + 1
                              : 0;
        if (failed_in_a_row == 3) return;
      }
    });
  }
  for (auto& t : threads) t.join();
  CheckEveryRebootHadTheBudgetToItself();
  CheckTheCordonWindowsNeverOverlap();
  EXPECT_EQ(nodes_[2]->last.reboot, drain::RebootPhase::kFailed);
}

}  // namespace
}  // namespace sk::nodedaemon
