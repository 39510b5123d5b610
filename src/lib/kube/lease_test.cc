#include "lib/kube/lease.h"

#include <chrono>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace sk::kube {
namespace {

using ::sk::testing::ApiServerStandIn;
using ::sk::testing::FakeClock;
using ::sk::testing::IsOk;
using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::sk::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::Optional;
using namespace std::chrono_literals;

constexpr char kToken[] = "lease-test-token";
constexpr char kLeasePath[] =
    "/apis/coordination.k8s.io/v1/namespaces/sriovkit/leases/lock";

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

TEST(MicroTimeTest, FormatsWithMicrosecondsInUtc) {
  absl::Time t = absl::FromUnixMicros(1764515045123456);
  EXPECT_EQ(FormatMicroTime(t), "2025-11-30T15:04:05.123456Z");
  auto back = ParseMicroTime("renewTime", FormatMicroTime(t));
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(*back, t);
}

TEST(MicroTimeTest, ParsesOffsetsAndRejectsGarbageNamingTheField) {
  auto t = ParseMicroTime("renewTime", "2025-11-30T16:04:05+01:00");
  ASSERT_THAT(t.status(), IsOk());
  EXPECT_EQ(absl::ToUnixSeconds(*t), 1764515045);
  EXPECT_THAT(ParseMicroTime("spec.renewTime", "yesterday").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.renewTime \"yesterday\"")));
}

TEST(LeaseRecordTest, RoundTripsAndRejectsBadFields) {
  LeaseRecord r;
  r.holder_identity = "node-a";
  r.lease_duration_seconds = 15;
  r.acquire_time = absl::FromUnixSeconds(1000);
  r.renew_time = absl::FromUnixMicros(2000000001);
  r.lease_transitions = 3;
  r.resource_version = "42";
  nlohmann::json j = LeaseToJson("ns", "l", r);
  EXPECT_EQ(j["kind"], "Lease");
  EXPECT_EQ(j["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(j["metadata"]["resourceVersion"], "42");
  auto back = LeaseRecordFromJson(j);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->holder_identity, "node-a");
  EXPECT_EQ(back->lease_duration_seconds, 15);
  EXPECT_EQ(back->acquire_time, r.acquire_time);
  EXPECT_EQ(back->renew_time, r.renew_time);
  EXPECT_EQ(back->lease_transitions, 3);
  EXPECT_EQ(back->resource_version, "42");

  j["spec"]["leaseDurationSeconds"] = "15";
  EXPECT_THAT(LeaseRecordFromJson(j).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.leaseDurationSeconds")));
  j["spec"]["leaseDurationSeconds"] = 15;
  j["spec"]["holderIdentity"] = 7;
  EXPECT_THAT(LeaseRecordFromJson(j).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("holderIdentity")));
  EXPECT_THAT(
      LeasePath("sriovkit", "Bad_Name").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"Bad_Name\"")));
}

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options o;
    o.tokens = {{kToken, "lease-holder"}};
    auto s = ApiServerStandIn::Start(Pki(), o);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    RestConfig c;
    c.server = server_->url();
    c.ca_pem = Pki().ca_pem();
    c.token = kToken;
    ClientOptions co;
    co.clock = &clock_;
    co.max_attempts = 1;
    auto client = Client::Create(c, co);
    ASSERT_THAT(client.status(), IsOk());
    client_ = *std::move(client);
  }

  LeaseOptions Opts(const std::string& identity) {
    LeaseOptions o;
    o.ns = "sriovkit";
    o.name = "lock";
    o.identity = identity;
    o.duration = 15s;
    o.clock = &clock_;
    o.wall_now = [this] { return wall_; };
    return o;
  }
  LeaseSlotsOptions SlotOpts(const std::string& identity) {
    LeaseSlotsOptions o;
    o.ns = "sriovkit";
    o.prefix = "sriovkit-drain-pool-a";
    o.identity = identity;
    o.duration = 15s;
    o.clock = &clock_;
    o.wall_now = [this] { return wall_; };
    return o;
  }
  std::string Holder(const std::string& path = kLeasePath) {
    auto got = server_->Get(path);
    if (!got) return "<missing>";
    return (*got)["spec"].value("holderIdentity", "");
  }

  FakeClock clock_;
  absl::Time wall_ = absl::FromUnixSeconds(1764515045);
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(LeaseTest, FirstCandidateCreatesTheLeaseAndOthersWait) {
  LeaseLock a(*client_, Opts("node-a"));
  LeaseLock b(*client_, Opts("node-b"));
  EXPECT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  EXPECT_TRUE(a.Held());
  auto stored = server_->Get(kLeasePath);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ((*stored)["spec"]["holderIdentity"], "node-a");
  EXPECT_EQ((*stored)["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ((*stored)["spec"]["renewTime"], "2025-11-30T15:04:05.000000Z");
  EXPECT_EQ((*stored)["spec"]["acquireTime"], "2025-11-30T15:04:05.000000Z");

  EXPECT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(false));
  EXPECT_FALSE(b.Held());
  EXPECT_EQ(Holder(), "node-a");
}

TEST_F(LeaseTest, ExpiryIsMeasuredOnTheObserversClockFromTheLastChange) {
  LeaseLock a(*client_, Opts("node-a"));
  LeaseLock b(*client_, Opts("node-b"));
  ASSERT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  ASSERT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(false));
  clock_.Advance(10s);
  wall_ += absl::Seconds(10);
  // a renews: b's observation restarts, so 10 s later b still waits.
  ASSERT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  EXPECT_EQ(Holder(), "node-a");
  ASSERT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(false));
  clock_.Advance(10s);
  EXPECT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(false));
  EXPECT_TRUE(a.Held());
  // 15 s without a renewal: a no longer holds it, b takes it over.
  clock_.Advance(5s);
  EXPECT_FALSE(a.Held());
  EXPECT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(true));
  EXPECT_EQ(Holder(), "node-b");
  EXPECT_EQ((*server_->Get(kLeasePath))["spec"]["leaseTransitions"], 1);
  // a finds it lost.
  EXPECT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(false));
  EXPECT_FALSE(a.Held());
}

TEST_F(LeaseTest, ReleaseFreesTheLeaseAtOnce) {
  LeaseLock a(*client_, Opts("node-a"));
  LeaseLock b(*client_, Opts("node-b"));
  ASSERT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  ASSERT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(false));
  // b's release of a lease it does not hold changes nothing.
  EXPECT_THAT(b.Release(), IsOk());
  EXPECT_EQ(Holder(), "node-a");
  EXPECT_THAT(a.Release(), IsOk());
  EXPECT_FALSE(a.Held());
  EXPECT_EQ(Holder(), "");
  EXPECT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(true));
  EXPECT_EQ(Holder(), "node-b");
}

TEST_F(LeaseTest, OwnLeaseIsTakenBackAtOnceAfterARestart) {
  {
    LeaseLock before(*client_, Opts("node-a"));
    ASSERT_THAT(before.TryAcquireOrRenew(), IsOkAndHolds(true));
  }
  LeaseLock after(*client_, Opts("node-a"));
  EXPECT_THAT(after.TryAcquireOrRenew(), IsOkAndHolds(true));
  EXPECT_EQ((*server_->Get(kLeasePath))["spec"]["leaseTransitions"], 0);
}

TEST_F(LeaseTest, ConflictRereadsAndDecidesAgain) {
  LeaseLock a(*client_, Opts("node-a"));
  ASSERT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  server_->ClearRequests();
  server_->FailNext(1, 409, -1, "/leases/lock", "PUT");
  EXPECT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  std::vector<std::string> seen;
  for (const auto& r : server_->requests())
    seen.push_back(absl::StrCat(r.method, " ", r.status));
  EXPECT_THAT(
      seen, ::testing::ElementsAre("GET 200", "PUT 409", "GET 200", "PUT 200"));
}

TEST_F(LeaseTest, StaleResourceVersionLosesTheRace) {
  // b read the free lease, then a took it: b's write carries the old
  // resourceVersion, gets 409, re-reads and sees a holding it.
  server_->Put(kLeasePath, LeaseToJson("sriovkit", "lock", LeaseRecord{}));
  LeaseLock a(*client_, Opts("node-a"));
  LeaseLock b(*client_, Opts("node-b"));
  ASSERT_THAT(b.Observe().status(), IsOk());
  ASSERT_THAT(a.TryAcquireOrRenew(), IsOkAndHolds(true));
  LeaseRecord stale = *b.observed();
  stale.holder_identity = "node-b";
  EXPECT_THAT(
      client_->Put(kLeasePath, LeaseToJson("sriovkit", "lock", stale)).status(),
      StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(b.TryAcquireOrRenew(), IsOkAndHolds(false));
  EXPECT_EQ(Holder(), "node-a");
}

TEST_F(LeaseTest, SlotsAdmitAtMostNHolders) {
  LeaseSlots a(*client_, SlotOpts("node-a"));
  LeaseSlots b(*client_, SlotOpts("node-b"));
  LeaseSlots c(*client_, SlotOpts("node-c"));
  EXPECT_THAT(a.TryAcquire(2), IsOkAndHolds(Optional(0)));
  EXPECT_THAT(b.TryAcquire(2), IsOkAndHolds(Optional(1)));
  EXPECT_THAT(c.TryAcquire(2), IsOkAndHolds(std::optional<int>()));
  // Renewing keeps the same slot; no second slot for the same holder.
  EXPECT_THAT(a.TryAcquire(2), IsOkAndHolds(Optional(0)));
  EXPECT_EQ(a.held(), std::optional<int>(0));
  constexpr char kSlot0[] =
      "/apis/coordination.k8s.io/v1/namespaces/sriovkit/leases/"
      "sriovkit-drain-pool-a-0";
  constexpr char kSlot1[] =
      "/apis/coordination.k8s.io/v1/namespaces/sriovkit/leases/"
      "sriovkit-drain-pool-a-1";
  EXPECT_EQ(Holder(kSlot0), "node-a");
  EXPECT_EQ(Holder(kSlot1), "node-b");
  ASSERT_THAT(a.Release(), IsOk());
  EXPECT_EQ(a.held(), std::nullopt);
  EXPECT_THAT(c.TryAcquire(2), IsOkAndHolds(Optional(0)));
  EXPECT_THAT(a.TryAcquire(2), IsOkAndHolds(std::optional<int>()));
  // b restarts: it finds its own slot.
  LeaseSlots b2(*client_, SlotOpts("node-b"));
  EXPECT_THAT(b2.TryAcquire(2), IsOkAndHolds(Optional(1)));
  EXPECT_THAT(a.TryAcquire(0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sk::kube
