#include "lib/podresources/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "podresources/v1/api.grpc.pb.h"

#include "lib/base/strings.h"
#include "tests/testing/fake_device_plugin.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::podresources {
namespace {

using ::sk::deviceplugin::KubeletStandIn;
using ::sk::testing::FakeDevicePlugin;
using ::sk::testing::IsOk;
using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;

constexpr char kResA[] = "intel.com/sriov_a";
constexpr char kResB[] = "intel.com/sriov_b";

// A stand-in kubelet serving PodResources, two device plugins, and pod
// default/vm-a holding devices of both resources in two containers.
class PodResourcesClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp_dir_ = tmp_ / "dp";
    socket_ = (tmp_ / "pod-resources" / "kubelet.sock").string();
    SK_ASSERT_OK_AND_ASSIGN(kubelet_, KubeletStandIn::StartLegacy(dp_dir_));
    SK_ASSERT_OK(kubelet_->ServePodResources(socket_));
    SK_ASSERT_OK_AND_ASSIGN(
        plugin_a_, FakeDevicePlugin::Start(
                       dp_dir_, "a.sock", kResA,
                       {"0000:03:02.0", "0000:03:02.1", "0000:03:02.2"}));
    SK_ASSERT_OK_AND_ASSIGN(
        plugin_b_, FakeDevicePlugin::Start(dp_dir_, "b.sock", kResB,
                                           {"0000:04:02.0", "0000:04:02.1"}));
    ASSERT_THAT(kubelet_->WaitForDevices(kResA, 3, absl::Seconds(10)).status(),
                IsOk());
    ASSERT_THAT(kubelet_->WaitForDevices(kResB, 2, absl::Seconds(10)).status(),
                IsOk());
    const KubeletStandIn::PodContainer compute{"default", "vm-a", "uid-a",
                                               "compute"};
    const KubeletStandIn::PodContainer sidecar{"default", "vm-a", "uid-a",
                                               "sidecar"};
    ASSERT_THAT(
        kubelet_->AllocateFor(compute, kResA, {"0000:03:02.1"}).status(),
        IsOk());
    ASSERT_THAT(
        kubelet_->AllocateFor(sidecar, kResB, {"0000:04:02.0"}).status(),
        IsOk());
    ASSERT_THAT(
        kubelet_->AllocateFor(compute, kResB, {"0000:04:02.1"}).status(),
        IsOk());
    ASSERT_THAT(kubelet_
                    ->AllocateFor({"other", "vm-b", "uid-b", "compute"}, kResA,
                                  {"0000:03:02.2"})
                    .status(),
                IsOk());
  }
  void TearDown() override {
    kubelet_.reset();
    plugin_a_.reset();
    plugin_b_.reset();
  }

  std::unique_ptr<PodResourcesClient> Client() {
    auto c = PodResourcesClient::Create({.socket_path = socket_});
    EXPECT_THAT(c.status(), IsOk());
    return c.ok() ? std::move(*c) : nullptr;
  }

  static void ExpectVmA(const PodResources& p) {
    EXPECT_EQ(p.ns, "default");
    EXPECT_EQ(p.name, "vm-a");
    ASSERT_THAT(p.containers, SizeIs(2));
    EXPECT_EQ(p.containers[0].name, "compute");
    EXPECT_THAT(p.containers[0].devices,
                ElementsAre(Pair(kResA, ElementsAre("0000:03:02.1")),
                            Pair(kResB, ElementsAre("0000:04:02.1"))));
    EXPECT_EQ(p.containers[1].name, "sidecar");
    EXPECT_THAT(p.containers[1].devices,
                ElementsAre(Pair(kResB, ElementsAre("0000:04:02.0"))));
    EXPECT_THAT(
        p.AllDevices(),
        ElementsAre(Pair(kResA, ElementsAre("0000:03:02.1")),
                    Pair(kResB, ElementsAre("0000:04:02.1", "0000:04:02.0"))));
  }

  sk::testing::TempDir tmp_;
  std::filesystem::path dp_dir_;
  std::string socket_;
  std::unique_ptr<KubeletStandIn> kubelet_;
  std::unique_ptr<FakeDevicePlugin> plugin_a_;
  std::unique_ptr<FakeDevicePlugin> plugin_b_;
};

TEST_F(PodResourcesClientTest, ListReturnsEveryPodWithItsDevices) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  SK_ASSERT_OK_AND_ASSIGN(std::vector<PodResources> pods, client->List());
  ASSERT_THAT(pods, SizeIs(2));
  ExpectVmA(pods[0]);
  EXPECT_EQ(pods[1].ns, "other");
  EXPECT_EQ(pods[1].name, "vm-b");
  EXPECT_THAT(pods[1].AllDevices(),
              ElementsAre(Pair(kResA, ElementsAre("0000:03:02.2"))));
}

TEST_F(PodResourcesClientTest, GetReturnsOnePod) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  SK_ASSERT_OK_AND_ASSIGN(PodResources pod, client->Get("default", "vm-a"));
  ExpectVmA(pod);
  EXPECT_FALSE(client->get_unimplemented());
}

TEST_F(PodResourcesClientTest, GetUnknownPodIsNotFound) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Get("default", "nope").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("PodResources Get on " + socket_)));
}

TEST_F(PodResourcesClientTest, GetFallsBackToListWhenUnimplemented) {
  kubelet_->set_get_unimplemented(true);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  SK_ASSERT_OK_AND_ASSIGN(PodResources pod, client->Get("default", "vm-a"));
  ExpectVmA(pod);
  EXPECT_TRUE(client->get_unimplemented());
  // Remembered: a later Get lists even if the kubelet now offers Get, and
  // an unknown pod is NotFound from the List path.
  kubelet_->set_get_unimplemented(false);
  SK_ASSERT_OK_AND_ASSIGN(PodResources again, client->Get("other", "vm-b"));
  EXPECT_EQ(again.name, "vm-b");
  EXPECT_THAT(client->Get("default", "nope").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("PodResources List on " + socket_)));
}

TEST_F(PodResourcesClientTest, RecoversWhenTheKubeletRestarts) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->List(), IsOkAndHolds(SizeIs(2)));
  kubelet_.reset();
  EXPECT_THAT(client->List().status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("PodResources List on " + socket_)));
  // A new kubelet on the same socket: the next call reaches it (it has
  // allocated nothing yet).
  SK_ASSERT_OK_AND_ASSIGN(kubelet_, KubeletStandIn::StartLegacy(tmp_ / "dp2"));
  SK_ASSERT_OK(kubelet_->ServePodResources(socket_));
  EXPECT_THAT(client->List(), IsOkAndHolds(SizeIs(0)));
}

// The kubelet restarts between two calls: the cached channel may still look
// READY and fail with "Broken pipe"; the call is retried once on a fresh
// channel, so the caller sees the new kubelet.
TEST_F(PodResourcesClientTest, KubeletRestartBetweenCallsIsRetried) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->List(), IsOkAndHolds(SizeIs(2)));
  for (int i = 0; i < 5; ++i) {
    kubelet_.reset();
    SK_ASSERT_OK_AND_ASSIGN(
        kubelet_, KubeletStandIn::StartLegacy(tmp_ / sk::StrCat("dp-r", i)));
    SK_ASSERT_OK(kubelet_->ServePodResources(socket_));
    // The new kubelet has allocated nothing.
    ASSERT_THAT(client->List(), IsOkAndHolds(SizeIs(0))) << "restart " << i;
  }
}

// The client has no use for it, so the stand-in's GetAllocatableResources
// is checked over a raw stub: every device each plugin advertised.
TEST_F(PodResourcesClientTest, StandInServesAllocatableResources) {
  auto stub = v1::PodResourcesLister::NewStub(grpc::CreateChannel(
      "unix:" + socket_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::AllocatableResourcesRequest req;
  v1::AllocatableResourcesResponse resp;
  ASSERT_TRUE(stub->GetAllocatableResources(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.devices_size(), 2);
  EXPECT_EQ(resp.devices(0).resource_name(), kResA);
  EXPECT_THAT(resp.devices(0).device_ids(),
              ElementsAre("0000:03:02.0", "0000:03:02.1", "0000:03:02.2"));
  EXPECT_EQ(resp.devices(1).resource_name(), kResB);
  EXPECT_THAT(resp.devices(1).device_ids(),
              ElementsAre("0000:04:02.0", "0000:04:02.1"));
}

TEST(PodResourcesClientErrorsTest, RejectsBadOptions) {
  EXPECT_THAT(PodResourcesClient::Create({.socket_path = ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PodResourcesClient::Create({.call_timeout = absl::ZeroDuration()})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("timeouts must be positive")));
}

TEST(PodResourcesClientErrorsTest, MissingSocketIsUnavailableAtOnce) {
  sk::testing::TempDir tmp;
  const std::string sock = (tmp / "kubelet.sock").string();
  SK_ASSERT_OK_AND_ASSIGN(auto client,
                          PodResourcesClient::Create({.socket_path = sock}));
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->List().status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("PodResources List on " + sock +
                                 ": unavailable: no socket")));
  EXPECT_THAT(client->Get("default", "vm-a").status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("PodResources Get on " + sock)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

// A bound (or listening) unix socket at `path`; -1 on failure.
int BindUnix(const std::string& path, bool listen_too) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      (listen_too && ::listen(fd, 8) != 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(PodResourcesClientErrorsTest, StaleSocketIsUnavailableQuickly) {
  sk::testing::TempDir tmp;
  const std::string sock = (tmp / "kubelet.sock").string();
  int fd = BindUnix(sock, /*listen_too=*/false);
  ASSERT_GE(fd, 0);
  ::close(fd);  // the file stays; connect() gets ECONNREFUSED
  SK_ASSERT_OK_AND_ASSIGN(auto client,
                          PodResourcesClient::Create({.socket_path = sock}));
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->List().status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("PodResources List on " + sock)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(PodResourcesClientErrorsTest, SilentServerHitsTheDeadline) {
  sk::testing::TempDir tmp;
  const std::string sock = (tmp / "kubelet.sock").string();
  // Listens (the kernel completes connections into the backlog) but never
  // accepts, reads or writes.
  int fd = BindUnix(sock, /*listen_too=*/true);
  ASSERT_GE(fd, 0);
  SK_ASSERT_OK_AND_ASSIGN(
      auto client,
      PodResourcesClient::Create({.socket_path = sock,
                                  .dial_timeout = absl::Milliseconds(300),
                                  .call_timeout = absl::Milliseconds(300)}));
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Get("default", "vm-a").status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("PodResources Get on " + sock +
                                 ": deadline exceeded")));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));
  ::close(fd);
}

}  // namespace
}  // namespace sk::podresources
