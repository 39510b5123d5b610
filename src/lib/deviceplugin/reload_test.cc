// Live state of the daemon (daemon.h "Config reload", "Rediscovery",
// "Health and device IDs") against KubeletStandIn over real unix sockets,
// on a fixture sysfs tree mutated while the daemon runs. Kernel events are
// injected through FakeEventSource; the periodic rescan runs on a FakeClock.
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/deviceplugin/daemon.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_event_source.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(5);

bool WaitFor(const std::function<bool()>& cond,
             absl::Duration timeout = kWait) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

// "id:Healthy" per device, in list order.
std::vector<std::string> Summary(const std::vector<v1beta1::Device>& devs) {
  std::vector<std::string> out;
  for (const auto& d : devs) out.push_back(d.id() + ":" + d.health());
  return out;
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk::testing::FakeDevice pf;
    pf.bdf = "0000:3b:00.0";
    pf.driver = "ixgbe";
    pf.device_id = 0x10fb;
    sk::testing::FakeNetdev nd;
    nd.name = "ens1f0";
    pf.netdevs.push_back(nd);
    layout_.total_vfs = 8;
    layout_.num_vfs = 2;
    layout_.vf_device_id = 0x10ed;
    layout_.vf_driver = "vfio-pci";
    pf_ = b_.AddPf(pf, layout_);
    ASSERT_TRUE(b_.ok());
    opts_.config_file = (dir_ / "etc/config.json").string();
    opts_.sysfs_root = dir_.path();
    opts_.server.device_plugin_dir = dir_ / "dp";
    opts_.server.plugins_registry_dir = dir_ / "reg";
    opts_.server.service.devinfo_dir = dir_ / "devinfo";
    opts_.server.service.cdi_dir = dir_ / "cdi";
    opts_.retry_interval = absl::Milliseconds(100);
    opts_.config_debounce = absl::Milliseconds(20);
    opts_.rescan_interval = absl::Seconds(60);
    opts_.clock = &clock_;
    opts_.events = events_;
    WriteConfigMap(kVfioPool);
  }
  void TearDown() override {
    if (daemon_ && thread_.joinable()) {
      daemon_->Shutdown();
      thread_.join();
      EXPECT_THAT(run_status_, IsOk());
    }
  }

  // What kubelet's AtomicWriter does for a ConfigMap volume:
  //   etc/..<timestamp>/config.json   the data
  //   etc/..data -> ..<timestamp>     swapped by rename(..data_tmp, ..data)
  //   etc/config.json -> ..data/config.json
  void WriteConfigMap(const std::string& text) {
    auto etc = dir_ / "etc";
    std::filesystem::create_directories(etc);
    std::string ts = "..2026_11_30_12_00_00." + std::to_string(++version_);
    std::filesystem::create_directories(etc / ts);
    std::ofstream(etc / ts / "config.json") << text;
    std::filesystem::create_symlink(ts, etc / "..data_tmp");
    std::filesystem::rename(etc / "..data_tmp", etc / "..data");
    if (!std::filesystem::is_symlink(etc / "config.json")) {
      std::filesystem::create_symlink("..data/config.json",
                                      etc / "config.json");
    }
    if (!old_ts_.empty()) std::filesystem::remove_all(etc / old_ts_);
    old_ts_ = ts;
  }

  void Start() {
    SK_ASSERT_OK_AND_ASSIGN(kubelet_, KubeletStandIn::StartLegacy(dir_ / "dp"));
    daemon_ = std::make_unique<Daemon>(opts_);
    thread_ = std::thread([this] { run_status_ = daemon_->Run(); });
  }

  // Waits until `resource`'s latest list satisfies `pred`.
  bool WaitForList(
      const std::string& resource,
      const std::function<bool(const std::vector<v1beta1::Device>&)>& pred) {
    return WaitFor([&] {
      auto d = kubelet_->WaitForDevices(resource, 0, absl::Milliseconds(50));
      return d.ok() && pred(*d);
    });
  }
  std::vector<std::string> List(const std::string& resource) {
    auto d = kubelet_->WaitForDevices(resource, 0, kWait);
    return d.ok() ? Summary(*d) : std::vector<std::string>{"<none>"};
  }

  // sriov_numvfs raised from 2 to `n`: VFs i = 2..n-1 created as the
  // kernel does (device, virtfn/physfn links), then the "add" uevents.
  void GrowVfs(int n) {
    sk::testing::FakeDevice vf;
    vf.device_id = layout_.vf_device_id;
    vf.driver = layout_.vf_driver;
    vf.parent = b_.DeviceDir(pf_.bdf);
    vf.parent = vf.parent.substr(0, vf.parent.rfind('/'));
    vf.parent = vf.parent.substr(std::string("sys/devices/").size());
    for (int i = static_cast<int>(pf_.vfs.size()); i < n; ++i) {
      // Routing ID as AddPf: PF + offset + i * stride.
      int rid = (0x3b << 8) + layout_.first_vf_offset + i * layout_.vf_stride;
      char bdf[16];
      std::snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%d", (rid >> 8) & 0xff,
                    (rid >> 3) & 0x1f, rid & 7);
      vf.bdf = bdf;
      b_.AddDevice(vf);
      b_.RelativeSymlink(b_.DeviceDir(pf_.bdf) + "/virtfn" + std::to_string(i),
                         b_.DeviceDir(vf.bdf));
      b_.RelativeSymlink(b_.DeviceDir(vf.bdf) + "/physfn",
                         b_.DeviceDir(pf_.bdf));
      pf_.vfs.push_back(vf.bdf);
    }
    b_.WriteAttribute(pf_.bdf, "sriov_numvfs", std::to_string(n) + "\n");
    ASSERT_TRUE(b_.ok());
    for (int i = 2; i < n; ++i) events_->InjectPci("add", pf_.vfs[i]);
  }

  static constexpr const char* kVfioPool = R"({"resourceList":[
      {"resourceName":"vfio","selectors":{"drivers":["vfio-pci"]}}]})";

  sk::testing::TempDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  sk::testing::FakeVfLayout layout_;
  sk::testing::FakePf pf_;
  sk::testing::FakeClock clock_;
  std::shared_ptr<testing::FakeEventSource> events_ =
      std::make_shared<testing::FakeEventSource>();
  DaemonOptions opts_;
  int version_ = 0;
  std::string old_ts_;
  std::unique_ptr<KubeletStandIn> kubelet_;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  absl::Status run_status_;
};

TEST_F(ReloadTest, ConfigMapSwapAddsChangesAndRemovesPools) {
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio", [](const auto& d) {
    return d.size() == 2;
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  ASSERT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  ASSERT_EQ(kubelet_->registrations("intel.com/vfio"), 1);

  // Same name, narrower selector (one VF by address), plus a new pool.
  WriteConfigMap(R"({"resourceList":[
      {"resourceName":"vfio","selectors":{"pciAddresses":[")" +
                 pf_.vfs[1] + R"("]}},
      {"resourceName":"other","selectors":{"pciAddresses":[")" +
                 pf_.vfs[0] + R"("]}}]})");
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return d.size() == 1 && d[0].id() == pf_.vfs[1];
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  SK_ASSERT_OK_AND_ASSIGN(
      auto other, kubelet_->WaitForDevices("intel.com/other", 1, kWait));
  EXPECT_THAT(Summary(other), ElementsAre(pf_.vfs[0] + ":Healthy"));
  // Changed in place: no second registration.
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
  // State is published after each loop turn: wait for it.
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().reloads == 1; }));

  // Remove "vfio": its socket goes; "other" is untouched.
  WriteConfigMap(R"({"resourceList":[
      {"resourceName":"other","selectors":{"pciAddresses":[")" +
                 pf_.vfs[0] + R"("]}}]})");
  EXPECT_TRUE(WaitFor([&] {
    return !std::filesystem::exists(dir_ / "dp/intel.com_vfio.sock") &&
           daemon_->GetState().pools.size() == 1;
  }));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dp/intel.com_other.sock"));
  EXPECT_EQ(kubelet_->registrations("intel.com/other"), 1);
  DaemonState st = daemon_->GetState();
  ASSERT_EQ(st.pools.size(), 1u);
  EXPECT_EQ(st.pools[0].resource_name, "intel.com/other");
}

TEST_F(ReloadTest, InvalidConfigKeepsOldPoolsAndIsReported) {
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio",
                          [](const auto& d) { return d.size() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));

  // One bad entry refuses the whole new config.
  WriteConfigMap(R"({"resourceList":[
      {"resourceName":"vfio","selectors":{"drivers":["vfio-pci"]}},
      {"resourceName":"bad","selectors":{"vendors":[8086]}}]})");
  ASSERT_TRUE(
      WaitFor([&] { return !daemon_->GetState().config_error.empty(); }));
  DaemonState st = daemon_->GetState();
  EXPECT_FALSE(st.ready());
  EXPECT_THAT(st.config_error, HasSubstr("config.json"));
  EXPECT_THAT(st.config_error, HasSubstr("vendors[0]"));
  EXPECT_EQ(st.reload_failures, 1);
  ASSERT_EQ(st.pools.size(), 1u);
  EXPECT_TRUE(st.pools[0].registered);
  // Still serving: Allocate works on the old pool.
  SK_EXPECT_OK(kubelet_->Allocate("intel.com/vfio", {pf_.vfs[0]}).status());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dp/intel.com_bad.sock"));

  // Not JSON at all.
  WriteConfigMap("{ not json");
  ASSERT_TRUE(
      WaitFor([&] { return daemon_->GetState().reload_failures == 2; }));
  EXPECT_THAT(daemon_->GetState().config_error, HasSubstr("config.json"));

  // Fixed: ready again, same pool, no re-registration.
  WriteConfigMap(kVfioPool);
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
}

TEST_F(ReloadTest, NewVfsAppearAfterUevent) {
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio",
                          [](const auto& d) { return d.size() == 2; }));
  GrowVfs(5);
  EXPECT_TRUE(WaitForList("intel.com/vfio", [](const auto& d) {
    return d.size() == 5;
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
  SK_EXPECT_OK(kubelet_->Allocate("intel.com/vfio", {pf_.vfs[4]}).status());
}

TEST_F(ReloadTest, RemovedVfIsUnhealthyThenDroppedAtTheRescan) {
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio",
                          [](const auto& d) { return d.size() == 2; }));
  // sriov_numvfs 2 -> 1: the kernel removes VF 1.
  b_.RemoveDevice(pf_.vfs[1]);
  b_.Remove(b_.DeviceDir(pf_.bdf) + "/virtfn1");
  b_.WriteAttribute(pf_.bdf, "sriov_numvfs", "1\n");
  events_->InjectPci("remove", pf_.vfs[1]);
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Unhealthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));

  // The periodic rescan drops it.
  int before = daemon_->GetState().rediscoveries;
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  EXPECT_TRUE(
      WaitFor([&] { return daemon_->GetState().rediscoveries > before; }));

  // The last VF goes too: the pool stays, with zero devices.
  b_.RemoveDevice(pf_.vfs[0]);
  b_.Remove(b_.DeviceDir(pf_.bdf) + "/virtfn0");
  b_.WriteAttribute(pf_.bdf, "sriov_numvfs", "0\n");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return d.empty();
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dp/intel.com_vfio.sock"));
}

TEST_F(ReloadTest, DriverRebindIsUnhealthyThenHealthy) {
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio",
                          [](const auto& d) { return d.size() == 2; }));
  b_.BindDriver(pf_.vfs[0], "ixgbevf");
  events_->InjectPci("bind", pf_.vfs[0]);
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Unhealthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  // The function still exists: the rescan keeps it, Unhealthy.
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(WaitFor([&] { return daemon_->GetState().rediscoveries >= 2; }));
  EXPECT_THAT(List("intel.com/vfio"),
              ElementsAre(pf_.vfs[0] + ":Unhealthy", pf_.vfs[1] + ":Healthy"));

  b_.BindDriver(pf_.vfs[0], "vfio-pci");
  events_->InjectPci("bind", pf_.vfs[0]);
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
}

// pfCarrierHealth: the PF losing carrier makes its VFs Unhealthy (seen at
// the next kernel event), and they are Healthy again once carrier is back
// (seen at the periodic rescan); a pool without the option ignores it.
TEST_F(ReloadTest, PfCarrierLossIsUnhealthyThenHealthy) {
  const std::string carrier = "net/ens1f0/carrier";
  b_.WriteAttribute(pf_.bdf, carrier, "1\n");
  WriteConfigMap(R"({"resourceList":[
      {"resourceName":"vfio","pfCarrierHealth":true,
       "selectors":{"drivers":["vfio-pci"]}},
      {"resourceName":"other","selectors":{"drivers":["none"]}}]})");
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));

  b_.WriteAttribute(pf_.bdf, carrier, "0\n");
  DeviceEvent ev;
  ev.action = "change";
  ev.subsystem = "net";
  ev.devpath = "/devices/pci0000:00/" + pf_.bdf + "/net/ens1f0";
  events_->Inject(ev);
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Unhealthy",
                                                  pf_.vfs[1] + ":Unhealthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  EXPECT_EQ(daemon_->GetState().pools[0].healthy, 0u);

  // Carrier back; no event: the periodic rescan notices.
  b_.WriteAttribute(pf_.bdf, carrier, "1\n");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
}

// The same through rtnetlink link events (the kernel sends no uevent for a
// carrier change): both transitions arrive without a rescan.
TEST_F(ReloadTest, PfCarrierFollowsLinkEventsWithoutRescan) {
  const std::string carrier = "net/ens1f0/carrier";
  b_.WriteAttribute(pf_.bdf, carrier, "1\n");
  LinkMessage link;
  link.ifindex = 4;
  link.name = "ens1f0";
  link.lower_up = true;
  events_->SeedLink(link);  // the dump at start
  WriteConfigMap(R"({"resourceList":[
      {"resourceName":"vfio","pfCarrierHealth":true,
       "selectors":{"drivers":["vfio-pci"]}}]})");
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));

  b_.WriteAttribute(pf_.bdf, carrier, "0\n");
  link.lower_up = false;
  ASSERT_TRUE(events_->InjectLink(link));
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Unhealthy",
                                                  pf_.vfs[1] + ":Unhealthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));

  b_.WriteAttribute(pf_.bdf, carrier, "1\n");
  link.lower_up = true;
  ASSERT_TRUE(events_->InjectLink(link));
  EXPECT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
  // No periodic rescan ran (the fake clock never moved).
  EXPECT_EQ(daemon_->GetState().rediscoveries, 2);
  EXPECT_EQ(kubelet_->registrations("intel.com/vfio"), 1);
}

// Restart safety (k8snetworkplumbingwg/sriov-network-device-plugin#565):
// VFs whose netdev moved into a pod's netns (no net/ under the VF on the
// host) are still found from the PF's virtfn links and their immutable
// attributes, and selectors that need a netdev (linkTypes) use the PF's, so
// a restarted plugin advertises the same capacity.
TEST_F(ReloadTest, VfsWhoseNetdevLeftTheHostSurviveARestart) {
  GrowVfs(4);
  for (size_t i = 0; i < 4; ++i) {
    b_.BindDriver(pf_.vfs[i], "ixgbevf");
    sk::testing::FakeNetdev nd;
    nd.name = "ens1f0v" + std::to_string(i);
    b_.AddNetdev(pf_.vfs[i], nd);
  }
  ASSERT_TRUE(b_.ok());
  WriteConfigMap(R"({"resourceList":[
      {"resourceName":"net","selectors":{"vendors":["8086"],
        "devices":["10ed"],"drivers":["ixgbevf"],"pfNames":["ens1f0"],
        "rootDevices":[")" +
                 pf_.bdf + R"("],"linkTypes":["ether"]}}]})");
  auto all_healthy = [&](const std::vector<v1beta1::Device>& d) {
    std::vector<std::string> want;
    for (const std::string& vf : pf_.vfs) want.push_back(vf + ":Healthy");
    return Summary(d) == want;
  };
  Start();
  ASSERT_TRUE(WaitForList("intel.com/net", all_healthy))
      << ::testing::PrintToString(List("intel.com/net"));

  // Two VFs go to pods (their netdevs leave the host); the plugin restarts.
  daemon_->Shutdown();
  thread_.join();
  ASSERT_THAT(run_status_, IsOk());
  b_.RemoveNetdevs(pf_.vfs[1]);
  b_.RemoveNetdevs(pf_.vfs[3]);
  ASSERT_FALSE(
      std::filesystem::exists(dir_ / b_.DeviceDir(pf_.vfs[1]) / "net"));
  daemon_ = std::make_unique<Daemon>(opts_);
  thread_ = std::thread([this] { run_status_ = daemon_->Run(); });
  ASSERT_THAT(kubelet_->WaitForRegistrations("intel.com/net", 2, kWait),
              IsOk());
  EXPECT_TRUE(WaitForList("intel.com/net", all_healthy))
      << ::testing::PrintToString(List("intel.com/net"));
  ASSERT_TRUE(WaitFor([&] {
    auto st = daemon_->GetState();
    return !st.pools.empty() && st.pools[0].devices == 4;
  }));
  EXPECT_EQ(daemon_->GetState().pools[0].healthy, 4u);
}

TEST_F(ReloadTest, PfCarrierIsIgnoredWithoutTheOption) {
  b_.WriteAttribute(pf_.bdf, "net/ens1f0/carrier", "0\n");
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio", [&](const auto& d) {
    return Summary(d) == std::vector<std::string>{pf_.vfs[0] + ":Healthy",
                                                  pf_.vfs[1] + ":Healthy"};
  })) << ::testing::PrintToString(List("intel.com/vfio"));
}

// Events settle on quiet: a burst whose events come closer together than
// event_quiet makes one rediscovery, after its last event.
TEST_F(ReloadTest, EventBurstSettlesIntoOneRediscovery) {
  opts_.event_quiet = absl::Milliseconds(200);
  opts_.event_max_delay = absl::Seconds(20);
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio",
                          [](const auto& d) { return d.size() == 2; }));
  for (int i = 0; i < 10; ++i) {
    events_->InjectPci("change", pf_.vfs[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(WaitFor([&] { return daemon_->GetState().rediscoveries >= 1; }));
  // The quiet period again with no event: nothing more runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(daemon_->GetState().rediscoveries, 1);
}

// A steady stream of events (never quiet) still rediscovers, within
// event_max_delay of the first.
TEST_F(ReloadTest, EventStreamRediscoversByMaxDelay) {
  opts_.event_quiet = absl::Seconds(20);
  opts_.event_max_delay = absl::Milliseconds(50);
  Start();
  ASSERT_TRUE(WaitForList("intel.com/vfio",
                          [](const auto& d) { return d.size() == 2; }));
  bool seen = false;
  for (int i = 0; i < 400 && !seen; ++i) {  // at most ~2 s of events
    events_->InjectPci("change", pf_.vfs[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = daemon_->GetState().rediscoveries >= 1;
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace sk::deviceplugin
