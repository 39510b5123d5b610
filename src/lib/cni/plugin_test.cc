// Plugin logic against a recording fake PF (FakePfNetlink), a fixture sysfs
// tree (FakeSysfsBuilder) and fake namespaces/IPAM. Userspace (vfio) mode
// is covered here; netdevice mode in plugin_netdev_test.cc (a fake link
// kernel) and on the real kernel in tests/integration/cni_plugin_test.cc.
#include "lib/cni/plugin.h"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/error.h"
#include "lib/cni/version.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/fake_pf_netlink.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/fork_each.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::FakeNetlinkSocket;
using ::sk::testing::FakePfNetlink;
using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Namespaces are plain files here: a "netns path" exists while its file
// does. Sockets are inert fakes (userspace mode never touches a netdev).
class FakeLinkEnvironment : public LinkEnvironment {
 public:
  explicit FakeLinkEnvironment(const std::filesystem::path& dir) : dir_(dir) {
    std::ofstream(dir_ / "host") << "host";
    host_ = UniqueFd(::open((dir_ / "host").c_str(), O_RDONLY | O_CLOEXEC));
  }
  std::string NewNetns(const std::string& name) {
    std::ofstream(dir_ / name) << name;
    return (dir_ / name).string();
  }
  int host_netns() const override { return host_.get(); }
  absl::StatusOr<UniqueFd> OpenNetns(const std::string& path) override {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return absl::NotFoundError("netns " + path + " does not exist");
    return fd;
  }
  absl::StatusOr<std::unique_ptr<netlink::Socket>> OpenSocket(int) override {
    ++sockets_opened;
    return std::unique_ptr<netlink::Socket>(new FakeNetlinkSocket());
  }
  int sockets_opened = 0;
  absl::Status WriteSysctl(int, const std::string&,
                           const std::string&) override {
    return absl::OkStatus();
  }
  absl::Status Announce(int, int, const net::MacAddress&,
                        const std::vector<net::IpAddress>&) override {
    return absl::OkStatus();
  }

 private:
  std::filesystem::path dir_;
  UniqueFd host_;
};

class FakeIpam : public IpamDelegate {
 public:
  absl::StatusOr<std::string> Run(const std::string& type, Command command,
                                  const CniEnv& env,
                                  std::string_view) override {
    calls.push_back(type + " " + std::string(CommandName(command)));
    if (command == Command::kAdd) {
      if (!add_error.ok()) return add_error;
      return add_output;
    }
    return std::string();
  }
  std::vector<std::string> calls;
  std::string add_output =
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}]})";
  absl::Status add_error;
};

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_ / "root");
    std::filesystem::create_directories(tmp_ / "ns");
    sk::testing::FakeSysfsBuilder b(tmp_ / "root");
    sk::testing::FakeCardOptions o;
    o.vf_driver = "vfio-pci";
    o.ports = 1;
    o.num_vfs = 4;
    card_ = sk::testing::AddIntel82576(b, o)[0];
    ASSERT_TRUE(b.ok());
    vf_ = card_.vfs[2];
    fake_pf_.AddPf(card_.netdev, 4, static_cast<int>(card_.vfs.size()), 9000);
    fake_pf_.Install(pf_sock_);
    links_ = std::make_unique<FakeLinkEnvironment>(tmp_ / "ns");
    pod_ns_ = links_->NewNetns("pod1");
    PluginOptions opts;
    opts.state_dir = tmp_ / "state";
    opts.clock = &clock_;
    opts.lock_timeout = std::chrono::milliseconds(50);
    opts.retries = 2;
    opts.step_hook_for_test = [this](std::string_view s) {
      steps_.emplace_back(s);
      if (on_step_) on_step_(s);
    };
    sysfs_ = std::make_unique<sysfs::Sysfs>(tmp_ / "root");
    plugin_ = std::make_unique<Plugin>(*sysfs_, pf_sock_, *links_, ipam_, opts);
  }

  CniEnv Env(Command c, const std::string& cid = "c1",
             const std::string& netns = "") {
    CniEnv e;
    e.command = c;
    e.container_id = cid;
    e.netns = netns.empty() ? pod_ns_ : netns;
    e.ifname = "net1";
    e.path = {"/usr/lib/cni"};
    return e;
  }
  std::string Conf(const std::string& extra,
                   const std::string& version = "1.0.0") {
    return R"({"cniVersion":")" + version +
           R"(","name":"sriov-net","type":"sriov","deviceID":")" + vf_ + "\"" +
           extra + "}";
  }
  StateDir State() { return StateDir(tmp_ / "state"); }

  TempDir tmp_;
  sk::testing::FakeClock clock_;
  sk::testing::FakePf card_;
  std::string vf_;
  FakePfNetlink fake_pf_;
  FakeNetlinkSocket pf_sock_;
  std::unique_ptr<FakeLinkEnvironment> links_;
  std::string pod_ns_;
  FakeIpam ipam_;
  std::unique_ptr<sysfs::Sysfs> sysfs_;
  std::unique_ptr<Plugin> plugin_;
  std::vector<std::string> steps_;
  std::function<void(std::string_view)> on_step_;
};

constexpr char kFullConfig[] =
    R"(,"vlan":100,"vlanQoS":3,"vlanProto":"802.1ad","mac":"02:00:00:00:00:aa","min_tx_rate":10,"max_tx_rate":20,"spoofchk":"off","trust":"on","link_state":"disable")";

// The PF-side requests of one command: (type, VF fields set).
std::vector<std::string> PfRequests(const FakeNetlinkSocket& sock) {
  std::vector<std::string> out;
  for (const netlink::Message& m : sock.requests()) {
    auto set = net::ParseSetVfs(m);
    out.push_back(set.ok() ? "SETLINK " + net::VfFieldNames(set->fields)
                  : m.type() == RTM_GETLINK ? "GETLINK"
                                            : std::to_string(m.type()));
  }
  return out;
}

TEST_F(PluginTest, AddUserspaceSetsAllPfFieldsInOneRequestInUpstreamOrder) {
  pf_sock_.ClearRequests();
  SK_ASSERT_OK_AND_ASSIGN(std::string out,
                          plugin_->Run(Env(Command::kAdd), Conf(kFullConfig)));
  std::string pf = card_.netdev;
  EXPECT_THAT(fake_pf_.calls(),
              ElementsAre("SetVfs " + pf +
                          " vf 2 vlan 100 3 0x88a8, mac 02:00:00:00:00:aa, "
                          "rate 10 20, spoofchk off, trust on, link_state 2"));
  // The snapshot dump and one RTM_SETLINK: no MAC read-back in vfio mode.
  EXPECT_THAT(PfRequests(pf_sock_),
              ElementsAre("GETLINK",
                          "SETLINK vlan,mac,rate,spoofchk,trust,link_state"));
  net::VfInfo vf = fake_pf_.Vf(card_.netdev, 2);
  EXPECT_EQ(vf.vlan, 100u);
  EXPECT_EQ(vf.qos, 3u);
  EXPECT_EQ(vf.vlan_proto, net::kEthP8021AD);
  EXPECT_EQ(net::MacToString(vf.mac), "02:00:00:00:00:aa");
  EXPECT_EQ(vf.max_tx_rate, 20u);
  EXPECT_FALSE(vf.spoofchk);
  EXPECT_TRUE(vf.trust);
  EXPECT_EQ(vf.link_state, 2u);
  EXPECT_EQ(
      out,
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:aa","mtu":9000,"sandbox":")" +
          pod_ns_ +
          R"("}],"dns":{}})"
          "\n");
  SK_ASSERT_OK_AND_ASSIGN(auto cache, State().LoadCache("c1", "net1"));
  ASSERT_TRUE(cache.has_value());
  EXPECT_EQ(cache->phase, Phase::kReady);
  EXPECT_EQ(cache->mode, VfMode::kUserspace);
  EXPECT_EQ(cache->vf_id, 2u);
  EXPECT_EQ(cache->master, pf);
  EXPECT_TRUE(cache->orig.spoofchk);
  SK_ASSERT_OK_AND_ASSIGN(auto alloc, State().ReadAllocation(vf_));
  EXPECT_EQ(alloc, std::optional<std::string>(pod_ns_));
  // A vfio VF has no netdev: vfio mode opens no link socket in any netns
  // (each costs a setns there and back).
  EXPECT_EQ(links_->sockets_opened, 0);
  pf_sock_.ClearRequests();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf(kFullConfig)).status());
  EXPECT_EQ(links_->sockets_opened, 0);
  EXPECT_THAT(PfRequests(pf_sock_),
              ElementsAre("GETLINK",
                          "SETLINK vlan,spoofchk,mac,trust,rate,link_state"));
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2),
            (net::VfInfo{.id = 2, .spoofchk = true}));
}

TEST_F(PluginTest, ResultPciIdOnlyFrom110AndIpVersionBefore100) {
  std::string conf = Conf(R"(,"ipam":{"type":"host-local"})", "1.1.0");
  SK_ASSERT_OK_AND_ASSIGN(std::string out,
                          plugin_->Run(Env(Command::kAdd), conf));
  EXPECT_THAT(out, HasSubstr("\"pciID\":\"" + vf_ + "\""));
  EXPECT_THAT(
      out,
      HasSubstr(
          R"("ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}])"));
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), conf).status());
  SK_ASSERT_OK_AND_ASSIGN(
      std::string old,
      plugin_->Run(Env(Command::kAdd, "c2"),
                   Conf(R"(,"ipam":{"type":"host-local"})", "0.3.1")));
  EXPECT_THAT(
      old,
      HasSubstr(R"({"version":"4","interface":0,"address":"10.56.217.2/24")"));
  EXPECT_THAT(old, ::testing::Not(HasSubstr("pciID")));
}

TEST_F(PluginTest, WriteAheadCacheExistsBeforeFirstPfChange) {
  bool checked = false;
  on_step_ = [&](std::string_view s) {
    if (s != "cached") return;
    checked = true;
    EXPECT_THAT(fake_pf_.calls(), IsEmpty());
    auto cache = State().LoadCache("c1", "net1");
    ASSERT_TRUE(cache.ok() && cache->has_value());
    EXPECT_EQ((*cache)->phase, Phase::kAdding);
  };
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kFullConfig)).status());
  EXPECT_TRUE(checked);
}

TEST_F(PluginTest, DriverRefusalRestoresSnapshotThenNamesTheField) {
  net::VfInfo before = fake_pf_.Vf(card_.netdev, 2);
  // igb has no ndo_set_vf_trust: every trust set fails.
  fake_pf_.FailAlways(net::VfField::kTrust, EOPNOTSUPP,
                      "VF trust not supported by igb");
  pf_sock_.ClearRequests();
  auto r = plugin_->Run(Env(Command::kAdd), Conf(kFullConfig));
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kUnimplemented,
                  "SRIOV-CNI failed to configure VF: failed to set vf 2 trust "
                  "flag to on: " +
                      card_.netdev +
                      " vf 2: set trust: Operation not supported: VF trust not "
                      "supported by igb"));
  std::string pf = card_.netdev;
  EXPECT_THAT(
      fake_pf_.calls(),
      ElementsAre(
          // The batch: the kernel applies trust last, so everything else
          // was applied when it refused.
          "SetVfs " + pf +
              " vf 2 vlan 100 3 0x88a8, mac 02:00:00:00:00:aa, rate 10 20, "
              "spoofchk off, trust on, link_state 2 -> errno 95 at trust",
          // The snapshot, for what differs (trust never changed).
          "SetVfs " + pf +
              " vf 2 vlan 0 0 0x8100, mac 00:00:00:00:00:00, rate 0 0, "
              "spoofchk on, link_state 0",
          // Field by field, for the error naming the field.
          "SetVf " + pf + " vf 2 vlan 100 3 0x88a8",
          "SetVf " + pf + " vf 2 mac 02:00:00:00:00:aa",
          "SetVf " + pf + " vf 2 rate 10 20",
          "SetVf " + pf + " vf 2 spoofchk off",
          "SetVf " + pf + " vf 2 trust on -> errno 95",
          // rollback, newest first
          "SetVf " + pf + " vf 2 spoofchk on", "SetVf " + pf + " vf 2 rate 0 0",
          "SetVf " + pf + " vf 2 mac 00:00:00:00:00:00",
          "SetVf " + pf + " vf 2 vlan 0 0 0x8100"));
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2), before);
  SK_ASSERT_OK_AND_ASSIGN(auto cache, State().LoadCache("c1", "net1"));
  EXPECT_FALSE(cache.has_value());
  SK_ASSERT_OK_AND_ASSIGN(auto alloc, State().ReadAllocation(vf_));
  EXPECT_FALSE(alloc.has_value());
}

TEST_F(PluginTest, TransientBatchRefusalRestoresThenSucceedsFieldByField) {
  // EBUSY on the VLAN, once: the kernel handles the MAC first, so the
  // refused batch changed the MAC only.
  fake_pf_.FailOnce(net::VfField::kVlan, EBUSY, "");
  SK_ASSERT_OK(plugin_
                   ->Run(Env(Command::kAdd),
                         Conf(R"(,"vlan":100,"mac":"02:00:00:00:00:aa")"))
                   .status());
  std::string pf = card_.netdev;
  EXPECT_THAT(fake_pf_.calls(),
              ElementsAre("SetVfs " + pf +
                              " vf 2 vlan 100 0 0x8100, mac "
                              "02:00:00:00:00:aa -> errno 16 at vlan",
                          "SetVf " + pf + " vf 2 mac 00:00:00:00:00:00",
                          "SetVf " + pf + " vf 2 vlan 100 0 0x8100",
                          "SetVf " + pf + " vf 2 mac 02:00:00:00:00:aa"));
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 100u);
  // The per-field undo log works as before: DEL restores everything.
  SK_ASSERT_OK(plugin_
                   ->Run(Env(Command::kDel),
                         Conf(R"(,"vlan":100,"mac":"02:00:00:00:00:aa")"))
                   .status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2),
            (net::VfInfo{.id = 2, .spoofchk = true}));
}

TEST_F(PluginTest, RollbackAfterBatchRestoresExactlyTheSnapshot) {
  net::VfInfo dirty = fake_pf_.Vf(card_.netdev, 2);
  dirty.max_tx_rate = 55;
  dirty.trust = true;
  fake_pf_.SetVfState(card_.netdev, dirty);
  ipam_.add_error = CniError(11, "no IP addresses available in range set");
  auto r = plugin_->Run(
      Env(Command::kAdd),
      Conf(R"(,"vlan":7,"spoofchk":"off","ipam":{"type":"host-local"})"));
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  std::string pf = card_.netdev;
  EXPECT_THAT(
      fake_pf_.calls(),
      ElementsAre("SetVfs " + pf + " vf 2 vlan 7 0 0x8100, spoofchk off",
                  "SetVfs " + pf + " vf 2 vlan 0 0 0x8100, spoofchk on"));
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2), dirty);
}

TEST_F(PluginTest, IpamFailureRollsBackPfAndPropagatesCode) {
  ipam_.add_error = CniError(11, "no IP addresses available in range set");
  auto r = plugin_->Run(Env(Command::kAdd),
                        Conf(R"(,"vlan":7,"ipam":{"type":"host-local"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  EXPECT_EQ(std::string(r.status().message()),
            "no IP addresses available in range set");
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 0u);
  EXPECT_THAT(ipam_.calls, ElementsAre("host-local ADD"));
}

TEST_F(PluginTest, EmptyIpamResultIsErrorAndReleasesIpam) {
  ipam_.add_output = R"({"cniVersion":"1.0.0","ips":[]})";
  auto r = plugin_->Run(Env(Command::kAdd),
                        Conf(R"(,"ipam":{"type":"host-local"})"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInternal,
                          "IPAM plugin returned missing IP config"));
  EXPECT_THAT(ipam_.calls, ElementsAre("host-local ADD", "host-local DEL"));
}

TEST_F(PluginTest, DelRestoresOnlyConfiguredFieldsPlusAdminMacAndIsIdempotent) {
  net::VfInfo dirty = fake_pf_.Vf(card_.netdev, 2);
  dirty.max_tx_rate = 55;  // pre-existing state the config does not touch
  fake_pf_.SetVfState(card_.netdev, dirty);
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"vlan":100,"trust":"on")"))
          .status());
  fake_pf_.ClearCalls();
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kDel), Conf(R"(,"vlan":100,"trust":"on")"))
          .status());
  std::string pf = card_.netdev;
  EXPECT_THAT(fake_pf_.calls(),
              ElementsAre("SetVfs " + pf +
                          " vf 2 vlan 0 0 0x8100, mac 00:00:00:00:00:00, "
                          "trust off"));
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2), dirty);
  SK_ASSERT_OK_AND_ASSIGN(auto cache, State().LoadCache("c1", "net1"));
  EXPECT_FALSE(cache.has_value());
  fake_pf_.ClearCalls();
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kDel), Conf(R"(,"vlan":100,"trust":"on")"))
          .status());
  EXPECT_THAT(fake_pf_.calls(), IsEmpty());
}

TEST_F(PluginTest, DelWithoutCacheStillReleasesIpam) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kDel), Conf(R"(,"ipam":{"type":"static"})"))
          .status());
  EXPECT_THAT(ipam_.calls, ElementsAre("static DEL"));
  EXPECT_THAT(fake_pf_.calls(), IsEmpty());
}

TEST_F(PluginTest, DelFailureKeepsCacheForRetry) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"vlan":100)")).status());
  // Busy for the batch and for the field-by-field retry.
  fake_pf_.FailTimes(net::VfField::kVlan, 2, EBUSY, "");
  auto r = plugin_->Run(Env(Command::kDel), Conf(R"(,"vlan":100)"));
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  SK_ASSERT_OK_AND_ASSIGN(auto cache, State().LoadCache("c1", "net1"));
  EXPECT_TRUE(cache.has_value());
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kDel), Conf(R"(,"vlan":100)")).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 0u);
}

TEST_F(PluginTest, VfOwnedByLiveNetnsIsBusyCode11) {
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf("")).status());
  std::string other = links_->NewNetns("pod2");
  auto r = plugin_->Run(Env(Command::kAdd, "c2", other), Conf(""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  EXPECT_EQ(std::string(r.status().message()),
            "pci address " + vf_ + " is already allocated (held by c1-net1)");
}

// One VF, one pod netns, a second container: the VF is held by a live
// attachment, so it is refused whatever the netns (it used to be given to
// both, and either DEL then freed it for a third pod).
TEST_F(PluginTest, VfHeldByLiveContainerIsRefusedInTheSameNetns) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c1"), Conf(R"(,"vlan":100)")).status());
  fake_pf_.ClearCalls();
  auto r = plugin_->Run(Env(Command::kAdd, "c2"), Conf(R"(,"vlan":200)"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("pci address " + vf_ +
                        " is already allocated (held by c1-net1)"));
  EXPECT_THAT(fake_pf_.calls(), IsEmpty());  // the holder's VF untouched
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 100u);
  SK_ASSERT_OK_AND_ASSIGN(auto c2, State().LoadCache("c2", "net1"));
  EXPECT_FALSE(c2.has_value());
  // Another interface of the same container is another attachment too.
  CniEnv net2 = Env(Command::kAdd, "c1");
  net2.ifname = "net2";
  r = plugin_->Run(net2, Conf(""));
  EXPECT_EQ(CniCodeOf(r.status()), 11);
}

TEST_F(PluginTest, DelOfAContainerThatDoesNotHoldTheVfKeepsItAllocated) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c1"), Conf(R"(,"vlan":100)")).status());
  ASSERT_FALSE(plugin_->Run(Env(Command::kAdd, "c2"), Conf("")).ok());
  // The runtime cleans up the failed ADD with a DEL.
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel, "c2"), Conf("")).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 100u);
  SK_ASSERT_OK_AND_ASSIGN(auto alloc, State().ReadAllocation(vf_));
  EXPECT_EQ(alloc, std::optional<std::string>(pod_ns_));
  SK_ASSERT_OK_AND_ASSIGN(auto c1, State().LoadCache("c1", "net1"));
  ASSERT_TRUE(c1.has_value());
  // So a third pod elsewhere is still refused.
  std::string other = links_->NewNetns("pod3");
  auto r = plugin_->Run(Env(Command::kAdd, "c3", other), Conf(""));
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  // Only the holder's DEL frees the VF.
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel, "c1"), Conf("")).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 0u);
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c3", other), Conf("")).status());
}

TEST_F(PluginTest, IdempotentReAddOfTheSameAttachmentIsAccepted) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c1"), Conf(R"(,"vlan":100)")).status());
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c1"), Conf(R"(,"vlan":100)")).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 100u);
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel, "c1"), Conf("")).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 0u);
}

// 50 processes ADD the one VF for 50 containers of one netns at once (the
// adversarial run saw 50 successes): exactly one wins, every other gets
// code 11, and exactly one attachment is recorded.
TEST_F(PluginTest, FiftyConcurrentAddsInOneNetnsGiveTheVfOnce) {
  constexpr int kAdds = 50;
  std::vector<int> codes = sk::testing::ForkEach(kAdds, [&](int i) {
    PluginOptions opts;
    opts.state_dir = tmp_ / "state";
    opts.lock_timeout = std::chrono::seconds(30);
    Plugin p(*sysfs_, pf_sock_, *links_, ipam_, opts);
    auto r = p.Run(Env(Command::kAdd, "c" + std::to_string(i)), Conf(""));
    return r.ok() ? 0 : CniCodeOf(r.status());
  });
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 0), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 11), kAdds - 1);
  SK_ASSERT_OK_AND_ASSIGN(auto caches, State().ListCaches());
  EXPECT_EQ(caches.size(), 1u);
}

// 100 pods (each its own container and netns) ADD at once, competing for
// the 7 VFs of an igb PF (pod i asks for VF i % 7, as a device plugin that
// handed one VF to several pods would make them): each VF goes to exactly
// one pod and every loser gets code 11.
TEST_F(PluginTest, HundredConcurrentAddsForSevenVfsGiveEachVfOnce) {
  constexpr int kAdds = 100;
  constexpr int kVfs = 7;
  sk::testing::FakeSysfsBuilder b(tmp_ / "root7");
  sk::testing::FakeCardOptions o;
  o.vf_driver = "vfio-pci";
  o.ports = 1;
  o.num_vfs = kVfs;
  o.bus = 0x5e;
  sk::testing::FakePf card = sk::testing::AddIntel82576(b, o)[0];
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(card.vfs.size(), static_cast<size_t>(kVfs));
  FakePfNetlink pf;
  FakeNetlinkSocket sock;
  pf.AddPf(card.netdev, 7, kVfs, 1500);
  pf.Install(sock);
  sysfs::Sysfs fs(tmp_ / "root7");
  std::vector<std::string> netns;
  for (int i = 0; i < kAdds; ++i)
    netns.push_back(links_->NewNetns("p" + std::to_string(i)));
  std::vector<int> codes = sk::testing::ForkEach(kAdds, [&](int i) {
    PluginOptions opts;
    opts.state_dir = tmp_ / "state7";
    opts.lock_timeout = std::chrono::seconds(30);
    Plugin p(fs, sock, *links_, ipam_, opts);
    std::string conf =
        R"({"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":")" +
        card.vfs[i % kVfs] + R"("})";
    auto r = p.Run(Env(Command::kAdd, "c" + std::to_string(i), netns[i]), conf);
    return r.ok() ? 0 : CniCodeOf(r.status());
  });
  std::vector<int> winners_per_vf(kVfs, 0);
  int losers = 0, records = 0;
  for (int i = 0; i < kAdds; ++i) {
    if (codes[i] != -1) ++records;
    if (codes[i] == 0) {
      ++winners_per_vf[i % kVfs];
    } else {
      EXPECT_EQ(codes[i], 11) << "pod " << i;
      ++losers;
    }
  }
  EXPECT_EQ(records, kAdds);
  EXPECT_EQ(winners_per_vf, std::vector<int>(kVfs, 1));
  EXPECT_EQ(losers, kAdds - kVfs);
  StateDir state(tmp_ / "state7");
  SK_ASSERT_OK_AND_ASSIGN(auto caches, state.ListCaches());
  EXPECT_EQ(caches.size(), static_cast<size_t>(kVfs));
}

// Faults of the state filesystem: the state dir is a tmpfs (in a private
// mount namespace of a child process) that is read-only, has room for one
// file (the write-ahead record, not the allocation), or for two (not the
// final "ready" record, written after every PF change). Each ADD fails with
// an error naming the file, leaves the VF exactly as it was, and once the
// filesystem has room again the next ADD succeeds.
struct StateFsFault {
  const char* name;
  const char* tmpfs_options;
  unsigned long flags;
  const char* error;
  friend void PrintTo(const StateFsFault& f, std::ostream* os) {
    *os << f.name;
  }
};

class PluginStateFsTest : public PluginTest,
                          public ::testing::WithParamInterface<StateFsFault> {};

TEST_P(PluginStateFsTest, FailedAddLeavesTheVfAsItWasAndTheNextAddWorks) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespace, tmpfs)";
  const StateFsFault& f = GetParam();
  std::filesystem::create_directories(tmp_ / "state");
  struct Outcome {
    int code = -1;
    bool vf_untouched = false;
    bool retry_ok = false;
    bool retry_applied = false;
    char message[512] = {};
  };
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Outcome out;
    std::string dir = (tmp_ / "state").string();
    if (::unshare(CLONE_NEWNS) == 0 &&
        ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("sk-state", dir.c_str(), "tmpfs", f.flags, f.tmpfs_options) ==
            0) {
      net::VfInfo before = fake_pf_.Vf(card_.netdev, 2);
      auto r = plugin_->Run(Env(Command::kAdd), Conf(kFullConfig));
      out.code = r.ok() ? 0 : CniCodeOf(r.status());
      std::snprintf(out.message, sizeof(out.message), "%s",
                    std::string(r.status().message()).c_str());
      out.vf_untouched = fake_pf_.Vf(card_.netdev, 2) == before;
      if (::mount("sk-state", dir.c_str(), "tmpfs", MS_REMOUNT, "size=1m") ==
          0) {
        out.retry_ok =
            plugin_->Run(Env(Command::kAdd), Conf(kFullConfig)).status().ok();
        out.retry_applied = fake_pf_.Vf(card_.netdev, 2).vlan == 100;
      }
    } else {
      std::snprintf(out.message, sizeof(out.message), "setup: %s",
                    std::strerror(errno));
    }
    (void)!::write(fds[1], &out, sizeof(out));
    ::_exit(0);
  }
  ::waitpid(pid, nullptr, 0);
  ::close(fds[1]);
  Outcome out;
  ASSERT_EQ(::read(fds[0], &out, sizeof(out)),
            static_cast<ssize_t>(sizeof(out)));
  ::close(fds[0]);
  ASSERT_THAT(std::string(out.message), ::testing::Not(HasSubstr("setup:")));
  EXPECT_NE(out.code, 0) << "ADD succeeded on a " << f.name << " state fs";
  EXPECT_THAT(std::string(out.message), HasSubstr(f.error));
  EXPECT_THAT(std::string(out.message), HasSubstr((tmp_ / "state").string()));
  EXPECT_TRUE(out.vf_untouched) << out.message;
  EXPECT_TRUE(out.retry_ok);
  EXPECT_TRUE(out.retry_applied);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, PluginStateFsTest,
    ::testing::Values(
        StateFsFault{"read-only", "size=1m", MS_RDONLY,
                     "Read-only file system"},
        // One page: the write-ahead record fits, the allocation does not.
        StateFsFault{"full-before-change", "size=4k", 0,
                     "error saving the VF allocation"},
        // Two pages: both records fit, the final "ready" record does not.
        StateFsFault{"full-after-change", "size=8k", 0,
                     "error saving NetConf"}),
    [](const auto& info) {
      std::string n = info.param.name;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST_F(PluginTest, StaleOwnerWhoseNetnsIsGoneIsRepairedThenAdded) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"vlan":100)")).status());
  std::filesystem::remove(pod_ns_);  // pod died, DEL never came
  std::string other = links_->NewNetns("pod2");
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c2", other), Conf(R"(,"trust":"on")"))
          .status());
  net::VfInfo v = fake_pf_.Vf(card_.netdev, 2);
  EXPECT_EQ(v.vlan, 0u);  // the stale owner's VLAN was restored
  EXPECT_TRUE(v.trust);
  SK_ASSERT_OK_AND_ASSIGN(auto stale, State().LoadCache("c1", "net1"));
  EXPECT_FALSE(stale.has_value());
  SK_ASSERT_OK_AND_ASSIGN(auto alloc, State().ReadAllocation(vf_));
  EXPECT_EQ(alloc, std::optional<std::string>(other));
}

TEST_F(PluginTest, HalfDoneAddIsRepairedByNextAdd) {
  // What a crash after "pf:vlan" leaves behind: phase "adding" + dirty VF.
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"vlan":100,"trust":"on")"))
          .status());
  SK_ASSERT_OK_AND_ASSIGN(auto cache, State().LoadCache("c1", "net1"));
  cache->phase = Phase::kAdding;
  SK_ASSERT_OK(State().SaveCache(*cache));
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "c1"), Conf(R"(,"vlan":200)")).status());
  net::VfInfo v = fake_pf_.Vf(card_.netdev, 2);
  EXPECT_EQ(v.vlan, 200u);
  EXPECT_FALSE(v.trust);  // restored from the half-done record
}

TEST_F(PluginTest, StaleDelDoesNotResetVfOwnedByNewPod) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"vlan":100)")).status());
  // A newer owner (e.g. a Go instance) took the VF: the allocation file now
  // names its netns.
  std::string other = links_->NewNetns("pod2");
  SK_ASSERT_OK(State().WriteAllocation(vf_, other));
  fake_pf_.ClearCalls();
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kDel), Conf(R"(,"vlan":100)")).status());
  EXPECT_THAT(fake_pf_.calls(), IsEmpty());
  SK_ASSERT_OK_AND_ASSIGN(auto alloc, State().ReadAllocation(vf_));
  EXPECT_EQ(alloc, std::optional<std::string>(other));
}

TEST_F(PluginTest, DelOfGoPluginCacheRestoresVf) {
  net::VfInfo v = fake_pf_.Vf(card_.netdev, 2);
  v.vlan = 1234;
  v.trust = true;
  fake_pf_.SetVfState(card_.netdev, v);
  nlohmann::json go = {{"cniVersion", "1.0.0"},
                       {"name", "sriov-network"},
                       {"type", "sriov"},
                       {"OrigVfState",
                        {{"HostIFName", ""},
                         {"SpoofChk", true},
                         {"Trust", false},
                         {"AdminMAC", "00:00:00:00:00:00"},
                         {"EffectiveMAC", ""},
                         {"Vlan", 0},
                         {"VlanQoS", 0},
                         {"VlanProto", 33024},
                         {"MinTxRate", 0},
                         {"MaxTxRate", 0},
                         {"LinkState", 0},
                         {"MTU", 0}}},
                       {"Master", card_.netdev},
                       {"MAC", ""},
                       {"MTU", 9000},
                       {"vlan", 1234},
                       {"trust", "on"},
                       {"deviceID", vf_},
                       {"VFID", 2},
                       {"min_tx_rate", nullptr},
                       {"max_tx_rate", nullptr}};
  std::filesystem::create_directories(tmp_ / "state");
  std::ofstream(tmp_ / "state" / "c1-net1") << go.dump();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf("")).status());
  net::VfInfo after = fake_pf_.Vf(card_.netdev, 2);
  EXPECT_EQ(after.vlan, 0u);
  EXPECT_FALSE(after.trust);
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "state" / "c1-net1"));
}

TEST_F(PluginTest, LockHeldGivesCode11) {
  SK_ASSERT_OK_AND_ASSIGN(VfLock held,
                          State().LockVf(vf_, std::chrono::milliseconds(0)));
  auto t0 = clock_.Now();
  auto r = plugin_->Run(Env(Command::kAdd), Conf(""));
  EXPECT_EQ(clock_.Now() - t0, std::chrono::milliseconds(50));
  EXPECT_EQ(CniCodeOf(r.status()), 11);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("time out while waiting"));
}

TEST_F(PluginTest, BusyVfMacIsRetriedAfterTheRetryInterval) {
  fake_pf_.FailOnce(net::VfField::kMac, EBUSY, "");
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"mac":"02:00:00:00:00:aa")"))
          .status());
  EXPECT_THAT(clock_.sleeps(), ElementsAre(std::chrono::milliseconds(100)));
  EXPECT_EQ(net::MacToString(fake_pf_.Vf(card_.netdev, 2).mac),
            "02:00:00:00:00:aa");
}

TEST_F(PluginTest, VfMacErrorOtherThanBusyIsNotRetried) {
  fake_pf_.FailOnce(net::VfField::kMac, EINVAL, "");
  auto r =
      plugin_->Run(Env(Command::kAdd), Conf(R"(,"mac":"02:00:00:00:00:aa")"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(clock_.sleeps(), IsEmpty());
}

TEST_F(PluginTest, MtuAbovePfMtuIsCode7) {
  auto r = plugin_->Run(Env(Command::kAdd), Conf(R"(,"mtu":9100)"));
  EXPECT_EQ(CniCodeOf(r.status()), 7);
  EXPECT_EQ(
      std::string(r.status().message()),
      "mtu 9100 invalid: greater than the MTU 9000 of PF " + card_.netdev);
  EXPECT_THAT(fake_pf_.calls(), IsEmpty());
}

TEST_F(PluginTest, UnknownDeviceIsClearError) {
  auto r = plugin_->Run(
      Env(Command::kAdd),
      R"({"cniVersion":"1.0.0","name":"n","deviceID":"0000:99:00.1"})");
  EXPECT_THAT(
      r,
      StatusIs(
          absl::StatusCode::kNotFound,
          "LoadConf(): failed to get VF information: \"PCI device 0000:99:00.1 "
          "does not exist\""));
}

TEST_F(PluginTest, CheckComparesLiveVfState) {
  std::string conf = Conf(
      R"(,"vlan":100,"spoofchk":"off","mac":"02:00:00:00:00:aa")", "0.4.0");
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), conf).status());
  SK_ASSERT_OK(plugin_->Run(Env(Command::kCheck), conf).status());
  net::VfInfo v = fake_pf_.Vf(card_.netdev, 2);
  v.vlan = 101;
  fake_pf_.SetVfState(card_.netdev, v);
  EXPECT_THAT(plugin_->Run(Env(Command::kCheck), conf),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "CHECK: vf vlan is 101, expected 100"));
  auto old = plugin_->Run(Env(Command::kCheck), Conf("", "0.3.1"));
  EXPECT_EQ(CniCodeOf(old.status()), 1);
}

TEST_F(PluginTest, StatusReportsMissingDeviceAs50AndNeeds110) {
  SK_ASSERT_OK(plugin_->Run(Env(Command::kStatus), Conf("", "1.1.0")).status());
  auto gone = plugin_->Run(
      Env(Command::kStatus),
      R"({"cniVersion":"1.1.0","name":"n","deviceID":"0000:99:00.1"})");
  EXPECT_EQ(CniCodeOf(gone.status()), 50);
  EXPECT_EQ(
      CniCodeOf(
          plugin_->Run(Env(Command::kStatus), Conf("", "1.0.0")).status()),
      1);
}

TEST_F(PluginTest, GcRestoresAttachmentsNotListed) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "keep"), Conf(R"(,"vlan":5)")).status());
  // A second VF for the stale attachment.
  vf_ = card_.vfs[3];
  std::string ns2 = links_->NewNetns("pod2");
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "stale", ns2), Conf(R"(,"vlan":6)"))
          .status());
  std::string gc =
      R"({"cniVersion":"1.1.0","name":"sriov-net","type":"sriov","ipam":{"type":"host-local"},"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"net1"}]})";
  SK_ASSERT_OK(plugin_->Run(Env(Command::kGc), gc).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 5u);
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 3).vlan, 0u);
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "state/keep-net1"));
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "state/stale-net1"));
  EXPECT_THAT(ipam_.calls, ElementsAre("host-local GC"));
}

TEST_F(PluginTest, GcAcceptsOlderAttachmentsKey) {
  SK_ASSERT_OK(
      plugin_->Run(Env(Command::kAdd, "stale"), Conf(R"(,"vlan":6)")).status());
  std::string gc =
      R"({"cniVersion":"1.1.0","name":"sriov-net","cni.dev/attachments":[]})";
  SK_ASSERT_OK(plugin_->Run(Env(Command::kGc), gc).status());
  EXPECT_EQ(fake_pf_.Vf(card_.netdev, 2).vlan, 0u);
}

TEST_F(PluginTest, DeviceInfoCapabilityWritesPciDocumentIfAbsent) {
  std::string path = (tmp_ / "devinfo" / "cni" / "default-sriov-net-c1_net1");
  SK_ASSERT_OK(plugin_
                   ->Run(Env(Command::kAdd),
                         Conf(R"(,"runtimeConfig":{"CNIDeviceInfoFile":")" +
                              path + "\"}"))
                   .status());
  std::ifstream in(path);
  std::string doc((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  EXPECT_EQ(doc, R"({"type":"pci","version":"1.1.0","pci":{"pci-address":")" +
                     vf_ + R"(","pf-pci-address":")" + card_.bdf + "\"}}");
}

TEST_F(PluginTest, VersionCommand) {
  SK_ASSERT_OK_AND_ASSIGN(
      std::string out,
      plugin_->Run(Env(Command::kVersion), R"({"cniVersion":"0.4.0"})"));
  EXPECT_EQ(out, VersionJson("0.4.0"));
}

}  // namespace
}  // namespace sk::cni
