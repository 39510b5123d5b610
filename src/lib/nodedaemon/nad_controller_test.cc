#include "lib/nodedaemon/nad_controller.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/kube/leader_election.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace sk::nodedaemon {
namespace {

using nlohmann::json;
using ::sk::testing::ApiServerStandIn;
using ::sk::testing::IsOk;
using ::sk::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kNs[] = "sriov-network-operator";

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

std::string NetPath(const std::string& name) {
  return std::string(kGroupVersionPath) + "/namespaces/" + kNs + "/" +
         kSriovNetworkResource + "/" + name;
}

std::string NadAt(const std::string& ns, const std::string& name) {
  return std::string(kNadGroupVersionPath) + "/namespaces/" + ns + "/" +
         kNadResource + "/" + name;
}

json Net(const std::string& name, int vlan, const std::string& target = "") {
  json spec = {{"resourceName", "intel_vm"},
               {"vlan", vlan},
               {"ipam", R"({ "type": "host-local" })"}};
  if (!target.empty()) spec["networkNamespace"] = target;
  return {{"apiVersion", "sriovnetwork.openshift.io/v1"},
          {"kind", "SriovNetwork"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", spec}};
}

class NadControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options o;
    o.tokens = {{"t", "controller"}};
    auto s = ApiServerStandIn::Start(Pki(), o);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    kube::ClientOptions kopts;
    kopts.max_attempts = 1;
    auto c = server_->NewClient(Pki(), "t", kopts);
    ASSERT_THAT(c.status(), IsOk());
    client_ = *std::move(c);
    opts_.namespace_name = kNs;
    opts_.debounce = std::chrono::milliseconds(10);
  }
  NadReconcileResult Pass() {
    NadController c(*client_, opts_);
    return c.ReconcileFromApi();
  }
  int Writes() {
    int n = 0;
    for (const auto& r : server_->requests())
      n += r.method == "POST" || r.method == "PUT" || r.method == "PATCH" ||
           r.method == "DELETE";
    return n;
  }
  // The NAD the operator's rendering gives for `net`.
  json Rendered(const json& net) {
    auto n = nodeconfig::ParseSriovNetworkObject(net, "t");
    EXPECT_THAT(n.status(), IsOk());
    return nodeconfig::RenderNad(*n, {});
  }

  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<kube::Client> client_;
  NadControllerOptions opts_;
};

TEST_F(NadControllerTest, CreatesUpdatesOnlyOnChangeMovesAndDeletes) {
  server_->Put(NetPath("blue"), Net("blue", 100));
  server_->Put(NetPath("red"), Net("red", 200, "vms"));
  NadReconcileResult r = Pass();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.created, ElementsAre(std::string(kNs) + "/blue", "vms/red"));
  auto blue = server_->Get(NadAt(kNs, "blue"));
  ASSERT_TRUE(blue.has_value());
  json want = Rendered(Net("blue", 100));
  EXPECT_EQ((*blue)["spec"]["config"], want["spec"]["config"]);
  EXPECT_THAT((*blue)["spec"]["config"].get<std::string>(),
              HasSubstr("\"vlan\":100"));
  EXPECT_EQ(
      (*blue)["metadata"]["annotations"][kOwnerRefAnnotation],
      "SriovNetwork.sriovnetwork.openshift.io/" + std::string(kNs) + "/blue");
  EXPECT_EQ(
      (*blue)["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"],
      "openshift.io/intel_vm");
  ASSERT_TRUE(server_->Get(NadAt("vms", "red")).has_value());

  // Nothing changed: nothing written.
  server_->ClearRequests();
  r = Pass();
  EXPECT_EQ(r.unchanged, 2);
  EXPECT_EQ(Writes(), 0);

  // A changed vlan updates that NAD only; a moved network is created in
  // its new namespace and removed from the old one.
  server_->Put(NetPath("blue"), Net("blue", 101));
  server_->Put(NetPath("red"), Net("red", 200, "other"));
  r = Pass();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_THAT(r.updated, ElementsAre(std::string(kNs) + "/blue"));
  EXPECT_THAT(r.created, ElementsAre("other/red"));
  EXPECT_THAT(r.deleted, ElementsAre("vms/red"));
  EXPECT_THAT(
      (*server_->Get(NadAt(kNs, "blue")))["spec"]["config"].get<std::string>(),
      HasSubstr("\"vlan\":101"));
  EXPECT_FALSE(server_->Get(NadAt("vms", "red")).has_value());

  // Someone edits our NAD: the next pass puts the rendering back.
  json edited = *server_->Get(NadAt(kNs, "blue"));
  edited["spec"]["config"] = "{}";
  server_->Put(NadAt(kNs, "blue"), edited);
  r = Pass();
  EXPECT_THAT(r.updated, ElementsAre(std::string(kNs) + "/blue"));

  // The SriovNetwork is deleted: so is its NAD.
  ASSERT_TRUE(server_->Delete(NetPath("blue")));
  r = Pass();
  EXPECT_THAT(r.deleted, ElementsAre(std::string(kNs) + "/blue"));
  EXPECT_FALSE(server_->Get(NadAt(kNs, "blue")).has_value());
}

TEST_F(NadControllerTest, ForeignNadsAreNeverOverwrittenOrDeleted) {
  // Same name, no owner-ref: written by hand.
  json mine = {{"metadata", {{"annotations", {{"note", "hand-made"}}}}},
               {"spec", {{"config", "{\"type\":\"macvlan\"}"}}}};
  server_->Put(NadAt(kNs, "blue"), mine);
  // Owned by a SriovNetwork of another namespace (another controller's).
  json theirs = {{"metadata",
                  {{"annotations",
                    {{kOwnerRefAnnotation,
                      "SriovNetwork.sriovnetwork.openshift.io/elsewhere/x"}}}}},
                 {"spec", {{"config", "{}"}}}};
  server_->Put(NadAt("default", "x"), theirs);
  server_->Put(NetPath("blue"), Net("blue", 100));
  server_->ClearRequests();
  NadReconcileResult r = Pass();
  ASSERT_THAT(r.status, IsOk());
  ASSERT_THAT(r.errors, ElementsAre(HasSubstr("exists and is not ours")));
  EXPECT_THAT(r.errors[0], HasSubstr(std::string(kNs) + "/blue"));
  EXPECT_EQ(Writes(), 0);
  EXPECT_EQ((*server_->Get(NadAt(kNs, "blue")))["spec"]["config"],
            "{\"type\":\"macvlan\"}");
  EXPECT_TRUE(server_->Get(NadAt("default", "x")).has_value());
}

TEST_F(NadControllerTest, InvalidNetworkIsReportedAndTheOthersGoOn) {
  server_->Put(NetPath("blue"), Net("blue", 100));
  server_->Put(NetPath("green"), Net("green", 300));
  ASSERT_THAT(Pass().status, IsOk());
  // green turns invalid; a new invalid one and a new valid one arrive.
  server_->Put(NetPath("green"), Net("green", 5000));
  json bad = Net("bad", 1);
  bad["spec"]["linkState"] = "sometimes";
  server_->Put(NetPath("bad"), bad);
  server_->Put(NetPath("pink"), Net("pink", 7));
  NadReconcileResult r = Pass();
  ASSERT_THAT(r.status, IsOk());
  EXPECT_THAT(r.created, ElementsAre(std::string(kNs) + "/pink"));
  EXPECT_THAT(r.deleted, IsEmpty());  // green's last good NAD is kept
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_THAT(r.errors[0], HasSubstr("spec.linkState"));
  EXPECT_THAT(r.errors[0], HasSubstr("sometimes"));
  EXPECT_THAT(r.errors[1], HasSubstr("spec.vlan"));
  EXPECT_THAT(r.errors[1], HasSubstr("5000"));
  EXPECT_THAT(
      (*server_->Get(NadAt(kNs, "green")))["spec"]["config"].get<std::string>(),
      HasSubstr("\"vlan\":300"));
  // A target namespace that cannot be a path segment is refused.
  server_->Put(NetPath("evil"), Net("evil", 1, "../x"));
  r = Pass();
  EXPECT_THAT(r.errors, ::testing::Contains(AllOf(
                            HasSubstr("spec.networkNamespace"),
                            HasSubstr("\"../x\" is not a valid object name"))));
}

TEST_F(NadControllerTest, NotLeadingWritesNothing) {
  server_->Put(NetPath("blue"), Net("blue", 100));
  opts_.leading = [] { return false; };
  server_->ClearRequests();
  NadReconcileResult r = Pass();
  EXPECT_THAT(r.status, ::sk::testing::StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(Writes(), 0);
  EXPECT_FALSE(server_->Get(NadAt(kNs, "blue")).has_value());
}

// Waits (real time, bounded) for `pred`.
template <typename F>
bool Eventually(F pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

TEST_F(NadControllerTest, RunFollowsTheWatch) {
  NadController c(*client_, opts_);
  std::thread t([&] { EXPECT_THAT(c.Run(), IsOk()); });
  server_->Put(NetPath("blue"), Net("blue", 100));
  EXPECT_TRUE(
      Eventually([&] { return server_->Get(NadAt(kNs, "blue")).has_value(); }));
  server_->Delete(NetPath("blue"));
  EXPECT_TRUE(Eventually(
      [&] { return !server_->Get(NadAt(kNs, "blue")).has_value(); }));
  c.Stop();
  t.join();
}

// Two replicas against one API server: only the Lease holder writes NADs;
// when it stops renewing (crash), the other takes over once the Lease has
// expired on its clock, and its pass brings the NADs up to date.
TEST_F(NadControllerTest, TwoReplicasOnlyTheLeaderWritesThenTheOtherTakesOver) {
  sk::testing::FakeClock clock;
  auto election = [&](const std::string& id) {
    kube::LeaderElectionOptions e;
    e.lease.ns = kNs;
    e.lease.name = kNadControllerLease;
    e.lease.identity = id;
    e.lease.duration = std::chrono::seconds(15);
    e.lease.clock = &clock;
    return e;
  };
  kube::LeaderElector ea(*client_, election("a"));
  kube::LeaderElector eb(*client_, election("b"));
  NadControllerOptions oa = opts_, ob = opts_;
  oa.leading = [&] { return ea.IsLeader(); };
  ob.leading = [&] { return eb.IsLeader(); };
  NadController a(*client_, oa), b(*client_, ob);
  server_->Put(NetPath("blue"), Net("blue", 100));

  ASSERT_TRUE(ea.Step());
  ASSERT_FALSE(eb.Step());
  server_->ClearRequests();
  NadReconcileResult rb = b.ReconcileFromApi();
  EXPECT_THAT(rb.status, ::sk::testing::StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(Writes(), 0);
  NadReconcileResult ra = a.ReconcileFromApi();
  EXPECT_THAT(ra.created, ElementsAre(std::string(kNs) + "/blue"));

  // a crashes (no more renewals); the network changes meanwhile.
  server_->Put(NetPath("blue"), Net("blue", 222));
  clock.Advance(std::chrono::seconds(14));
  EXPECT_FALSE(eb.Step());  // not expired yet
  server_->ClearRequests();
  EXPECT_THAT(b.ReconcileFromApi().status,
              ::sk::testing::StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(Writes(), 0);
  EXPECT_FALSE(ea.IsLeader());  // a would have stopped writing by now
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(eb.Step());
  rb = b.ReconcileFromApi();
  ASSERT_THAT(rb.status, IsOk());
  EXPECT_THAT(rb.updated, ElementsAre(std::string(kNs) + "/blue"));
  EXPECT_THAT(
      (*server_->Get(NadAt(kNs, "blue")))["spec"]["config"].get<std::string>(),
      HasSubstr("\"vlan\":222"));
}

}  // namespace
}  // namespace sk::nodedaemon
