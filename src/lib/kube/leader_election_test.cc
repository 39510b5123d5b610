#include "lib/kube/leader_election.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace sk::kube {
namespace {

using ::sk::testing::ApiServerStandIn;
using ::sk::testing::IsOk;
using ::sk::testing::TestPki;

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options so;
    so.tokens = {{"t", "x"}};
    auto s = ApiServerStandIn::Start(Pki(), so);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    RestConfig cfg;
    cfg.server = server_->url();
    cfg.ca_pem = Pki().ca_pem();
    cfg.token = "t";
    ClientOptions o;
    o.max_attempts = 1;
    o.clock = &clock_;
    auto c = Client::Create(cfg, o);
    ASSERT_THAT(c.status(), IsOk());
    client_ = *std::move(c);
  }
  LeaderElectionOptions Opts(const std::string& id) {
    LeaderElectionOptions o;
    o.lease.ns = "sriovkit";
    o.lease.name = "sriovkit-nad-controller";
    o.lease.identity = id;
    o.lease.duration = std::chrono::seconds(15);
    o.lease.clock = &clock_;
    return o;
  }

  sk::testing::FakeClock clock_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(LeaderElectionTest, LeaderStepsDownWhenRenewalsFailPastTheDeadline) {
  LeaderElector a(*client_, Opts("a"));
  int started = 0, stopped = 0;
  a.set_on_started_leading([&] { ++started; });
  a.set_on_stopped_leading([&] { ++stopped; });
  EXPECT_TRUE(a.Step());
  EXPECT_EQ(started, 1);
  EXPECT_TRUE(a.Step());  // a renewal is not a new term
  EXPECT_EQ(started, 1);
  server_->FailNext(1000, 503, -1, "leases");
  clock_.Advance(std::chrono::seconds(9));
  EXPECT_TRUE(a.Step());  // failed, but within the 10 s renew deadline
  EXPECT_TRUE(a.IsLeader());
  clock_.Advance(std::chrono::seconds(1));
  // Past the deadline even without another attempt.
  EXPECT_FALSE(a.IsLeader());
  EXPECT_FALSE(a.Step());
  EXPECT_EQ(stopped, 1);
}

TEST_F(LeaderElectionTest, StandbyTakesOverOnlyAfterTheLeaseExpires) {
  LeaderElector a(*client_, Opts("a"));
  LeaderElector b(*client_, Opts("b"));
  ASSERT_TRUE(a.Step());
  EXPECT_FALSE(b.Step());
  // a stops renewing (crashed): b waits the full duration on its clock.
  clock_.Advance(std::chrono::seconds(14));
  EXPECT_FALSE(b.Step());
  EXPECT_FALSE(a.IsLeader());  // a's own deadline (10 s) passed first
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(b.Step());
  auto lease = server_->Get(
      "/apis/coordination.k8s.io/v1/namespaces/sriovkit/leases/"
      "sriovkit-nad-controller");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "b");
  // a comes back: b holds it, a stays standby.
  EXPECT_FALSE(a.Step());
}

TEST_F(LeaderElectionTest, StopReleasesTheLease) {
  LeaderElectionOptions o = Opts("a");
  o.renew_interval = std::chrono::milliseconds(5);
  LeaderElector a(*client_, o);
  std::thread t([&] { EXPECT_THAT(a.Run(), IsOk()); });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!a.IsLeader() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(a.IsLeader());
  a.Stop();
  t.join();
  EXPECT_FALSE(a.IsLeader());
  LeaderElector b(*client_, Opts("b"));
  EXPECT_TRUE(b.Step());  // released: no wait for the expiry
}

TEST(LeaderElectionOptionsTest, MissingIdentityIsRefused) {
  // No server needed: Run() checks the options before any request.
  RestConfig cfg;
  cfg.server = "https://127.0.0.1:1";
  auto c = Client::Create(cfg);
  ASSERT_THAT(c.status(), IsOk());
  LeaderElectionOptions o;
  o.lease.ns = "ns";
  o.lease.name = "n";
  LeaderElector e(**c, o);
  EXPECT_THAT(e.Run(),
              ::sk::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                      ::testing::HasSubstr("identity \"\"")));
}

}  // namespace
}  // namespace sk::kube
