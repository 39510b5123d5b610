// Load tier: an Allocate storm against the real sriov-device-plugin binary.
// The plugin serves a fixture sysfs tree (two Intel 82576 PFs, 14 VFs on
// vfio-pci); KubeletStandIn plays kubelet over the real device-plugin gRPC
// API and calls Allocate back to back, one container with one VF each time,
// for SK_STORM_SECONDS (default 60). Asserted: no Allocate fails, and the
// plugin's resident memory after the storm is within 1 MiB of what it was
// after a warm-up (a leak of even 16 bytes per Allocate would exceed that
// over the storm). The rate and RSS figures are printed for
// docs/development.md ("Load tier"); the rate is a figure, never an
// assertion.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

#include "tests/testing/fake_sysfs.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace sk::deviceplugin {
namespace {

// VmRSS of `pid` in KiB, or -1.
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

TEST(AllocateStormTest, NoErrorAndFlatRss) {
  sk::testing::TempDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  sk::testing::FakeCardOptions o;
  o.vf_driver = "vfio-pci";
  auto pfs = sk::testing::AddIntel82576(b, o);
  ASSERT_TRUE(b.ok());
  std::vector<std::string> vfs;
  for (const auto& pf : pfs)
    vfs.insert(vfs.end(), pf.vfs.begin(), pf.vfs.end());
  ASSERT_EQ(vfs.size(), 14u);
  std::filesystem::create_directories(dir / "etc");
  std::ofstream(dir / "etc/config.json")
      << R"({"resourceList":[{"resourceName":"vfio",)"
      << R"("selectors":{"drivers":["vfio-pci"]}}]})";
  std::filesystem::create_directories(dir / "dp");

  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir / "dp"));
  std::vector<std::string> args = {
      SK_DEVICE_PLUGIN_BINARY,
      "--config-file=" + (dir / "etc/config.json").string(),
      "--sysfs-root=" + dir.path().string(),
      "--device-plugin-path=" + (dir / "dp").string(),
      "--plugins-registry-path=" + (dir / "reg").string(),
      "--devinfo-dir=" + (dir / "devinfo").string(),
      "--cdi-dir=" + (dir / "cdi").string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(
      ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{pid};

  SK_ASSERT_OK_AND_ASSIGN(
      auto devices,
      kubelet->WaitForDevices("intel.com/vfio", vfs.size(), absl::Seconds(30)));
  ASSERT_EQ(devices.size(), vfs.size());

  double seconds = 60;
  if (const char* s = std::getenv("SK_STORM_SECONDS")) seconds = std::atof(s);
  // Warm-up: gRPC's and the allocator's pools reach their steady size.
  for (int i = 0; i < 2000; ++i)
    SK_ASSERT_OK(
        kubelet->Allocate("intel.com/vfio", {vfs[i % vfs.size()]}).status());
  long rss_before = RssKib(pid);
  ASSERT_GT(rss_before, 0);

  long allocates = 0, errors = 0;
  std::string first_error;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    auto r = kubelet->Allocate("intel.com/vfio", {vfs[allocates % vfs.size()]});
    ++allocates;
    if (!r.ok()) {
      if (errors++ == 0) first_error = r.status().ToString();
    } else if (r->container_responses_size() != 1 ||
               r->container_responses(0).devices_size() != 2) {
      if (errors++ == 0)
        first_error = "unexpected response: " + r->DebugString();
    }
  }
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  long rss_after = RssKib(pid);
  std::cout << "allocate storm: " << allocates << " Allocates in " << elapsed
            << " s ("
            << static_cast<long>(static_cast<double>(allocates) / elapsed)
            << "/s), errors " << errors << ", plugin VmRSS " << rss_before
            << " KiB after warm-up, " << rss_after << " KiB after the storm\n";
  EXPECT_EQ(errors, 0) << first_error;
  EXPECT_GT(allocates, 0);
  EXPECT_LE(rss_after, rss_before + 1024)
      << "plugin RSS grew from " << rss_before << " to " << rss_after
      << " KiB over " << allocates << " Allocates";
  // Still alive and serving.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), 0);
}

}  // namespace
}  // namespace sk::deviceplugin
