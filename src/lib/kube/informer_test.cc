#include "lib/kube/informer.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

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
using ::sk::testing::TestPki;
using ::testing::Contains;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

constexpr char kToken[] = "informer-token";
constexpr auto kWait = 10s;

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

std::string PodPath(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/pods/" + name;
}

// A FakeClock whose sleeps block while the gate is closed (bounded), so a
// test can hold the informer inside a backoff.
class GatedClock : public FakeClock {
 public:
  void SleepFor(Duration d) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      ++sleepers_;
      cv_.notify_all();
      cv_.wait_for(l, kWait, [&] { return open_; });
      --sleepers_;
    }
    FakeClock::SleepFor(d);
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitForSleeper() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kWait, [&] { return sleepers_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int sleepers_ = 0;
};

// Events and errors the informer reported, with a bounded wait on them.
class Recorder {
 public:
  void Event(const WatchEvent& ev) {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back(ev.type + " " +
                      ev.object["metadata"]["name"].get<std::string>());
    cv_.notify_all();
  }
  void Error(const absl::Status& s) {
    std::lock_guard<std::mutex> l(mu_);
    errors_.push_back(s);
    cv_.notify_all();
  }
  bool WaitForEvent(const std::string& e) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kWait, [&] {
      return std::find(events_.begin(), events_.end(), e) != events_.end();
    });
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }
  std::vector<absl::Status> errors() {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  std::vector<absl::Status> errors_;
};

// Polls `pred` until true, at most kWait (for state no callback announces).
template <typename Pred>
bool Eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::set<std::string> Names(const std::vector<nlohmann::json>& objs) {
  std::set<std::string> out;
  for (const auto& o : objs)
    out.insert(o["metadata"]["name"].get<std::string>());
  return out;
}

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options o;
    o.tokens = {{kToken, "node"}};
    auto s = ApiServerStandIn::Start(Pki(), o);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    RestConfig cfg;
    cfg.server = server_->url();
    cfg.ca_pem = Pki().ca_pem();
    cfg.token = kToken;
    ClientOptions co;
    co.clock = &clock_;
    co.max_attempts = 1;  // the informer's own backoff is under test
    auto c = Client::Create(cfg, co);
    ASSERT_THAT(c.status(), IsOk());
    client_ = *std::move(c);
  }

  InformerOptions Options() {
    InformerOptions o;
    o.path = "/api/v1/pods";
    o.field_selector = "spec.nodeName=node-a";
    o.page_size = 2;
    o.clock = &clock_;
    o.on_event = [this](const WatchEvent& ev) { rec_.Event(ev); };
    o.on_error = [this](const absl::Status& s) { rec_.Error(s); };
    return o;
  }

  void PutPod(const std::string& name, const std::string& node = "node-a",
              const std::string& ns = "default") {
    server_->Put(PodPath(ns, name), {{"spec", {{"nodeName", node}}}});
  }

  GatedClock clock_;
  Recorder rec_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(InformerTest, InitialSyncListsEveryPageWithTheSelector) {
  PutPod("a1");
  PutPod("a2");
  PutPod("a3", "node-a", "other");
  PutPod("b1", "node-b");
  Informer inf(*client_, Options());
  EXPECT_FALSE(inf.HasSynced());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  EXPECT_EQ(Names(inf.List()), (std::set<std::string>{"a1", "a2", "a3"}));
  ASSERT_TRUE(inf.Get("other", "a3").has_value());
  EXPECT_EQ((*inf.Get("other", "a3"))["spec"]["nodeName"], "node-a");
  EXPECT_FALSE(inf.Get("default", "b1").has_value());
  int lists = 0;
  for (const auto& r : server_->requests()) {
    lists +=
        r.path == "/api/v1/pods" && r.query.find("watch") == std::string::npos;
  }
  EXPECT_EQ(lists, 2);  // 3 pods, pages of 2
  inf.Stop();
}

TEST_F(InformerTest, WatchEventsAreReflected) {
  PutPod("a1");
  Informer inf(*client_, Options());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  ASSERT_TRUE(server_->WaitForWatches(1, kWait));
  PutPod("a2");
  server_->Put(PodPath("default", "a1"),
               {{"spec", {{"nodeName", "node-a"}}},
                {"metadata", {{"labels", {{"v", "2"}}}}}});
  server_->Delete(PodPath("default", "a2"));
  PutPod("b9", "node-b");  // not ours
  ASSERT_TRUE(rec_.WaitForEvent("DELETED a2"));
  EXPECT_THAT(rec_.events(),
              ::testing::ElementsAre("ADDED a1", "ADDED a2", "MODIFIED a1",
                                     "DELETED a2"));
  EXPECT_EQ((*inf.Get("default", "a1"))["metadata"]["labels"]["v"], "2");
  EXPECT_FALSE(inf.Get("default", "a2").has_value());
  EXPECT_FALSE(inf.Get("default", "b9").has_value());
  // The watch asked for bookmarks from the list's resourceVersion.
  bool saw_watch = false;
  for (const auto& r : server_->requests()) {
    if (r.query.find("watch=1") != std::string::npos) {
      saw_watch = true;
      EXPECT_NE(r.query.find("allowWatchBookmarks=true"), std::string::npos);
      EXPECT_NE(r.query.find("resourceVersion="), std::string::npos);
      EXPECT_EQ(r.user, "node");
    }
  }
  EXPECT_TRUE(saw_watch);
}

TEST_F(InformerTest, BookmarkAdvancesTheResourceVersion) {
  PutPod("a1");
  Informer inf(*client_, Options());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  ASSERT_TRUE(server_->WaitForWatches(1, kWait));
  std::string before = inf.resource_version();
  PutPod("b1", "node-b");  // moves the global resourceVersion, not our objects
  PutPod("b2", "node-b");
  std::string want = std::to_string(server_->resource_version());
  ASSERT_NE(before, want);
  server_->SendBookmarks();
  EXPECT_TRUE(Eventually([&] { return inf.resource_version() == want; }))
      << inf.resource_version() << " vs " << want;
  EXPECT_EQ(Names(inf.List()), (std::set<std::string>{"a1"}));
}

TEST_F(InformerTest, GoneRelistsAndConvergesIncludingAMissedDeletion) {
  PutPod("a1");
  PutPod("a2");
  Informer inf(*client_, Options());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  ASSERT_TRUE(server_->WaitForWatches(1, kWait));
  // Hold the informer in a backoff: its next watch fails, then it sleeps.
  clock_.Close();
  server_->FailNext(1, 500, -1, "/api/v1/pods");
  server_->CloseWatches();
  ASSERT_TRUE(clock_.WaitForSleeper());
  // Meanwhile (the gap): a deletion and an addition it will not be told
  // about, and the history it would resume from is compacted away.
  server_->Delete(PodPath("default", "a1"));
  PutPod("a3");
  server_->SetCompactedResourceVersion(server_->resource_version());
  clock_.Open();
  ASSERT_TRUE(rec_.WaitForEvent("DELETED a1"));
  ASSERT_TRUE(rec_.WaitForEvent("ADDED a3"));
  EXPECT_EQ(Names(inf.List()), (std::set<std::string>{"a2", "a3"}));
  EXPECT_EQ(inf.list_count(), 2);
  bool saw_gone = false;
  for (const auto& s : rec_.errors()) saw_gone |= IsResourceExpired(s);
  EXPECT_TRUE(saw_gone);
  // And it keeps watching after the relist.
  ASSERT_TRUE(server_->WaitForWatches(1, kWait));
  PutPod("a4");
  EXPECT_TRUE(rec_.WaitForEvent("ADDED a4"));
}

TEST_F(InformerTest, ExpiredWatchRelists) {
  PutPod("a1");
  Informer inf(*client_, Options());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  ASSERT_TRUE(server_->WaitForWatches(1, kWait));
  server_->ExpireWatches();
  EXPECT_TRUE(Eventually([&] { return inf.list_count() == 2; }));
  EXPECT_TRUE(clock_.sleeps().empty()) << "a 410 relists at once";
}

TEST_F(InformerTest, ServerErrorsBackOffThenRecover) {
  PutPod("a1");
  server_->FailNext(3, 500, -1, "/api/v1/pods");
  Informer inf(*client_, Options());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  EXPECT_EQ(Names(inf.List()), (std::set<std::string>{"a1"}));
  EXPECT_EQ(rec_.errors().size(), 3u);
  Clock::Duration slept{};
  for (auto d : clock_.sleeps()) slept += d;
  EXPECT_EQ(slept, 500ms + 1000ms + 2000ms);  // 500 ms doubling
}

TEST_F(InformerTest, BackoffIsBounded) {
  server_->FailNext(8, 503, -1, "/api/v1/pods");
  InformerOptions o = Options();
  o.max_backoff = 2s;
  Informer inf(*client_, o);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  Clock::Duration slept{};
  for (auto d : clock_.sleeps()) slept += d;
  EXPECT_EQ(slept, 500ms + 1000ms + 6 * 2000ms);
}

TEST_F(InformerTest, StopEndsAnOpenWatchPromptly) {
  Informer inf(*client_, Options());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(kWait));
  ASSERT_TRUE(server_->WaitForWatches(1, kWait));
  auto start = std::chrono::steady_clock::now();
  inf.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(Eventually([&] { return server_->open_watches() == 0; }));
}

}  // namespace
}  // namespace sk::kube
