#include "lib/drain/drain.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace sk::drain {
namespace {

using nlohmann::json;
using ::sk::testing::ApiServerStandIn;
using ::sk::testing::FakeClock;
using ::sk::testing::IsOk;
using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::sk::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kToken[] = "drain-test-token";

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

json NetworkStatus(const std::string& bdf) {
  return json::array({{{"name", "default/pod-network"}, {"default", true}},
                      {{"name", "ns/sriov-net"},
                       {"interface", "net1"},
                       {"device-info",
                        {{"type", "pci"},
                         {"version", "1.1.0"},
                         {"pci", {{"pci-address", bdf}}}}}}});
}

json Pod(const std::string& ns, const std::string& name,
         const std::string& node, const std::string& vf = "") {
  json p = {{"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", {{"nodeName", node}}},
            {"status", {{"phase", "Running"}}}};
  if (!vf.empty()) {
    p["metadata"]["annotations"] = {
        {"k8s.v1.cni.cncf.io/network-status", NetworkStatus(vf).dump()}};
  }
  return p;
}

TEST(PodSelectionTest, HoldersAreThePodsWhoseNetworkStatusNamesTheVf) {
  std::vector<json> pods = {
      Pod("vms", "virt-launcher-a", "n", "0000:01:10.1"),
      Pod("vms", "virt-launcher-b", "n", "0000:01:10.3"),
      Pod("web", "nginx", "n"),
  };
  pods.push_back(Pod("x", "broken", "n"));
  pods.back()["metadata"]["annotations"] = {
      {"k8s.v1.cni.cncf.io/network-status", "{not json"}};
  std::set<std::string> unmatched;
  std::vector<PodRef> h =
      PodsHoldingVfs(pods, {"0000:01:10.1", "0000:01:10.5"}, &unmatched);
  EXPECT_EQ(JoinPods(h), "vms/virt-launcher-a");
  EXPECT_THAT(unmatched, ElementsAre("0000:01:10.5"));
}

TEST(PodSelectionTest, FullDrainSkipsDaemonSetMirrorAndFinishedPods) {
  json ds = Pod("kube-system", "sriovkit-node-x", "n");
  ds["metadata"]["ownerReferences"] = json::array({{{"kind", "DaemonSet"},
                                                    {"name", "sriovkit-node"},
                                                    {"controller", true}}});
  json rs = Pod("web", "nginx-1", "n");
  rs["metadata"]["ownerReferences"] = json::array(
      {{{"kind", "ReplicaSet"}, {"name", "nginx"}, {"controller", true}}});
  json mirror = Pod("kube-system", "etcd-n", "n");
  mirror["metadata"]["annotations"] = {{"kubernetes.io/config.mirror", "abc"}};
  json done = Pod("jobs", "job-1", "n");
  done["status"]["phase"] = "Succeeded";
  json vm = Pod("vms", "virt-launcher-a", "n", "0000:01:10.1");
  EXPECT_EQ(JoinPods(PodsForFullDrain({ds, rs, mirror, done, vm})),
            "vms/virt-launcher-a, web/nginx-1");
}

class DrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options o;
    o.tokens = {{kToken, "system:serviceaccount:sriov:node"}};
    auto s = ApiServerStandIn::Start(Pki(), o);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    kube::RestConfig c;
    c.server = server_->url();
    c.ca_pem = Pki().ca_pem();
    c.token = kToken;
    kube::ClientOptions co;
    co.clock = &clock_;
    co.max_attempts = 1;  // every 429 reaches the drainer
    auto client = kube::Client::Create(c, co);
    ASSERT_THAT(client.status(), IsOk());
    client_ = *std::move(client);
    server_->Put("/api/v1/nodes/node-a", {{"spec", json::object()}});
    for (const json& p : {Pod("vms", "vm-1", "node-a", "0000:01:10.1"),
                          Pod("vms", "vm-2", "node-a", "0000:01:10.2"),
                          Pod("web", "nginx", "node-a"),
                          Pod("vms", "vm-3", "node-b", "0000:01:10.1")}) {
      server_->Put("/api/v1/namespaces/" +
                       p["metadata"]["namespace"].get<std::string>() +
                       "/pods/" + p["metadata"]["name"].get<std::string>(),
                   p);
    }
    DrainOptions d;
    d.clock = &clock_;
    d.evict_attempts = 4;
    d.backoff = {1s, 4s};
    d.wait_gone = 30s;
    drainer_ = std::make_unique<Drainer>(*client_, "node-a", d);
  }

  // "POST <pod> <status>" for every eviction request.
  std::vector<std::string> Evictions() {
    std::vector<std::string> out;
    for (const auto& r : server_->requests()) {
      if (r.path.size() > 9 &&
          r.path.compare(r.path.size() - 9, 9, "/eviction") == 0)
        out.push_back(r.method + " " + r.path + " " + std::to_string(r.status));
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<Drainer> drainer_;
};

TEST_F(DrainerTest, EvictsOnlyTheHoldersAndRetriesAPdbRefusal) {
  auto pods = drainer_->PodsOnNode();
  ASSERT_THAT(pods.status(), IsOk());
  ASSERT_EQ(pods->size(), 3u);  // node-b's pod is not listed
  std::vector<PodRef> holders = PodsHoldingVfs(*pods, {"0000:01:10.1"});
  ASSERT_EQ(JoinPods(holders), "vms/vm-1");
  server_->RefuseEvictions("/api/v1/namespaces/vms/pods/vm-1", 2);
  auto t0 = clock_.Now();
  EXPECT_THAT(drainer_->EvictAndWait(holders), IsOk());
  EXPECT_THAT(
      Evictions(),
      ElementsAre("POST /api/v1/namespaces/vms/pods/vm-1/eviction 429",
                  "POST /api/v1/namespaces/vms/pods/vm-1/eviction 429",
                  "POST /api/v1/namespaces/vms/pods/vm-1/eviction 201"));
  // Backoff 1 s then 2 s between the attempts.
  EXPECT_EQ(clock_.Now() - t0, 3s);
  EXPECT_FALSE(server_->Get("/api/v1/namespaces/vms/pods/vm-1").has_value());
  EXPECT_TRUE(server_->Get("/api/v1/namespaces/vms/pods/vm-2").has_value());
  EXPECT_TRUE(server_->Get("/api/v1/namespaces/web/pods/nginx").has_value());
  EXPECT_TRUE(server_->Get("/api/v1/namespaces/vms/pods/vm-3").has_value());
}

TEST_F(DrainerTest, PdbThatNeverRelentsIsReportedNamingThePod) {
  server_->RefuseEvictions("/api/v1/namespaces/vms/pods/vm-2", 100);
  absl::Status s = drainer_->EvictAndWait({{"vms", "vm-2"}});
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("vms/vm-2")));
  EXPECT_THAT(s.message(), HasSubstr("disruption budget"));
  EXPECT_EQ(Evictions().size(), 4u);
  EXPECT_TRUE(server_->Get("/api/v1/namespaces/vms/pods/vm-2").has_value());
}

TEST_F(DrainerTest, PodThatStaysIsATimeoutNamingIt) {
  server_->SetEvictionDeletesPod(false);
  auto t0 = clock_.Now();
  absl::Status s = drainer_->EvictAndWait({{"web", "nginx"}, {"vms", "gone"}});
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("web/nginx")));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("vms/gone")));
  EXPECT_GE(clock_.Now() - t0, 30s);
  EXPECT_LT(clock_.Now() - t0, 40s);
}

TEST_F(DrainerTest, CordonTellsWhetherTheNodeWasCordonedAlready) {
  EXPECT_THAT(drainer_->Cordon(), IsOkAndHolds(false));
  EXPECT_EQ((*server_->Get("/api/v1/nodes/node-a"))["spec"]["unschedulable"],
            true);
  EXPECT_THAT(drainer_->Cordon(), IsOkAndHolds(true));
  EXPECT_THAT(drainer_->Uncordon(), IsOk());
  EXPECT_FALSE((*server_->Get("/api/v1/nodes/node-a"))["spec"].contains(
      "unschedulable"));
  EXPECT_THAT(drainer_->SetDrainAnnotations(kDrainRequired, kDraining), IsOk());
  json an = (*server_->Get("/api/v1/nodes/node-a"))["metadata"]["annotations"];
  EXPECT_EQ(an["sriovnetwork.openshift.io/desired-state"], "Drain_Required");
  EXPECT_EQ(an["sriovnetwork.openshift.io/current-state"], "Draining");
}

}  // namespace
}  // namespace sk::drain
