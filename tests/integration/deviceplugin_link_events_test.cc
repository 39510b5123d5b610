// The real rtnetlink link-event source (lib/deviceplugin/events.h) against
// the kernel (root): a veth pair in a private netns; setting one end down
// takes the carrier of the other, and the source reports it. The source is
// opened inside the netns (a netlink socket stays in the netns it was
// created in); the links are driven with `ip -n`.
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/deviceplugin/events.h"
#include "lib/net/netns.h"

namespace sk::deviceplugin {
namespace {

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// Drains `src` into `seen` until `done(seen)` or `timeout`.
bool WaitEvents(
    EventSource& src, std::vector<DeviceEvent>& seen,
    const std::function<bool(const std::vector<DeviceEvent>&)>& done,
    absl::Duration timeout = absl::Seconds(5)) {
  absl::Time end = absl::Now() + timeout;
  while (!done(seen)) {
    int64_t left = absl::ToInt64Milliseconds(end - absl::Now());
    if (left <= 0) return false;
    struct pollfd p = {src.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) == 1) {
      for (DeviceEvent& ev : src.Drain()) seen.push_back(std::move(ev));
    }
  }
  return true;
}

bool Has(const std::vector<DeviceEvent>& evs, const std::string& action,
         const std::string& ifname, const std::string& carrier = "") {
  for (const DeviceEvent& e : evs) {
    auto name = e.env.find("INTERFACE");
    auto c = e.env.find("CARRIER");
    if (e.action == action && name != e.env.end() && name->second == ifname &&
        (carrier.empty() || (c != e.env.end() && c->second == carrier))) {
      return true;
    }
  }
  return false;
}

class LinkEventsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ns_ = "skdp-link-" + std::to_string(::getpid());
    ASSERT_EQ(Sh("ip netns add " + ns_), 0);
    absl::StatusOr<UniqueFd> orig = net::OpenCurrentNetns();
    ASSERT_TRUE(orig.ok()) << orig.status();
    absl::StatusOr<UniqueFd> inner = net::OpenNetns("/run/netns/" + ns_);
    ASSERT_TRUE(inner.ok()) << inner.status();
    ASSERT_EQ(::setns(inner->get(), CLONE_NEWNET), 0);
    LinkSourceOptions all;
    all.include_virtual = true;
    auto a = OpenLinkEventSource(all);
    auto p = OpenLinkEventSource();  // production filter: no virtual links
    ASSERT_EQ(::setns(orig->get(), CLONE_NEWNET), 0);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(p.ok()) << p.status();
    all_ = *std::move(a);
    physical_ = *std::move(p);
  }
  void TearDown() override {
    if (!ns_.empty()) Sh("ip netns del " + ns_);
  }
  int Ip(const std::string& args) { return Sh("ip -n " + ns_ + " " + args); }

  std::string ns_;
  std::unique_ptr<EventSource> all_;
  std::unique_ptr<EventSource> physical_;
};

TEST_F(LinkEventsIntegrationTest, PeerDownTakesCarrierAndIsReported) {
  std::vector<DeviceEvent> seen;
  ASSERT_EQ(Ip("link add ska0 type veth peer name skb0"), 0);
  ASSERT_TRUE(WaitEvents(*all_, seen, [](const auto& s) {
    return Has(s, "add", "ska0") && Has(s, "add", "skb0");
  }));
  ASSERT_EQ(Ip("link set ska0 up"), 0);
  ASSERT_EQ(Ip("link set skb0 up"), 0);
  ASSERT_TRUE(WaitEvents(*all_, seen, [](const auto& s) {
    return Has(s, "change", "ska0", "1");
  })) << "no carrier-on event for ska0";

  seen.clear();
  absl::Time t0 = absl::Now();
  ASSERT_EQ(Ip("link set skb0 down"), 0);
  ASSERT_TRUE(WaitEvents(*all_, seen, [](const auto& s) {
    return Has(s, "change", "ska0", "0");
  })) << "no carrier-off event for ska0";
  absl::Duration took = absl::Now() - t0;
  RecordProperty("carrier_off_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(took)));

  // A rename (the kernel refuses it on a running veth: down first).
  ASSERT_EQ(Ip("link set ska0 down"), 0);
  ASSERT_EQ(Ip("link set ska0 name skc0"), 0);
  ASSERT_TRUE(WaitEvents(*all_, seen, [](const auto& s) {
    return Has(s, "move", "skc0");
  })) << "no rename event";
  ASSERT_EQ(Ip("link del skc0"), 0);
  ASSERT_TRUE(WaitEvents(
      *all_, seen, [](const auto& s) { return Has(s, "remove", "skc0"); }));

  // The production source saw the same kernel messages and reported none:
  // veth links are virtual.
  std::vector<DeviceEvent> quiet;
  EXPECT_FALSE(WaitEvents(
      *physical_, quiet, [](const auto& s) { return !s.empty(); },
      absl::Milliseconds(100)));
}

}  // namespace
}  // namespace sk::deviceplugin
