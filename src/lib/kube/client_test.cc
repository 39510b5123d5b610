#include "lib/kube/client.h"

#include <chrono>
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
using ::sk::testing::StatusIs;
using ::sk::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kToken[] = "tok-3f9a1c-secret";
constexpr char kPod[] = "/api/v1/namespaces/default/pods/p1";

const TestPki& Pki() {
  static const TestPki* pki = new TestPki(*TestPki::Create());
  return *pki;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options o;
    o.tokens = {{kToken, "alice"}};
    auto s = ApiServerStandIn::Start(Pki(), o);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
  }

  RestConfig Config() const {
    RestConfig c;
    c.server = server_->url();
    c.ca_pem = Pki().ca_pem();
    c.token = kToken;
    return c;
  }
  ClientOptions Options() {
    ClientOptions o;
    o.clock = &clock_;
    o.connect_timeout = 5s;
    o.request_timeout = 10s;
    return o;
  }
  std::unique_ptr<Client> MakeClient(RestConfig c, ClientOptions o) {
    auto client = Client::Create(std::move(c), o);
    EXPECT_THAT(client.status(), IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }
  std::unique_ptr<Client> MakeClient() {
    return MakeClient(Config(), Options());
  }

  // Every error a test saw, checked for credentials at the end.
  void Remember(const absl::Status& s) {
    errors_.push_back(std::string(s.message()));
  }
  void TearDown() override {
    for (const std::string& e : errors_) {
      EXPECT_THAT(e, Not(HasSubstr(kToken)));
      EXPECT_THAT(e, Not(HasSubstr("PRIVATE KEY")));
    }
  }

  FakeClock clock_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::vector<std::string> errors_;
};

TEST_F(ClientTest, GetWithTokenReturnsTheObjectAndTheServerSeesTheUser) {
  server_->Put(kPod, {{"spec", {{"nodeName", "node-a"}}}});
  auto c = MakeClient();
  auto pod = c->Get(kPod);
  ASSERT_THAT(pod.status(), IsOk());
  EXPECT_EQ((*pod)["spec"]["nodeName"], "node-a");
  EXPECT_EQ((*pod)["metadata"]["name"], "p1");
  auto log = server_->requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].path, kPod);
  EXPECT_EQ(log[0].user, "alice");
}

TEST_F(ClientTest, NotFoundNamesVerbPathStatusAndApiMessage) {
  auto c = MakeClient();
  auto pod = c->Get("/api/v1/namespaces/default/pods/x");
  Remember(pod.status());
  EXPECT_THAT(pod.status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "GET /api/v1/namespaces/default/pods/x: 404 Not Found: "
                       "pods \"x\" not found"));
}

TEST_F(ClientTest, WrongTokenIsUnauthenticatedAndNeverEchoed) {
  RestConfig cfg = Config();
  cfg.token = "wrong-token-77c1";
  auto c = MakeClient(cfg, Options());
  auto pod = c->Get(kPod);
  Remember(pod.status());
  EXPECT_THAT(pod.status(), StatusIs(absl::StatusCode::kUnauthenticated,
                                     HasSubstr("401 Unauthorized")));
  EXPECT_THAT(std::string(pod.status().message()),
              Not(HasSubstr("wrong-token-77c1")));
  EXPECT_TRUE(clock_.sleeps().empty()) << "401 must not be retried";
}

TEST_F(ClientTest, ClientCertificateAuthenticates) {
  auto bob = Pki().IssueClient("bob", {"system:nodes"});
  ASSERT_THAT(bob.status(), IsOk());
  server_->Put(kPod, {});
  RestConfig cfg = Config();
  cfg.token.clear();
  cfg.client_cert_pem = bob->cert_pem;
  cfg.client_key_pem = bob->key_pem;
  auto c = MakeClient(cfg, Options());
  EXPECT_THAT(c->Get(kPod).status(), IsOk());
  ASSERT_FALSE(server_->requests().empty());
  EXPECT_EQ(server_->requests().back().user, "bob");
}

TEST_F(ClientTest, NoCredentialsIsUnauthenticated) {
  RestConfig cfg = Config();
  cfg.token.clear();
  auto c = MakeClient(cfg, Options());
  EXPECT_THAT(c->Get(kPod).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(ClientTest, UntrustedServerIsATlsErrorNamingTheServer) {
  auto other = TestPki::Create("another-ca");
  ASSERT_THAT(other.status(), IsOk());
  RestConfig cfg = Config();
  cfg.ca_pem = other->ca_pem();
  auto c = MakeClient(cfg, Options());
  auto pod = c->Get(kPod);
  Remember(pod.status());
  EXPECT_THAT(pod.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("TLS with " + server_->url())));
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(ClientTest, InsecureSkipVerifyOnlyWithTheFlag) {
  server_->Put(kPod, {});
  RestConfig cfg = Config();
  cfg.ca_pem.clear();
  cfg.insecure_skip_tls_verify = true;
  EXPECT_THAT(
      Client::Create(cfg, Options()).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("insecure")));
  ClientOptions o = Options();
  o.allow_insecure = true;
  auto c = MakeClient(cfg, o);
  EXPECT_THAT(c->Get(kPod).status(), IsOk());
  // Without the skip and without our CA the same server is refused.
  cfg.insecure_skip_tls_verify = false;
  auto strict = MakeClient(cfg, o);
  EXPECT_THAT(strict->Get(kPod).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ClientTest, ListPaginatesAndFiltersByField) {
  for (int i = 0; i < 5; ++i) {
    server_->Put("/api/v1/namespaces/ns" + std::to_string(i % 2) + "/pods/p" +
                     std::to_string(i),
                 {{"spec", {{"nodeName", i < 3 ? "node-a" : "node-b"}}}});
  }
  server_->Put("/api/v1/namespaces/ns0/configmaps/cm", {});
  auto c = MakeClient();
  auto page = c->List("/api/v1/pods", {.limit = 2});
  ASSERT_THAT(page.status(), IsOk());
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_FALSE(page->continue_token.empty());
  EXPECT_EQ(page->resource_version,
            std::to_string(server_->resource_version()));
  auto all = c->ListAll("/api/v1/pods", {.limit = 2});
  ASSERT_THAT(all.status(), IsOk());
  EXPECT_EQ(all->items.size(), 5u);
  int pages = 0;
  for (const auto& r : server_->requests()) pages += r.path == "/api/v1/pods";
  EXPECT_EQ(pages, 1 + 3);
  auto node_a =
      c->ListAll("/api/v1/pods", {.field_selector = "spec.nodeName=node-a"});
  ASSERT_THAT(node_a.status(), IsOk());
  EXPECT_EQ(node_a->items.size(), 3u);
  auto ns1 = c->ListAll("/api/v1/namespaces/ns1/pods");
  ASSERT_THAT(ns1.status(), IsOk());
  EXPECT_EQ(ns1->items.size(), 2u);
}

TEST_F(ClientTest, WatchStreamsEventsFromAResourceVersion) {
  server_->Put(kPod, {});
  std::string rv = std::to_string(server_->resource_version());
  auto c = MakeClient();
  std::vector<std::string> seen;
  absl::Status result;
  std::thread t([&] {
    result = c->Watch(
        "/api/v1/namespaces/default/pods", {.resource_version = rv},
        [&](const WatchEvent& ev) {
          seen.push_back(ev.type + " " +
                         ev.object["metadata"]["name"].get<std::string>());
          return seen.size() < 3;
        });
  });
  ASSERT_TRUE(server_->WaitForWatches(1, 5s));
  server_->Put("/api/v1/namespaces/default/pods/p2", {});
  server_->Put(kPod, {{"spec", {{"x", 1}}}});
  server_->Delete("/api/v1/namespaces/default/pods/p2");
  t.join();
  EXPECT_THAT(result, IsOk());
  EXPECT_THAT(seen, ElementsAre("ADDED p2", "MODIFIED p1", "DELETED p2"));
}

TEST_F(ClientTest, WatchTooOldResourceVersionIsResourceExpired) {
  server_->Put(kPod, {});
  server_->Put(kPod, {});
  server_->SetCompactedResourceVersion(server_->resource_version());
  auto c = MakeClient();
  absl::Status s = c->Watch("/api/v1/pods", {.resource_version = "1"},
                            [](const WatchEvent&) { return true; });
  EXPECT_TRUE(IsResourceExpired(s)) << s;
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("410 Gone")));
  server_->SetCompactedResourceVersion(server_->resource_version(),
                                       ApiServerStandIn::GoneMode::kHttpStatus);
  s = c->Watch("/api/v1/pods", {.resource_version = "1"},
               [](const WatchEvent&) { return true; });
  EXPECT_TRUE(IsResourceExpired(s)) << s;
}

// Requests one after another reuse one kept-alive TLS connection instead of
// a TCP and TLS handshake each (as client-go's transport does).
TEST_F(ClientTest, SequentialRequestsReuseOneConnection) {
  server_->Put(kPod, {{"metadata", {{"labels", {{"a", "1"}}}}}});
  auto c = MakeClient();
  for (int i = 0; i < 5; ++i) ASSERT_THAT(c->Get(kPod).status(), IsOk());
  ASSERT_THAT(c->Patch(kPod, PatchType::kMerge,
                       {{"metadata", {{"labels", {{"b", "2"}}}}}})
                  .status(),
              IsOk());
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(ClientTest, PatchKindsSendTheirContentTypes) {
  server_->Put(kPod, {{"metadata", {{"labels", {{"a", "1"}, {"b", "2"}}}}}});
  auto c = MakeClient();
  auto r = c->Patch(kPod, PatchType::kMerge,
                    {{"metadata", {{"labels", {{"a", nullptr}}}}}});
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_FALSE((*r)["metadata"]["labels"].contains("a"));
  r = c->Patch(kPod, PatchType::kStrategicMerge,
               {{"metadata", {{"labels", {{"c", "3"}}}}}});
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ((*r)["metadata"]["labels"]["c"], "3");
  r = c->Patch(kPod, PatchType::kJson,
               nlohmann::json::array({{{"op", "replace"},
                                       {"path", "/metadata/labels/b"},
                                       {"value", "9"}}}));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ((*server_->Get(kPod))["metadata"]["labels"]["b"], "9");
  std::vector<std::string> types;
  for (const auto& req : server_->requests()) types.push_back(req.content_type);
  EXPECT_THAT(types, ElementsAre("application/merge-patch+json",
                                 "application/strategic-merge-patch+json",
                                 "application/json-patch+json"));
  auto bad =
      c->Patch(kPod, PatchType::kJson,
               nlohmann::json::array({{{"op", "remove"}, {"path", "/nope"}}}));
  Remember(bad.status());
  EXPECT_THAT(bad.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("PATCH " + std::string(kPod) + ": 422")));
}

TEST_F(ClientTest, PatchAnnotationOnStatusSubresourceKeepsSpec) {
  server_->Put(kPod, {{"spec", {{"nodeName", "node-a"}}}});
  auto c = MakeClient();
  auto r = c->PatchAnnotation(kPod, "status",
                              "k8s.v1.cni.cncf.io/network-status", "[]");
  ASSERT_THAT(r.status(), IsOk());
  auto stored = server_->Get(kPod);
  EXPECT_EQ(
      (*stored)["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"],
      "[]");
  EXPECT_EQ((*stored)["spec"]["nodeName"], "node-a");
  EXPECT_EQ(server_->requests().back().path, std::string(kPod) + "/status");
  auto gone = c->PatchAnnotation("/api/v1/namespaces/default/pods/gone",
                                 "status", "k", "v");
  EXPECT_THAT(gone.status(), StatusIs(absl::StatusCode::kNotFound));
}

// SetAnnotation: the same merge patch as PatchAnnotation, the object the
// server answers with not parsed; errors as any request's.
TEST_F(ClientTest, SetAnnotationWritesAndRemovesWithoutTheAnswer) {
  server_->Put(kPod, {{"spec", {{"nodeName", "node-a"}}}});
  auto c = MakeClient();
  ASSERT_THAT(c->SetAnnotation(kPod, "status",
                               "k8s.v1.cni.cncf.io/network-status", "[2]"),
              IsOk());
  auto stored = server_->Get(kPod);
  EXPECT_EQ(
      (*stored)["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"],
      "[2]");
  EXPECT_EQ((*stored)["spec"]["nodeName"], "node-a");
  EXPECT_EQ(server_->requests().back().path, std::string(kPod) + "/status");
  EXPECT_EQ(server_->requests().back().content_type,
            "application/merge-patch+json");
  ASSERT_THAT(c->SetAnnotation(kPod, "", "k8s.v1.cni.cncf.io/network-status",
                               std::nullopt),
              IsOk());
  EXPECT_FALSE((*server_->Get(kPod))["metadata"]["annotations"].contains(
      "k8s.v1.cni.cncf.io/network-status"));
  absl::Status gone = c->SetAnnotation("/api/v1/namespaces/default/pods/gone",
                                       "status", "k", "v");
  Remember(gone);
  EXPECT_THAT(gone, StatusIs(absl::StatusCode::kNotFound,
                             HasSubstr("PATCH /api/v1/namespaces/default/pods/"
                                       "gone/status: 404")));
}

// The network-status write (sriovkit-netattachd): a merge PATCH of
// pods/status is retried on 5xx with Retry-After and on a connection
// dropped after the request was sent; a JSON patch is not repeated then.
TEST_F(ClientTest, NetworkStatusPatchRetriesServerErrorsAndDroppedConnections) {
  server_->Put(kPod, {});
  server_->FailNext(1, 503, 2, "/status", "PATCH");
  // Dropped twice: libcurl itself may resend once on a reused connection
  // that died; the second drop reaches the client as a transport error.
  server_->FailNext(2, 0, -1, "/status", "PATCH");
  auto c = MakeClient();
  // SetAnnotation: the call the daemon writes network-status with.
  ASSERT_THAT(c->SetAnnotation(kPod, "status",
                               "k8s.v1.cni.cncf.io/network-status", "[1]"),
              IsOk());
  EXPECT_EQ((*server_->Get(kPod))["metadata"]["annotations"]
                                 ["k8s.v1.cni.cncf.io/network-status"],
            "[1]");
  // Retry-After first, then the backoff after the dropped connection(s).
  std::vector<FakeClock::Duration> sleeps = clock_.sleeps();
  ASSERT_GE(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], FakeClock::Duration(2s));
  EXPECT_EQ(sleeps[1], FakeClock::Duration(400ms));
  int dropped = 0;
  for (const auto& req : server_->requests()) dropped += req.status == 0;
  EXPECT_EQ(dropped, 2);

  // A JSON patch is not repeated after a drop.
  const size_t before = clock_.sleeps().size();
  server_->FailNext(2, 0, -1, kPod, "PATCH");
  auto j = c->Patch(kPod, PatchType::kJson,
                    nlohmann::json::parse(R"([{"op":"add","path":
                        "/metadata/labels","value":{"a":"b"}}])"));
  Remember(j.status());
  EXPECT_THAT(j.status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(clock_.sleeps().size(), before);
}

TEST_F(ClientTest, UpdateRetriesAConflict) {
  server_->Put(kPod, {});
  server_->FailNext(1, 409, -1, kPod, "PUT");
  auto c = MakeClient();
  int calls = 0;
  auto r = c->Update(kPod, [&](nlohmann::json& obj) {
    ++calls;
    obj["metadata"]["labels"]["x"] = "y";
    return absl::OkStatus();
  });
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ((*server_->Get(kPod))["metadata"]["labels"]["x"], "y");
}

TEST_F(ClientTest, UpdateConflictFromAStaleResourceVersionIsAborted) {
  server_->Put(kPod, {});
  auto c = MakeClient();
  auto r = c->Update(
      kPod,
      [&](nlohmann::json& obj) {
        server_->Put(kPod, {});  // someone else writes in between, every time
        obj["metadata"]["labels"]["x"] = "y";
        return absl::OkStatus();
      },
      3);
  EXPECT_THAT(
      r.status(),
      StatusIs(absl::StatusCode::kAborted,
               HasSubstr("409 Conflict: Operation cannot be fulfilled")));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("after 3"));
}

TEST_F(ClientTest, TooManyRequestsHonoursRetryAfter) {
  server_->Put(kPod, {});
  server_->FailNext(2, 429, 3);
  auto c = MakeClient();
  EXPECT_THAT(c->Get(kPod).status(), IsOk());
  EXPECT_THAT(clock_.sleeps(), ElementsAre(3s, 3s));
}

TEST_F(ClientTest, RetryAfterIsBounded) {
  server_->Put(kPod, {});
  server_->FailNext(1, 429, 100000);
  ClientOptions o = Options();
  o.max_retry_after = 7s;
  auto c = MakeClient(Config(), o);
  EXPECT_THAT(c->Get(kPod).status(), IsOk());
  EXPECT_THAT(clock_.sleeps(), ElementsAre(7s));
}

TEST_F(ClientTest, UnavailableIsRetriedWithExponentialBackoff) {
  server_->Put(kPod, {});
  server_->FailNext(2, 503);
  auto c = MakeClient();
  EXPECT_THAT(c->Get(kPod).status(), IsOk());
  EXPECT_THAT(clock_.sleeps(), ElementsAre(200ms, 400ms));
}

TEST_F(ClientTest, RetriesAreBounded) {
  server_->Put(kPod, {});
  server_->FailNext(100, 500);
  ClientOptions o = Options();
  o.max_attempts = 3;
  auto c = MakeClient(Config(), o);
  auto r = c->Get(kPod);
  Remember(r.status());
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("GET " + std::string(kPod) +
                                             ": 500 Internal Server Error")));
  EXPECT_EQ(server_->requests().size(), 3u);
  EXPECT_EQ(clock_.sleeps().size(), 2u);
}

TEST_F(ClientTest, SlowServerTimesOut) {
  server_->Put(kPod, {});
  server_->SetDelay(3s);
  ClientOptions o = Options();
  o.request_timeout = 300ms;
  auto c = MakeClient(Config(), o);
  auto start = std::chrono::steady_clock::now();
  auto r = c->Get(kPod);
  auto took = std::chrono::steady_clock::now() - start;
  Remember(r.status());
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                   HasSubstr("GET " + std::string(kPod))));
  EXPECT_LT(took, 2500ms);
  server_->SetDelay(0ms);
}

TEST_F(ClientTest, UnreachableServerIsUnavailableAfterRetries) {
  RestConfig cfg = Config();
  int port = server_->port();
  server_->Stop();
  cfg.server = "https://127.0.0.1:" + std::to_string(port);
  ClientOptions o = Options();
  o.max_attempts = 2;
  auto c = MakeClient(cfg, o);
  auto r = c->Get(kPod);
  Remember(r.status());
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("cannot connect")));
  EXPECT_EQ(clock_.sleeps().size(), 1u);
}

TEST_F(ClientTest, CreateAndDelete) {
  auto c = MakeClient();
  auto r = c->Create(
      "/apis/k8s.cni.cncf.io/v1/namespaces/default/"
      "network-attachment-definitions",
      {{"metadata", {{"name", "net1"}}}, {"spec", {{"config", "{}"}}}});
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ((*r)["kind"], "NetworkAttachmentDefinition");
  auto again = c->Create(
      "/apis/k8s.cni.cncf.io/v1/namespaces/default/"
      "network-attachment-definitions",
      {{"metadata", {{"name", "net1"}}}});
  EXPECT_THAT(again.status(), StatusIs(absl::StatusCode::kAlreadyExists));
  const std::string path =
      "/apis/k8s.cni.cncf.io/v1/namespaces/default/"
      "network-attachment-definitions/net1";
  EXPECT_THAT(c->Delete(path), IsOk());
  EXPECT_THAT(
      c->Get(path).status(),
      StatusIs(absl::StatusCode::kNotFound,
               HasSubstr("network-attachment-definitions \"net1\" not found")));
}

TEST_F(ClientTest, ResponsesAndWatchEventsAreSizeBounded) {
  server_->Put(kPod, {{"metadata",
                       {{"annotations", {{"big", std::string(4096, 'x')}}}}}});
  ClientOptions o = Options();
  o.max_object_bytes = 1024;
  o.max_event_bytes = 1024;
  auto c = MakeClient(Config(), o);
  EXPECT_THAT(c->Get(kPod).status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("larger than 1024 bytes")));
  int events = 0;
  absl::Status s = c->Watch("/api/v1/pods", {}, [&](const WatchEvent&) {
    ++events;
    return true;
  });
  EXPECT_THAT(
      s,
      StatusIs(
          absl::StatusCode::kResourceExhausted,
          HasSubstr("WATCH /api/v1/pods: an event is larger than 1024 bytes")));
  EXPECT_EQ(events, 0);
}

TEST_F(ClientTest, WatchWithoutResourceVersionStartsWithTheCurrentState) {
  server_->Put(kPod, {});
  server_->Put("/api/v1/namespaces/default/pods/p2", {});
  auto c = MakeClient();
  std::vector<std::string> seen;
  std::atomic<bool> cancel{false};
  absl::Status s = c->Watch(
      "/api/v1/pods", {.timeout_seconds = 1, .cancel = &cancel},
      [&](const WatchEvent& ev) {
        seen.push_back(ev.type + " " +
                       ev.object["metadata"]["name"].get<std::string>());
        return true;
      });
  EXPECT_THAT(s, IsOk());  // the server ended it after timeoutSeconds
  EXPECT_THAT(seen, ElementsAre("ADDED p1", "ADDED p2"));
  EXPECT_NE(server_->requests().back().query.find("timeoutSeconds=1"),
            std::string::npos);
}

TEST_F(ClientTest, UsableFromSeveralThreads) {
  server_->Put(kPod, {});
  auto c = MakeClient();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) ok += c->Get(kPod).ok();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
}

}  // namespace
}  // namespace sk::kube
