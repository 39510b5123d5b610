#include "lib/drain/reboot.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/file_util.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
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
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kToken[] = "reboot-test-token";
constexpr char kNs[] = "sriov-network-operator";

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

TEST(BudgetTest, MaxUnavailableIsAnIntegerOrAPercentRoundedUp) {
  EXPECT_THAT(ScaledMaxUnavailable(2, 10), IsOkAndHolds(2));
  EXPECT_THAT(ScaledMaxUnavailable("25%", 10), IsOkAndHolds(3));
  EXPECT_THAT(ScaledMaxUnavailable("0%", 10), IsOkAndHolds(0));
  EXPECT_THAT(ScaledMaxUnavailable("100%", 3), IsOkAndHolds(3));
  EXPECT_THAT(ScaledMaxUnavailable(json(), 3), IsOkAndHolds(1));
  EXPECT_THAT(ScaledMaxUnavailable("25", 4),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("maxUnavailable: $: expected an integer in "
                                 "0..1000000 or a percentage (\"25%\"), got "
                                 "\"25\"")));
  EXPECT_THAT(
      ScaledMaxUnavailable(-1, 4),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got -1")));
}

TEST(BudgetTest, SelectorsMatchLabelsAndExpressions) {
  std::map<std::string, std::string> l = {{"role", "worker"}, {"zone", "a"}};
  EXPECT_THAT(SelectorMatches(json(), l), IsOkAndHolds(true));
  EXPECT_THAT(SelectorMatches({{"matchLabels", {{"role", "worker"}}}}, l),
              IsOkAndHolds(true));
  EXPECT_THAT(SelectorMatches({{"matchLabels", {{"role", "infra"}}}}, l),
              IsOkAndHolds(false));
  json in = {{"matchExpressions", json::array({{{"key", "zone"},
                                                {"operator", "In"},
                                                {"values", {"a", "b"}}}})}};
  EXPECT_THAT(SelectorMatches(in, l), IsOkAndHolds(true));
  in["matchExpressions"][0]["operator"] = "NotIn";
  EXPECT_THAT(SelectorMatches(in, l), IsOkAndHolds(false));
  in["matchExpressions"][0]["operator"] = "DoesNotExist";
  EXPECT_THAT(SelectorMatches(in, l), IsOkAndHolds(false));
  in["matchExpressions"][0]["operator"] = "Near";
  EXPECT_THAT(
      SelectorMatches(in, l),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"Near\"")));
}

json Node(const std::string& name, const std::string& pool_label) {
  json n = {{"metadata", {{"name", name}}}};
  if (!pool_label.empty()) n["metadata"]["labels"] = {{"pool", pool_label}};
  return n;
}
json Pool(const std::string& name, const std::string& label, json max) {
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"nodeSelector", {{"matchLabels", {{"pool", label}}}}},
            {"maxUnavailable", max}}}};
}

// A malformed pool's error has the FieldReader shape: the pool, the path
// under spec and the value.
TEST(BudgetTest, PoolErrorsNamePoolPathAndValue) {
  std::vector<json> nodes = {Node("a", "gpu")};
  json bad_max = Pool("p", "gpu", "half");
  json no_key = Pool("p", "gpu", 1);
  no_key["spec"]["nodeSelector"] = {
      {"matchExpressions", {{{"operator", "Exists"}}}}};
  json bad_op = Pool("p", "gpu", 1);
  bad_op["spec"]["nodeSelector"] = {
      {"matchExpressions", {{{"key", "k"}, {"operator", "Near"}}}}};
  json bad_labels = Pool("p", "gpu", 1);
  bad_labels["spec"]["nodeSelector"] = {{"matchLabels", "pool=gpu"}};
  json range = Pool("p", "gpu", 1000001);
  const std::pair<json, const char*> cases[] = {
      {bad_max,
       "SriovNetworkPoolConfig p: spec.maxUnavailable: expected an integer "
       "in 0..1000000 or a percentage (\"25%\"), got \"half\""},
      {range,
       "SriovNetworkPoolConfig p: spec.maxUnavailable: expected an integer "
       "in 0..1000000 or a percentage (\"25%\"), got 1000001"},
      {no_key,
       "SriovNetworkPoolConfig p: spec.nodeSelector.matchExpressions[0].key: "
       "expected a string, got nothing"},
      {bad_op,
       "SriovNetworkPoolConfig p: "
       "spec.nodeSelector.matchExpressions[0].operator: expected one of "
       "\"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", got \"Near\""},
      {bad_labels,
       "SriovNetworkPoolConfig p: spec.nodeSelector.matchLabels: expected an "
       "object, got \"pool=gpu\""},
  };
  for (const auto& [pool, want] : cases) {
    SCOPED_TRACE(want);
    EXPECT_THAT(
        ResolveBudget({pool}, nodes, "a").status(),
        StatusIs(absl::StatusCode::kInvalidArgument, ::testing::Eq(want)));
  }
}

TEST(BudgetTest, ResolvesThePoolOfTheNode) {
  std::vector<json> nodes = {Node("a", "gpu"), Node("b", "gpu"),
                             Node("c", "gpu"), Node("d", "gpu"), Node("e", "")};
  std::vector<json> pools = {Pool("gpu-pool", "gpu", "50%"),
                             Pool("other", "x", 3)};
  auto b = ResolveBudget(pools, nodes, "a");
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ(b->pool, "gpu-pool");
  EXPECT_EQ(b->nodes, 4);
  EXPECT_EQ(b->max_unavailable, 2);
  EXPECT_EQ(b->slot_prefix, "sriovkit-drain-gpu-pool");
  auto none = ResolveBudget(pools, nodes, "e");
  ASSERT_THAT(none.status(), IsOk());
  EXPECT_EQ(none->pool, "");
  EXPECT_EQ(none->max_unavailable, 1);
  EXPECT_EQ(none->slot_prefix, "sriovkit-drain-default");
  pools.push_back(Pool("gpu-too", "gpu", 1));
  EXPECT_THAT(ResolveBudget(pools, nodes, "a").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("gpu-pool, gpu-too")));
}

// Objects as the API may deliver them, malformed: a pool without a spec
// selects every node with the default budget; members of the wrong type
// read as absent (they used to throw, or read past the end of the map).
TEST(BudgetTest, MalformedPoolsAndNodesNeverThrow) {
  std::vector<json> nodes = {Node("a", ""), json{{"metadata", {{"name", 5}}}},
                             json::array({1, 2})};
  std::vector<json> pools = {json{{"metadata", {{"name", "bare"}}}}};
  auto b = ResolveBudget(pools, nodes, "a");
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ(b->pool, "bare");
  EXPECT_EQ(b->max_unavailable, 1);
  EXPECT_EQ(b->nodes, 3);
  json bad_op = {{"matchExpressions", {{{"key", "k"}, {"operator", 7}}}}};
  EXPECT_THAT(SelectorMatches(bad_op, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class FakeNeed : public RebootNeed {
 public:
  absl::StatusOr<RebootNeedStatus> Check() override { return status; }
  RebootNeedStatus status;
};

class FakeRebooter : public Rebooter {
 public:
  absl::Status Reboot(std::string_view reason) override {
    reasons.emplace_back(reason);
    return absl::OkStatus();
  }
  std::vector<std::string> reasons;
};

class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options o;
    o.tokens = {{kToken, "node"}};
    auto s = ApiServerStandIn::Start(Pki(), o);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    kube::RestConfig c;
    c.server = server_->url();
    c.ca_pem = Pki().ca_pem();
    c.token = kToken;
    kube::ClientOptions co;
    co.clock = &clock_;
    co.max_attempts = 1;
    auto client = kube::Client::Create(c, co);
    ASSERT_THAT(client.status(), IsOk());
    client_ = *std::move(client);
    server_->Put("/api/v1/nodes/node-a", {{"spec", json::object()}});
    server_->Put("/api/v1/namespaces/web/pods/nginx",
                 {{"spec", {{"nodeName", "node-a"}}}});
  }
  std::unique_ptr<RebootOrchestrator> Make(bool force = false) {
    RebootOptions o;
    o.node_name = "node-a";
    o.namespace_name = kNs;
    o.state_dir = tmp_.path();
    o.force = force;
    o.clock = &clock_;
    o.boot_id = [this]() -> absl::StatusOr<std::string> { return boot_; };
    o.drain.clock = &clock_;
    return std::make_unique<RebootOrchestrator>(*client_, need_, rebooter_, o);
  }
  json NodeObj() { return *server_->Get("/api/v1/nodes/node-a"); }

  FakeClock clock_;
  sk::testing::TempDir tmp_;
  std::string boot_ = "boot-1";
  FakeNeed need_;
  FakeRebooter rebooter_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<kube::Client> client_;
};

TEST_F(OrchestratorTest, NoNeedIsIdleAndTouchesNothing) {
  auto o = Make();
  server_->ClearRequests();
  auto s = o->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kIdle);
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(OrchestratorTest, DrainsRebootsOnceAndVerifiesAfterTheBoot) {
  need_.status = {true, "kernel argument intel_iommu=on is missing"};
  auto o = Make();
  auto s = o->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kRebooting) << s->message;
  EXPECT_EQ(rebooter_.reasons.size(), 1u);
  EXPECT_FALSE(server_->Get("/api/v1/namespaces/web/pods/nginx").has_value());
  EXPECT_EQ(NodeObj()["spec"]["unschedulable"], true);
  json an = NodeObj()["metadata"]["annotations"];
  EXPECT_EQ(an["sriovnetwork.openshift.io/desired-state"], "Reboot_Required");
  EXPECT_EQ(an["sriovnetwork.openshift.io/current-state"], "DrainComplete");
  auto lease = server_->Get(
      "/apis/coordination.k8s.io/v1/namespaces/sriov-network-operator/leases/"
      "sriovkit-drain-default-0");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "node-a");
  // Same boot (systemctl reboot still under way): no second reboot, the
  // slot is renewed.
  std::string rv = (*lease)["metadata"]["resourceVersion"];
  s = o->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kRebooting);
  EXPECT_EQ(rebooter_.reasons.size(), 1u);
  lease = server_->Get(
      "/apis/coordination.k8s.io/v1/namespaces/sriov-network-operator/leases/"
      "sriovkit-drain-default-0");
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "node-a");
  EXPECT_NE((*lease)["metadata"]["resourceVersion"], rv);

  // The boot: a new process, a new boot id, the arguments took effect.
  boot_ = "boot-2";
  need_.status = {};
  o = Make();
  s = o->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kBooted);
  EXPECT_FALSE(NodeObj()["spec"].contains("unschedulable"));
  an = NodeObj()["metadata"]["annotations"];
  EXPECT_EQ(an["sriovnetwork.openshift.io/desired-state"], "Idle");
  EXPECT_EQ(an["sriovnetwork.openshift.io/current-state"], "Idle");
  lease = server_->Get(
      "/apis/coordination.k8s.io/v1/namespaces/sriov-network-operator/leases/"
      "sriovkit-drain-default-0");
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "");
  EXPECT_FALSE(std::filesystem::exists(o->MarkerPath()));
  EXPECT_EQ(rebooter_.reasons.size(), 1u);
}

TEST_F(OrchestratorTest, ArgumentsThatDidNotTakeEffectFailWithoutALoop) {
  need_.status = {true, "kernel argument intel_iommu=on is missing"};
  ASSERT_THAT(Make()->Step().status(), IsOk());
  ASSERT_EQ(rebooter_.reasons.size(), 1u);
  boot_ = "boot-2";
  need_.status = {true, "kernel argument intel_iommu=on is not in effect"};
  for (int i = 0; i < 3; ++i) {  // restarts, resyncs
    auto s = Make()->Step();
    ASSERT_THAT(s.status(), IsOk());
    EXPECT_EQ(s->phase, RebootPhase::kFailed);
    EXPECT_THAT(s->message, HasSubstr("intel_iommu=on is not in effect"));
  }
  EXPECT_EQ(rebooter_.reasons.size(), 1u);
  EXPECT_FALSE(NodeObj()["spec"].contains("unschedulable"));
  // --force: one more reboot, then Failed again for good.
  auto s = Make(/*force=*/true)->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kRebooting);
  EXPECT_EQ(rebooter_.reasons.size(), 2u);
  boot_ = "boot-3";
  for (int i = 0; i < 2; ++i) {
    s = Make(/*force=*/true)->Step();
    ASSERT_THAT(s.status(), IsOk());
    EXPECT_EQ(s->phase, RebootPhase::kFailed);
  }
  EXPECT_EQ(rebooter_.reasons.size(), 2u);
}

TEST_F(OrchestratorTest, PdbBlockedDrainKeepsTheSlotAndDoesNotReboot) {
  server_->RefuseEvictions("/api/v1/namespaces/web/pods/nginx", 1000);
  need_.status = {true, "kernel argument iommu=pt is missing"};
  auto o = Make();
  auto s = o->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kDrainFailed);
  EXPECT_THAT(s->message, HasSubstr("web/nginx"));
  EXPECT_TRUE(rebooter_.reasons.empty());
  EXPECT_EQ(NodeObj()["spec"]["unschedulable"], true);
  // The budget is gone: the PDB relents, the next step drains and reboots.
  server_->RefuseEvictions("/api/v1/namespaces/web/pods/nginx", 0);
  s = o->Step();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_EQ(s->phase, RebootPhase::kRebooting);
  EXPECT_EQ(rebooter_.reasons.size(), 1u);
}

TEST_F(OrchestratorTest, MarkerThroughASymlinkIsRefused) {
  std::filesystem::create_symlink("/etc/hostname",
                                  tmp_.path() / "reboot-state.json");
  need_.status = {true, "x"};
  EXPECT_THAT(Make()->Step().status(), ::testing::Not(IsOk()));
  EXPECT_TRUE(rebooter_.reasons.empty());
}

}  // namespace
}  // namespace sk::drain
