// The kubelet-stand-in binary end to end: it allocates for a named pod
// through a registered plugin, serves that allocation over PodResources,
// writes it to a kubelet-format checkpoint, and lingers until SIGTERM.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/strings.h"
#include "lib/podresources/checkpoint.h"
#include "lib/podresources/client.h"
#include "tests/testing/fake_device_plugin.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;

// Polls for `pred` (a file appearing), at most `timeout`.
template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Kills and reaps the child if a failed assertion leaves it running.
struct Reaper {
  pid_t pid = -1;
  ~Reaper() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(KubeletStandInCliTest, ServesItsAllocationOverPodResourcesAndCheckpoint) {
  sk::testing::TempDir tmp;
  const auto dp = tmp / "dp";
  const std::string sock = (tmp / "pr" / "kubelet.sock").string();
  const auto checkpoint = dp / "kubelet_internal_checkpoint";
  const auto out = tmp / "out.json";
  const std::string cmd = sk::StrCat(
      "exec ", SK_KUBELET_STAND_IN, " --device-plugin-path ", dp.string(),
      " --resource intel.com/sriov_a --expect 2 --allocate 0000:03:02.1",
      " --pod vms/vm-a --pod-uid uid-a --container compute",
      " --pod-resources-socket ", sock, " --checkpoint ", checkpoint.string(),
      " --linger -1 >", out.string(), " 2>", (tmp / "err").string());
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr,
                        const_cast<char* const*>(argv), environ),
            0);
  Reaper reaper{pid};
  ASSERT_TRUE(
      WaitFor([&] { return std::filesystem::exists(dp / "kubelet.sock"); },
              absl::Seconds(10)));
  auto plugin = sk::testing::FakeDevicePlugin::Start(
      dp, "a.sock", "intel.com/sriov_a", {"0000:03:02.0", "0000:03:02.1"});
  ASSERT_THAT(plugin.status(), sk::testing::IsOk());
  ASSERT_TRUE(
      WaitFor([&] { return Slurp(out).find('\n') != std::string::npos; },
              absl::Seconds(10)))
      << Slurp(tmp / "err");
  EXPECT_THAT(Slurp(out), HasSubstr("PCIDEVICE_sriov_a"));

  auto client =
      sk::podresources::PodResourcesClient::Create({.socket_path = sock});
  ASSERT_THAT(client.status(), sk::testing::IsOk());
  auto pod = (*client)->Get("vms", "vm-a");
  ASSERT_THAT(pod.status(), sk::testing::IsOk());
  ASSERT_THAT(pod->containers, SizeIs(1));
  EXPECT_EQ(pod->containers[0].name, "compute");
  EXPECT_THAT(
      pod->AllDevices(),
      ElementsAre(Pair("intel.com/sriov_a", ElementsAre("0000:03:02.1"))));

  auto cp = sk::podresources::ReadCheckpoint(checkpoint);
  ASSERT_THAT(cp.status(), sk::testing::IsOk());
  EXPECT_THAT(
      cp->DevicesOf("uid-a"),
      ElementsAre(Pair("intel.com/sriov_a", ElementsAre("0000:03:02.1"))));

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  reaper.pid = -1;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << Slurp(tmp / "err");
  plugin->reset();
}

// --allocate-count picks the Healthy devices (first by ID), as the lab's
// flow asks for "the pod's request count" without naming devices; more than
// the pool has is exit 65 naming the count.
TEST(KubeletStandInCliTest, AllocateCountPicksHealthyDevicesByIdOrder) {
  for (const auto& [count, want_rc] : {std::pair{2, 0}, std::pair{4, 65}}) {
    SCOPED_TRACE(count);
    sk::testing::TempDir tmp;
    const auto dp = tmp / "dp";
    const auto out = tmp / "out.json";
    const std::string cmd = sk::StrCat(
        "exec ", SK_KUBELET_STAND_IN, " --device-plugin-path ", dp.string(),
        " --resource intel.com/sriov_a --expect 3 --allocate-count ", count,
        " >", out.string(), " 2>", (tmp / "err").string());
    const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr,
                          const_cast<char* const*>(argv), environ),
              0);
    Reaper reaper{pid};
    ASSERT_TRUE(
        WaitFor([&] { return std::filesystem::exists(dp / "kubelet.sock"); },
                absl::Seconds(10)));
    auto plugin = sk::testing::FakeDevicePlugin::Start(
        dp, "a.sock", "intel.com/sriov_a",
        {"0000:03:02.4", "0000:03:02.0", "0000:03:02.2"});
    ASSERT_THAT(plugin.status(), sk::testing::IsOk());
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    reaper.pid = -1;
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), want_rc) << Slurp(tmp / "err");
    if (want_rc == 0) {
      EXPECT_THAT(Slurp(out), HasSubstr("\"PCIDEVICE_sriov_a\":\"0000:03:02.0,"
                                        "0000:03:02.2\""));
    } else {
      EXPECT_THAT(
          Slurp(tmp / "err"),
          HasSubstr("--allocate-count 4: intel.com/sriov_a has only 3"));
    }
    plugin->reset();
  }
}

// Repeated --resource: one container holds devices of two pools (a pod
// with two SR-IOV networks on two PFs), as PodResources then reports them.
TEST(KubeletStandInCliTest, TwoResourcesForOneContainer) {
  sk::testing::TempDir tmp;
  const auto dp = tmp / "dp";
  const std::string sock = (tmp / "pr" / "kubelet.sock").string();
  const auto out = tmp / "out.json";
  const std::string cmd = sk::StrCat(
      "exec ", SK_KUBELET_STAND_IN, " --device-plugin-path ", dp.string(),
      " --resource intel.com/sriov_a --resource intel.com/sriov_b",
      " --expect 2 --allocate-count 1 --pod vms/vm-a --container compute",
      " --pod-resources-socket ", sock, " --linger -1 >", out.string(), " 2>",
      (tmp / "err").string());
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr,
                        const_cast<char* const*>(argv), environ),
            0);
  Reaper reaper{pid};
  ASSERT_TRUE(
      WaitFor([&] { return std::filesystem::exists(dp / "kubelet.sock"); },
              absl::Seconds(10)));
  auto a = sk::testing::FakeDevicePlugin::Start(
      dp, "a.sock", "intel.com/sriov_a", {"0000:03:02.1", "0000:03:02.0"});
  ASSERT_THAT(a.status(), sk::testing::IsOk());
  auto b = sk::testing::FakeDevicePlugin::Start(
      dp, "b.sock", "intel.com/sriov_b", {"0000:04:02.0", "0000:04:02.1"});
  ASSERT_THAT(b.status(), sk::testing::IsOk());
  ASSERT_TRUE(
      WaitFor([&] { return Slurp(out).find('\n') != std::string::npos; },
              absl::Seconds(10)))
      << Slurp(tmp / "err");
  const std::string json = Slurp(out);
  EXPECT_THAT(json, HasSubstr("{\"resource\":\"intel.com/sriov_a\""));
  EXPECT_THAT(json, HasSubstr("{\"resource\":\"intel.com/sriov_b\""));
  EXPECT_THAT(json, HasSubstr("\"PCIDEVICE_sriov_b\":\"0000:04:02.0\""));

  auto client =
      sk::podresources::PodResourcesClient::Create({.socket_path = sock});
  ASSERT_THAT(client.status(), sk::testing::IsOk());
  auto pod = (*client)->Get("vms", "vm-a");
  ASSERT_THAT(pod.status(), sk::testing::IsOk());
  ASSERT_THAT(pod->containers, SizeIs(1));
  EXPECT_THAT(
      pod->AllDevices(),
      ElementsAre(Pair("intel.com/sriov_a", ElementsAre("0000:03:02.0")),
                  Pair("intel.com/sriov_b", ElementsAre("0000:04:02.0"))));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  reaper.pid = -1;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << Slurp(tmp / "err");
  a->reset();
  b->reset();
}

}  // namespace
