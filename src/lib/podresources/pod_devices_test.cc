#include "lib/podresources/pod_devices.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "lib/base/status_macros.h"
#include "tests/testing/fake_device_plugin.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::podresources {
namespace {

using ::sk::deviceplugin::KubeletStandIn;
using ::sk::testing::FakeDevicePlugin;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kResA[] = "intel.com/sriov_a";
constexpr char kResB[] = "intel.com/sriov_b";

// A stand-in kubelet (PodResources not served unless a test asks), plugins
// for two resources (B's devices on NUMA node 1), and pod default/vm-a
// (uid-a) holding one device of each in two containers.
class PodDeviceLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp_dir_ = tmp_ / "dp";
    SK_ASSERT_OK_AND_ASSIGN(kubelet_, KubeletStandIn::StartLegacy(dp_dir_));
    SK_ASSERT_OK_AND_ASSIGN(
        plugin_a_, FakeDevicePlugin::Start(dp_dir_, "a.sock", kResA,
                                           {"0000:03:02.0", "0000:03:02.1"}));
    SK_ASSERT_OK_AND_ASSIGN(
        plugin_b_, FakeDevicePlugin::Start(dp_dir_, "b.sock", kResB,
                                           {"0000:04:02.0"}, /*numa=*/1));
    ASSERT_THAT(kubelet_->WaitForDevices(kResA, 2, absl::Seconds(10)).status(),
                IsOk());
    ASSERT_THAT(kubelet_->WaitForDevices(kResB, 1, absl::Seconds(10)).status(),
                IsOk());
    ASSERT_THAT(kubelet_
                    ->AllocateFor({"default", "vm-a", "uid-a", "compute"},
                                  kResA, {"0000:03:02.1"})
                    .status(),
                IsOk());
    ASSERT_THAT(kubelet_
                    ->AllocateFor({"default", "vm-a", "uid-a", "sidecar"},
                                  kResB, {"0000:04:02.0"})
                    .status(),
                IsOk());
    options_.pod_resources.socket_path =
        (tmp_ / "pod-resources" / "kubelet.sock").string();
    options_.checkpoint_path = dp_dir_ / "kubelet_internal_checkpoint";
  }
  void TearDown() override {
    kubelet_.reset();
    plugin_a_.reset();
    plugin_b_.reset();
  }

  absl::StatusOr<PodDevices> Lookup(const PodRef& pod) {
    SK_ASSIGN_OR_RETURN(auto lookup, PodDeviceLookup::Create(options_));
    return lookup->Lookup(pod);
  }

  static auto VmADevices() {
    return ElementsAre(Pair(kResA, ElementsAre("0000:03:02.1")),
                       Pair(kResB, ElementsAre("0000:04:02.0")));
  }

  sk::testing::TempDir tmp_;
  std::filesystem::path dp_dir_;
  PodDeviceOptions options_;
  std::unique_ptr<KubeletStandIn> kubelet_;
  std::unique_ptr<FakeDevicePlugin> plugin_a_;
  std::unique_ptr<FakeDevicePlugin> plugin_b_;
};

TEST_F(PodDeviceLookupTest, PodResourcesAnswersWhenItsSocketExists) {
  SK_ASSERT_OK(kubelet_->ServePodResources(options_.pod_resources.socket_path));
  // A checkpoint that disagrees, to see which source answered.
  {
    std::ofstream(options_.checkpoint_path)
        << R"({"Data":{"PodDeviceEntries":[{"PodUID":"uid-a",
              "ContainerName":"compute","ResourceName":"intel.com/sriov_a",
              "DeviceIDs":["0000:03:02.0"]}]}})";
  }
  SK_ASSERT_OK_AND_ASSIGN(PodDevices d, Lookup({"default", "vm-a", "uid-a"}));
  EXPECT_EQ(d.source, DeviceSourceKind::kPodResourcesGet);
  EXPECT_THAT(d.devices, VmADevices());
  EXPECT_THAT(d.warnings, IsEmpty());
}

TEST_F(PodDeviceLookupTest, PodResourcesListWhenGetIsUnimplemented) {
  kubelet_->set_get_unimplemented(true);
  SK_ASSERT_OK(kubelet_->ServePodResources(options_.pod_resources.socket_path));
  SK_ASSERT_OK_AND_ASSIGN(PodDevices d, Lookup({"default", "vm-a", ""}));
  EXPECT_EQ(d.source, DeviceSourceKind::kPodResourcesList);
  EXPECT_EQ(DeviceSourceName(d.source), "PodResources List");
  EXPECT_THAT(d.devices, VmADevices());
}

TEST_F(PodDeviceLookupTest, PodResourcesUnknownPodIsNotFound) {
  SK_ASSERT_OK(kubelet_->ServePodResources(options_.pod_resources.socket_path));
  EXPECT_THAT(Lookup({"default", "vm-z", "uid-z"}).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PodDeviceLookupTest, CheckpointAnswersWithoutTheSocket) {
  SK_ASSERT_OK(kubelet_->WriteCheckpoint(options_.checkpoint_path));
  SK_ASSERT_OK_AND_ASSIGN(PodDevices d, Lookup({"default", "vm-a", "uid-a"}));
  EXPECT_EQ(d.source, DeviceSourceKind::kCheckpoint);
  EXPECT_THAT(d.devices, VmADevices());
  SK_ASSERT_OK_AND_ASSIGN(PodDevices other,
                          Lookup({"default", "vm-b", "uid-b"}));
  EXPECT_THAT(other.devices, IsEmpty());
}

TEST_F(PodDeviceLookupTest, StandInCheckpointIsInKubeletFormat) {
  SK_ASSERT_OK(kubelet_->WriteCheckpoint(options_.checkpoint_path));
  std::ifstream in(options_.checkpoint_path);
  nlohmann::json j = nlohmann::json::parse(in);
  const auto& entries = j["Data"]["PodDeviceEntries"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["DeviceIDs"],
            nlohmann::json::parse(R"({"-1":["0000:03:02.1"]})"));
  EXPECT_EQ(entries[1]["DeviceIDs"],
            nlohmann::json::parse(R"({"1":["0000:04:02.0"]})"));
  EXPECT_EQ(j["Data"]["RegisteredDevices"][kResA],
            nlohmann::json::parse(R"(["0000:03:02.0","0000:03:02.1"])"));
  // AllocResp is what the plugin answered for that container.
  SK_ASSERT_OK_AND_ASSIGN(Checkpoint cp,
                          ReadCheckpoint(options_.checkpoint_path));
  v1beta1::ContainerAllocateResponse resp;
  ASSERT_TRUE(resp.ParseFromString(cp.entries[0].alloc_resp));
  EXPECT_THAT(resp.envs(),
              ElementsAre(Pair("PCIDEVICE_sriov_a", "0000:03:02.1")));
}

TEST_F(PodDeviceLookupTest, CheckpointWarningsReachTheCaller) {
  {
    std::ofstream(options_.checkpoint_path)
        << R"({"Data":{"PodDeviceEntries":[{"PodUID":"uid-a",
              "ContainerName":"compute","ResourceName":"intel.com/sriov_a",
              "DeviceIDs":["0000:03:02.1"]},{"PodUID":"uid-a"}]}})";
  }
  SK_ASSERT_OK_AND_ASSIGN(PodDevices d, Lookup({"default", "vm-a", "uid-a"}));
  EXPECT_THAT(d.devices, ElementsAre(Pair(kResA, ElementsAre("0000:03:02.1"))));
  EXPECT_THAT(d.warnings,
              ElementsAre(HasSubstr("Data.PodDeviceEntries[1].ContainerName: "
                                    "missing; entry skipped")));
}

TEST_F(PodDeviceLookupTest, CheckpointNeedsTheUid) {
  SK_ASSERT_OK(kubelet_->WriteCheckpoint(options_.checkpoint_path));
  EXPECT_THAT(
      Lookup({"default", "vm-a", ""}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no pod UID")));
}

TEST_F(PodDeviceLookupTest, NeitherSourceIsUnavailableNamingBoth) {
  EXPECT_THAT(Lookup({"default", "vm-a", "uid-a"}).status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(options_.pod_resources.socket_path),
                             HasSubstr(options_.checkpoint_path.string()))));
}

TEST_F(PodDeviceLookupTest, DeadSocketIsAnErrorNotACheckpointRead) {
  SK_ASSERT_OK(kubelet_->WriteCheckpoint(options_.checkpoint_path));
  // A socket file nobody listens on (a kubelet that died without removing
  // it): the lookup reports the kubelet, it does not read the checkpoint.
  const std::string& sock = options_.pod_resources.socket_path;
  std::filesystem::create_directories(
      std::filesystem::path(sock).parent_path());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  EXPECT_THAT(Lookup({"default", "vm-a", "uid-a"}).status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("PodResources Get on " + sock)));
}

}  // namespace
}  // namespace sk::podresources
