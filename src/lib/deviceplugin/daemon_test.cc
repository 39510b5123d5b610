// End-to-end tests of the daemon against KubeletStandIn (a stand-in for
// kubelet, which cannot run here) over real unix sockets, on fixture sysfs
// trees built by FakeSysfsBuilder and discovered by the real host model.
#include "lib/deviceplugin/daemon.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/strings.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/log_capture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Pair;
using ::testing::SizeIs;

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

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk::testing::FakeSysfsBuilder b(dir_.path());
    sk::testing::FakeCardOptions o;
    o.vf_driver = "vfio-pci";
    o.numa_node = 1;
    pfs_ = sk::testing::AddIntel82576(b, o);
    ASSERT_TRUE(b.ok());
    opts_.config_file = (dir_ / "etc/config.json").string();
    opts_.sysfs_root = dir_.path();
    opts_.server.device_plugin_dir = dir_ / "dp";
    opts_.server.plugins_registry_dir = dir_ / "reg";
    opts_.server.service.devinfo_dir = dir_ / "devinfo";
    opts_.server.service.cdi_dir = dir_ / "cdi";
    opts_.retry_interval = absl::Milliseconds(100);
    WriteConfig(R"({"resourceList":[
        {"resourceName":"vfio","selectors":{"drivers":["vfio-pci"],
                                            "pfNames":["$PF0"]}}]})");
  }
  void TearDown() override { StopDaemon(); }

  // "$PF0"/"$PF1" stand for the PFs' netdev names.
  void WriteConfig(std::string text) {
    for (int i = 0; i < 2; ++i) {
      std::string key = "$PF" + std::to_string(i);
      for (size_t p; (p = text.find(key)) != std::string::npos;) {
        text.replace(p, key.size(), pfs_[i].netdev);
      }
    }
    std::filesystem::create_directories(dir_ / "etc");
    std::ofstream(dir_ / "etc/config.json.tmp") << text;
    std::filesystem::rename(dir_ / "etc/config.json.tmp",
                            dir_ / "etc/config.json");
  }
  void StartDaemon() {
    daemon_ = std::make_unique<Daemon>(opts_);
    thread_ = std::thread([this] { run_status_ = daemon_->Run(); });
  }
  void StopDaemon() {
    if (!daemon_ || !thread_.joinable()) return;
    daemon_->Shutdown();
    thread_.join();
    EXPECT_THAT(run_status_, IsOk());
  }

  sk::testing::TempDir dir_;
  std::vector<sk::testing::FakePf> pfs_;
  DaemonOptions opts_;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  absl::Status run_status_;
};

TEST_F(DaemonTest, KubeletStandInLegacyRegistersListsAndAllocates) {
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK_AND_ASSIGN(auto devices,
                          kubelet->WaitForDevices("intel.com/vfio", 7, kWait));
  ASSERT_THAT(devices, SizeIs(7));
  EXPECT_EQ(devices[0].id(), pfs_[0].vfs[0]);
  EXPECT_EQ(devices[0].health(), "Healthy");
  ASSERT_EQ(devices[0].topology().nodes_size(), 1);
  EXPECT_EQ(devices[0].topology().nodes(0).id(), 1);

  v1beta1::RegisterRequest req = kubelet->last_request("intel.com/vfio");
  EXPECT_EQ(req.version(), "v1beta1");
  EXPECT_EQ(req.endpoint(), "intel.com_vfio.sock");
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));

  SK_ASSERT_OK_AND_ASSIGN(auto options, kubelet->GetOptions("intel.com/vfio"));
  EXPECT_FALSE(options.pre_start_required());
  EXPECT_TRUE(options.get_preferred_allocation_available());

  std::string vf = pfs_[0].vfs[2];
  SK_ASSERT_OK_AND_ASSIGN(auto resp, kubelet->Allocate("intel.com/vfio", {vf}));
  ASSERT_EQ(resp.container_responses_size(), 1);
  const auto& c = resp.container_responses(0);
  ASSERT_EQ(c.devices_size(), 2);
  EXPECT_EQ(c.devices(0).host_path(), "/dev/vfio/vfio");
  std::string group = std::filesystem::read_symlink(
                          dir_ / "sys/bus/pci/devices" / vf / "iommu_group")
                          .filename()
                          .string();
  EXPECT_EQ(c.devices(1).host_path(), "/dev/vfio/" + group);
  EXPECT_EQ(c.devices(1).container_path(), "/dev/vfio/" + group);
  EXPECT_EQ(c.devices(1).permissions(), "rw");
  EXPECT_THAT(c.envs(), Contains(Pair("PCIDEVICE_INTEL_COM_VFIO", vf)));
  EXPECT_THAT(c.envs(), Contains(Key("PCIDEVICE_INTEL_COM_VFIO_INFO")));
  // The device-info file exists, read-only, with the PF address.
  std::filesystem::path info =
      dir_ / "devinfo" / ("intel.com-vfio-" + vf + "-device.json");
  struct stat st;
  ASSERT_EQ(::stat(info.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  std::ifstream in(info);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(text, HasSubstr("\"pf-pci-address\":\"" + pfs_[0].bdf + "\""));

  // VFs of the other PF are not in this pool: an error, not skipped.
  EXPECT_THAT(kubelet->Allocate("intel.com/vfio", {vf, pfs_[1].vfs[0]}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "resource intel.com/vfio: unknown device ID \"" +
                           pfs_[1].vfs[0] + "\""));
}

// The stand-in asks GetPreferredAllocation before Allocate, as kubelet
// does; spreadPF then takes one VF of each PF where kubelet's own choice
// (lowest IDs) would take two of the first PF.
TEST_F(DaemonTest, KubeletStandInUsesPreferredAllocationSpreadAcrossPfs) {
  WriteConfig(R"({"resourceList":[
      {"resourceName":"vfio","allocationPolicy":"spreadPF",
       "selectors":{"drivers":["vfio-pci"]}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK_AND_ASSIGN(auto devices,
                          kubelet->WaitForDevices("intel.com/vfio", 14, kWait));
  ASSERT_THAT(devices, SizeIs(14));
  KubeletStandIn::PodContainer who{"ns", "vm", "uid-1", "compute"};
  SK_ASSERT_OK_AND_ASSIGN(auto first,
                          kubelet->AllocateCount(who, "intel.com/vfio", 2));
  EXPECT_TRUE(first.used_preferred);
  EXPECT_THAT(first.ids,
              ::testing::ElementsAre(pfs_[0].vfs[0], pfs_[1].vfs[0]));
  ASSERT_EQ(first.response.container_responses_size(), 1);
  EXPECT_THAT(first.response.container_responses(0).envs(),
              Contains(Pair("PCIDEVICE_INTEL_COM_VFIO",
                            pfs_[0].vfs[0] + "," + pfs_[1].vfs[0])));
  // The next pod gets the next VF of each PF; must-include is honoured.
  SK_ASSERT_OK_AND_ASSIGN(
      auto second,
      kubelet->AllocateCount(who, "intel.com/vfio", 3, {pfs_[1].vfs[5]}));
  EXPECT_THAT(second.ids, ::testing::ElementsAre(pfs_[1].vfs[5], pfs_[0].vfs[1],
                                                 pfs_[0].vfs[2]));
}

TEST_F(DaemonTest, PoolsWaitForTheNodeConfiguredFile) {
  const std::filesystem::path flag = dir_ / "run/node-configured";
  opts_.wait_node_configured = flag.string();
  sk::testing::LogCapture logs;
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  ASSERT_TRUE(WaitFor([&] {
    return daemon_->GetState().node_wait == "waiting for " + flag.string();
  }));
  // Kubelet is up, yet nothing registers while the node is not configured
  // (a bounded look: proving an absence needs a window).
  EXPECT_FALSE(
      WaitFor([&] { return kubelet->registrations("intel.com/vfio") > 0; },
              absl::Milliseconds(300)));
  EXPECT_FALSE(daemon_->GetState().ready());
  EXPECT_FALSE(daemon_->GetState().config_loaded);

  std::filesystem::create_directories(flag.parent_path());
  std::ofstream(flag) << R"({"policies":1})";
  SK_ASSERT_OK_AND_ASSIGN(auto devices,
                          kubelet->WaitForDevices("intel.com/vfio", 7, kWait));
  EXPECT_THAT(devices, SizeIs(7));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  EXPECT_EQ(daemon_->GetState().node_wait, "");
  // Logged once while waiting (every tick re-checks; the log is bounded).
  std::string text = logs.Text();
  size_t count = 0;
  for (size_t p = 0;
       (p = text.find("waiting for " + flag.string(), p)) != std::string::npos;
       ++p) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << text;
  EXPECT_THAT(text, HasSubstr("node configured; starting the pools"));
}

TEST_F(DaemonTest, KubeletStandInWatcherModeUsesGetInfo) {
  std::filesystem::create_directories(dir_ / "reg");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartWatcher(dir_ / "reg"));
  StartDaemon();
  SK_ASSERT_OK_AND_ASSIGN(auto devices,
                          kubelet->WaitForDevices("intel.com/vfio", 7, kWait));
  EXPECT_THAT(devices, SizeIs(7));
  EXPECT_EQ(kubelet->last_endpoint("intel.com/vfio"),
            (dir_ / "reg/intel.com_vfio.sock").string());
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  EXPECT_EQ(daemon_->GetState().mode, RegistrationMode::kWatcher);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dp/intel.com_vfio.sock"));
  SK_ASSERT_OK_AND_ASSIGN(
      auto resp, kubelet->Allocate("intel.com/vfio", {pfs_[0].vfs[0]}));
  EXPECT_EQ(resp.container_responses(0).devices_size(), 2);
}

TEST_F(DaemonTest, KubeletStandInSocketDeletionReRegistersWithinOneSecond) {
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForRegistrations("intel.com/vfio", 1, kWait));
  std::filesystem::remove(dir_ / "dp/intel.com_vfio.sock");
  EXPECT_THAT(
      kubelet->WaitForRegistrations("intel.com/vfio", 2, absl::Seconds(1)),
      IsOk());
  // The state is published after the tick that registered.
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().restarts == 1; }));
}

TEST_F(DaemonTest, KubeletStandInRestartInBothModes) {
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForRegistrations("intel.com/vfio", 1, kWait));
  SK_ASSERT_OK(kubelet->SimulateRestart());
  SK_ASSERT_OK(
      kubelet->WaitForRegistrations("intel.com/vfio", 2, absl::Seconds(1)));
  SK_EXPECT_OK(kubelet->Allocate("intel.com/vfio", {pfs_[0].vfs[0]}));
  StopDaemon();
  daemon_.reset();

  std::filesystem::create_directories(dir_ / "reg");
  SK_ASSERT_OK_AND_ASSIGN(auto watcher,
                          KubeletStandIn::StartWatcher(dir_ / "reg"));
  StartDaemon();
  SK_ASSERT_OK(watcher->WaitForRegistrations("intel.com/vfio", 1, kWait));
  SK_ASSERT_OK(watcher->SimulateRestart());  // wipes plugins_registry
  EXPECT_THAT(
      watcher->WaitForRegistrations("intel.com/vfio", 2, absl::Seconds(1)),
      IsOk());
}

TEST_F(DaemonTest, KubeletStandInNewKubeletSockReRegistersOnTheLiveSocket) {
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForRegistrations("intel.com/vfio", 1, kWait));
  std::filesystem::path sock = dir_ / "dp/intel.com_vfio.sock";
  struct stat before;
  ASSERT_EQ(::stat(sock.c_str(), &before), 0);
  SK_ASSERT_OK(kubelet->SimulateRestart(/*wipe_sockets=*/false));
  SK_ASSERT_OK(kubelet->WaitForRegistrations("intel.com/vfio", 2, kWait));
  // Same socket file, never re-created: nothing in flight was cancelled.
  struct stat after;
  ASSERT_EQ(::stat(sock.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  EXPECT_EQ(daemon_->GetState().restarts, 0);
  SK_EXPECT_OK(kubelet->Allocate("intel.com/vfio", {pfs_[0].vfs[0]}));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
}

TEST_F(DaemonTest, KubeletStandInRefusalIsRetried) {
  std::filesystem::create_directories(dir_ / "reg");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet, KubeletStandIn::StartWatcher(
                                            dir_ / "reg", /*accept=*/false));
  StartDaemon();
  ASSERT_TRUE(WaitFor(
      [&] { return !kubelet->last_endpoint("intel.com/vfio").empty(); }));
  EXPECT_FALSE(daemon_->GetState().ready());
  kubelet->set_accept(true);
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/vfio", 7, kWait));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
}

TEST_F(DaemonTest, BadConfigKeepsDaemonUpNotReadyAndRecovers) {
  WriteConfig(R"({"resourceList": [ {"resourceName": "vfio",}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  ASSERT_TRUE(
      WaitFor([&] { return !daemon_->GetState().config_error.empty(); }));
  DaemonState st = daemon_->GetState();
  EXPECT_FALSE(st.ready());
  EXPECT_FALSE(st.config_loaded);
  EXPECT_THAT(st.config_error,
              HasSubstr(opts_.config_file + ": not valid JSON at byte"));
  WriteConfig(R"({"resourceList":[
      {"resourceName":"vfio","selectors":{"drivers":["vfio-pci"]}}]})");
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/vfio", 14, kWait));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  EXPECT_EQ(daemon_->GetState().config_error, "");
}

TEST_F(DaemonTest, OneBadPoolDoesNotStopTheOthers) {
  WriteConfig(R"({"resourceList":[
      {"resourceName":"bad","selectors":[{"pfNames":["$PF0#x"]}]},
      {"resourceName":"b","selectors":{"pfNames":["$PF1"]}},
      {"resourceName":"a","selectors":{"pfNames":["$PF0"]}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/a", 7, kWait));
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/b", 7, kWait));
  EXPECT_EQ(kubelet->registrations("intel.com/bad"), 0);
  EXPECT_THAT(daemon_->GetState().pools, SizeIs(2));
}

TEST_F(DaemonTest, SocketPathOverTheUnixLimitFailsOnlyThatPool) {
  // A 60-byte device-plugin directory: kubelet.sock and "intel.com_a.sock"
  // fit in sockaddr_un.sun_path, a socket for a valid 40-character name
  // does not.
  std::filesystem::path dp =
      dir_.path() / std::string(59 - dir_.path().string().size(), 'd');
  ASSERT_EQ(dp.string().size(), 60u);
  opts_.server.device_plugin_dir = dp;
  const std::string long_name(40, 'l');
  WriteConfig(R"({"resourceList":[
      {"resourceName":")" +
              long_name + R"(","selectors":{"pfNames":["$PF1"]}},
      {"resourceName":"a","selectors":{"pfNames":["$PF0"]}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet, KubeletStandIn::StartLegacy(dp));
  StartDaemon();
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/a", 7, kWait));
  const std::string sock = (dp / ("intel.com_" + long_name + ".sock")).string();
  ASSERT_GT(sock.size(), 107u);
  ASSERT_TRUE(WaitFor([&] {
    DaemonState st = daemon_->GetState();
    return st.pools.size() == 2 && !st.pools[0].last_error.empty() &&
           st.pools[1].registered;
  }));
  DaemonState st = daemon_->GetState();
  EXPECT_EQ(st.pools[0].last_error,
            sk::StrCat("intel.com/", long_name, ": socket path ", sock, " is ",
                       sock.size(),
                       " bytes, longer than the 107-byte unix socket limit"));
  EXPECT_FALSE(st.pools[0].serving);
  EXPECT_FALSE(st.ready());
  EXPECT_EQ(kubelet->registrations("intel.com/" + long_name), 0);
  SK_EXPECT_OK(kubelet->Allocate("intel.com/a", {pfs_[0].vfs[0]}));
}

TEST_F(DaemonTest, DevicePluginDirThatIsAFileIsReportedAndTheDaemonRecovers) {
  // Root ignores permission bits, so the unusable directory is a regular
  // file in its place.
  std::ofstream(dir_ / "dp") << "not a directory";
  StartDaemon();
  ASSERT_TRUE(WaitFor([&] {
    DaemonState st = daemon_->GetState();
    return st.pools.size() == 1 && !st.pools[0].last_error.empty();
  }));
  DaemonState st = daemon_->GetState();
  EXPECT_FALSE(st.pools[0].serving);
  EXPECT_THAT(st.pools[0].last_error,
              HasSubstr(sk::StrCat("intel.com/vfio: socket ",
                                   (dir_ / "dp/intel.com_vfio.sock").string(),
                                   ": mkdir ", (dir_ / "dp").string(), ": ")));

  // The directory comes back (and kubelet with it): the pool serves.
  std::filesystem::remove(dir_ / "dp");
  std::filesystem::create_directories(dir_ / "dp");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/vfio", 7, kWait));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
}

TEST_F(DaemonTest, PrefixWithDotDotNeverPutsASocketOutsideTheDirectory) {
  WriteConfig(R"({"resourceList":[
      {"resourceName":"b","resourcePrefix":"../x",
       "selectors":{"pfNames":["$PF1"]}},
      {"resourceName":"a","selectors":{"pfNames":["$PF0"]}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/a", 7, kWait));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  EXPECT_THAT(daemon_->GetState().pools, SizeIs(1));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x_b.sock"));
  EXPECT_EQ(kubelet->registrations("../x/b"), 0);
}

TEST_F(DaemonTest, RetriesLogWhenTheNextTryIs) {
  sk::testing::LogCapture logs;
  auto logged = [&](const std::string& text) {
    return logs.Text().find(text) != std::string::npos;
  };
  std::filesystem::remove(dir_ / "etc/config.json");
  StartDaemon();
  EXPECT_TRUE(WaitFor([&] {
    return logged(sk::StrCat("not ready: open ", opts_.config_file,
                             ": No such file or directory; retrying in 100ms "
                             "(sooner if ",
                             (dir_ / "etc").string(), " changes)"));
  }));
  // No kubelet yet: registration fails, and says when it is tried again.
  WriteConfig(R"({"resourceList":[
      {"resourceName":"vfio","selectors":{"pfNames":["$PF0"]}}]})");
  EXPECT_TRUE(WaitFor([&] {
    return logged(sk::StrCat("intel.com/vfio: register on ",
                             (dir_ / "dp/kubelet.sock").string(), ": ")) &&
           logged("; retrying in 20ms");
  }));
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  SK_EXPECT_OK(kubelet->WaitForRegistrations("intel.com/vfio", 1, kWait));
  StopDaemon();  // before `logs` gives the default logger back
}

TEST_F(DaemonTest, SocketDirReplacedWhileKubeletIsDownThenRecovers) {
  auto kubelet_or = KubeletStandIn::StartLegacy(dir_ / "dp");
  SK_ASSERT_OK(kubelet_or.status());
  std::unique_ptr<KubeletStandIn> kubelet = *std::move(kubelet_or);
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForRegistrations("intel.com/vfio", 1, kWait));

  // Kubelet dies and the directory is replaced by a file: the pool loses
  // its socket and cannot make a new one; the daemon stays up.
  // One atomic swap (renameat2 RENAME_EXCHANGE): with a rename and then a
  // create, the daemon could re-create the directory in between.
  kubelet.reset();
  std::ofstream(dir_ / "dp.file") << "not a directory";
  ASSERT_EQ(::renameat2(AT_FDCWD, (dir_ / "dp.file").c_str(), AT_FDCWD,
                        (dir_ / "dp").c_str(), RENAME_EXCHANGE),
            0)
      << std::strerror(errno);
  ASSERT_TRUE(WaitFor([&] {
    DaemonState st = daemon_->GetState();
    return st.pools.size() == 1 && !st.pools[0].serving &&
           st.pools[0].last_error.find("Not a directory") != std::string::npos;
  }));

  // The directory and kubelet come back: the pool serves and registers.
  std::filesystem::remove(dir_ / "dp");
  std::filesystem::create_directories(dir_ / "dp");
  SK_ASSERT_OK_AND_ASSIGN(kubelet, KubeletStandIn::StartLegacy(dir_ / "dp"));
  SK_ASSERT_OK(kubelet->WaitForDevices("intel.com/vfio", 7, kWait).status());
  SK_EXPECT_OK(kubelet->Allocate("intel.com/vfio", {pfs_[0].vfs[0]}));
  // The new directory is watched again: a kubelet restart that keeps the
  // plugin sockets (only kubelet.sock is re-created) is noticed.
  int before = kubelet->registrations("intel.com/vfio");
  SK_ASSERT_OK(kubelet->SimulateRestart(/*wipe_sockets=*/false));
  SK_EXPECT_OK(
      kubelet->WaitForRegistrations("intel.com/vfio", before + 1, kWait));
}

// The device-plugin directory becomes read-only (a bind mount of itself,
// remounted ro; root ignores permission bits, not a read-only mount) while
// pool "a" serves, and the config gains pool "b": b's socket cannot be
// created and is retried, a keeps serving (its socket was bound before, and
// connecting needs no write), and once the directory is writable again b
// registers.
TEST_F(DaemonTest, DevicePluginDirTurningReadOnlyKeepsOtherPoolsAndRetries) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (bind mount)";
  WriteConfig(R"({"resourceList":[
      {"resourceName":"a","selectors":{"pfNames":["$PF0"]}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForDevices("intel.com/a", 7, kWait).status());

  const std::string dp = (dir_ / "dp").string();
  ASSERT_EQ(::mount(dp.c_str(), dp.c_str(), nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{dp};
  ASSERT_EQ(::mount(nullptr, dp.c_str(), nullptr, MS_PRIVATE, nullptr), 0);
  ASSERT_EQ(::mount(nullptr, dp.c_str(), nullptr,
                    MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
            0)
      << std::strerror(errno);
  ASSERT_NE(::access(dp.c_str(), W_OK), 0);

  WriteConfig(R"({"resourceList":[
      {"resourceName":"a","selectors":{"pfNames":["$PF0"]}},
      {"resourceName":"b","selectors":{"pfNames":["$PF1"]}}]})");
  const std::string sock_b = (dir_ / "dp/intel.com_b.sock").string();
  ASSERT_TRUE(WaitFor([&] {
    DaemonState st = daemon_->GetState();
    return st.pools.size() == 2 &&
           st.pools[1].last_error.find("Read-only file system") !=
               std::string::npos;
  })) << (daemon_->GetState().pools.size() == 2
              ? daemon_->GetState().pools[1].last_error
              : "one pool");
  DaemonState st = daemon_->GetState();
  EXPECT_THAT(st.pools[1].last_error, HasSubstr("intel.com/b: socket "));
  EXPECT_THAT(st.pools[1].last_error, HasSubstr(sock_b));
  EXPECT_FALSE(st.pools[1].serving);
  EXPECT_FALSE(st.ready());
  EXPECT_TRUE(st.pools[0].serving);
  EXPECT_TRUE(st.pools[0].registered);
  SK_EXPECT_OK(kubelet->Allocate("intel.com/a", {pfs_[0].vfs[0]}));
  EXPECT_EQ(kubelet->registrations("intel.com/b"), 0);

  ASSERT_EQ(::umount2(dp.c_str(), 0), 0) << std::strerror(errno);
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/b", 7, kWait));
  EXPECT_TRUE(WaitFor([&] { return daemon_->GetState().ready(); }));
  SK_EXPECT_OK(kubelet->Allocate("intel.com/a", {pfs_[0].vfs[1]}));
}

// The config directory itself is removed and made again (as by a
// hand-rolled deployment that replaces it): the watch, which followed the
// old directory's inode, is added again, and the new file is loaded.
TEST_F(DaemonTest, ConfigDirRemovedAndRecreatedIsWatchedAgain) {
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForDevices("intel.com/vfio", 7, kWait).status());
  std::filesystem::remove_all(dir_ / "etc");
  // The removal itself is a refused reload (no file); the old pool serves.
  ASSERT_TRUE(
      WaitFor([&] { return !daemon_->GetState().config_error.empty(); }));
  EXPECT_THAT(daemon_->GetState().pools, SizeIs(1));
  WriteConfig(R"({"resourceList":[
      {"resourceName":"vfio","selectors":{"pfNames":["$PF0"]}},
      {"resourceName":"other","selectors":{"pfNames":["$PF1"]}}]})");
  SK_EXPECT_OK(kubelet->WaitForDevices("intel.com/other", 7, kWait));
  EXPECT_TRUE(WaitFor([&] {
    DaemonState st = daemon_->GetState();
    return st.pools.size() == 2 && st.config_error.empty();
  }));
}

TEST_F(DaemonTest, ShutdownRemovesSocketsDeviceInfoAndCdiSpecs) {
  opts_.server.service.use_cdi = true;
  std::filesystem::create_directories(dir_ / "cdi");
  std::ofstream(dir_ / "cdi/sriov-dp-stale.yaml") << "x";
  std::ofstream(dir_ / "cdi/other-vendor.yaml") << "x";
  // A device that left the pool, and another resource whose name extends
  // this one.
  std::filesystem::create_directories(dir_ / "devinfo");
  std::filesystem::path gone =
      dir_ / "devinfo/intel.com-vfio-0000:99:00.1-device.json";
  std::filesystem::path other =
      dir_ / "devinfo" /
      ("intel.com-vfio-x-" + pfs_[0].vfs[0] + "-device.json");
  std::ofstream(gone) << "{}";
  std::ofstream(other) << "{}";
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir_ / "dp"));
  StartDaemon();
  SK_ASSERT_OK(kubelet->WaitForDevices("intel.com/vfio", 7, kWait).status());
  EXPECT_FALSE(std::filesystem::exists(gone));
  EXPECT_TRUE(std::filesystem::exists(other));
  std::string vf = pfs_[0].vfs[1];
  SK_ASSERT_OK_AND_ASSIGN(auto resp, kubelet->Allocate("intel.com/vfio", {vf}));
  const auto& c = resp.container_responses(0);
  EXPECT_EQ(c.devices_size(), 0);  // CDI mode: nodes come from the spec
  ASSERT_EQ(c.cdi_devices_size(), 1);
  EXPECT_EQ(c.cdi_devices(0).name(), "intel.com/net-pci=" + vf);
  EXPECT_THAT(c.annotations(),
              Contains(Pair("cdi.k8s.io/intel.com_net-pci_vfio",
                            "intel.com/net-pci=" + vf)));
  std::filesystem::path spec =
      dir_ / "cdi/sriov-dp-intel.com-net-pci-vfio.yaml";
  EXPECT_TRUE(std::filesystem::exists(spec));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cdi/sriov-dp-stale.yaml"));
  std::filesystem::path info =
      dir_ / "devinfo" / ("intel.com-vfio-" + vf + "-device.json");
  EXPECT_TRUE(std::filesystem::exists(info));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dp/intel.com_vfio.sock"));

  StopDaemon();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dp/intel.com_vfio.sock"));
  EXPECT_FALSE(std::filesystem::exists(info));
  EXPECT_FALSE(std::filesystem::exists(spec));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cdi/other-vendor.yaml"));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dp/kubelet.sock"));
}

TEST(DaemonNoIommuTest, KubeletStandInGetsNoIommuHostPaths) {
  sk::testing::TempDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddNoIommuHost(b);
  ASSERT_TRUE(b.ok());
  std::filesystem::create_directories(dir / "etc");
  std::ofstream(dir / "etc/config.json")
      << R"({"resourceList":[{"resourceName":"vm",
            "selectors":{"drivers":["vfio-pci"]}}]})";
  DaemonOptions o;
  o.config_file = (dir / "etc/config.json").string();
  o.sysfs_root = dir.path();
  o.server.device_plugin_dir = dir / "dp";
  o.server.plugins_registry_dir = dir / "reg";
  o.server.service.devinfo_dir = dir / "devinfo";
  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir / "dp"));
  Daemon d(o);
  absl::Status run;
  std::thread t([&] { run = d.Run(); });
  auto devices = kubelet->WaitForDevices("intel.com/vm", 1, kWait);
  ASSERT_THAT(devices, IsOk());
  std::string vf = pfs[0].vfs[0];
  auto resp = kubelet->Allocate("intel.com/vm", {vf});
  d.Shutdown();
  t.join();
  ASSERT_THAT(resp, IsOk());
  std::optional<int> group = b.IommuGroupOf(vf);
  ASSERT_TRUE(group.has_value());
  const auto& c = resp->container_responses(0);
  ASSERT_EQ(c.devices_size(), 2);
  std::string g = std::to_string(*group);
  EXPECT_EQ(c.devices(1).host_path(), "/dev/vfio/noiommu-" + g);
  EXPECT_EQ(c.devices(1).container_path(), "/dev/vfio/" + g);
  // The host node the plugin names exists in the fixture's /dev.
  EXPECT_TRUE(std::filesystem::exists(dir / ("dev/vfio/noiommu-" + g)));
}

}  // namespace
}  // namespace sk::deviceplugin
