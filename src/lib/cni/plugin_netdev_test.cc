// Netdevice mode of the plugin against fakes: the VF netdev side runs on a
// FakeLinkKernel (links across named namespaces, recording every change),
// the PF side on FakePfNetlink, sysfs on a FakeSysfsBuilder tree. These
// tests assert the exact operation sequence (ADD, rollback, DEL) and the
// final state; tests/integration/cni_plugin_test.cc runs the same paths on
// the real kernel.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/plugin.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_link_kernel.h"
#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/fake_pf_netlink.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::FakeLinkKernel;
using ::sk::testing::FakeNetlinkSocket;
using ::sk::testing::FakePfNetlink;
using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kVfMac[] = "02:11:22:33:44:55";
constexpr char kPodMac[] = "02:00:00:00:00:aa";

// Namespaces are files (their inode names them in the FakeLinkKernel);
// sockets are the fake kernel's; sysctl writes and announcements are
// recorded.
class FakeKernelLinkEnvironment : public LinkEnvironment {
 public:
  FakeKernelLinkEnvironment(const std::filesystem::path& dir,
                            FakeLinkKernel& kernel)
      : dir_(dir), kernel_(kernel) {
    host_ = UniqueFd(::open(NewFile("host").c_str(), O_RDONLY | O_CLOEXEC));
    kernel_.AddNamespace("host", host_.get());
  }
  std::string NewNetns(const std::string& name) {
    std::string path = NewFile(name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    kernel_.AddNamespace(name, fd.get());
    return path;
  }
  int host_netns() const override { return host_.get(); }
  absl::StatusOr<UniqueFd> OpenNetns(const std::string& path) override {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return absl::NotFoundError("netns " + path + " does not exist");
    return fd;
  }
  absl::StatusOr<std::unique_ptr<netlink::Socket>> OpenSocket(int fd) override {
    std::string ns = kernel_.NamespaceOf(fd);
    if (ns.empty()) return absl::InvalidArgumentError("not a netns fd");
    return kernel_.SocketIn(ns);
  }
  absl::Status WriteSysctl(int fd, const std::string& key,
                           const std::string& value) override {
    sysctls.push_back(kernel_.NamespaceOf(fd) + ": " + key + "=" + value);
    return absl::OkStatus();
  }
  absl::Status Announce(int fd, int ifindex, const net::MacAddress& mac,
                        const std::vector<net::IpAddress>& ips) override {
    if (!announce_error.ok()) return announce_error;
    std::string line = kernel_.NamespaceOf(fd) + ": ifindex " +
                       std::to_string(ifindex) + " " + net::MacToString(mac);
    for (const auto& ip : ips) line += " " + net::IpToString(ip);
    announces.push_back(line);
    return absl::OkStatus();
  }

  std::vector<std::string> sysctls;
  std::vector<std::string> announces;
  absl::Status announce_error;

 private:
  std::string NewFile(const std::string& name) {
    std::ofstream(dir_ / name) << name;
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
  FakeLinkKernel& kernel_;
  UniqueFd host_;
};

class FakeIpam : public IpamDelegate {
 public:
  std::string add_output =
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}]})";
  absl::StatusOr<std::string> Run(const std::string& type, Command command,
                                  const CniEnv&, std::string_view) override {
    calls.push_back(type + " " + std::string(CommandName(command)));
    if (command == Command::kAdd) return add_output;
    return std::string();
  }
  std::vector<std::string> calls;
};

class PluginNetdevTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_ / "root");
    std::filesystem::create_directories(tmp_ / "ns");
    sk::testing::FakeSysfsBuilder b(tmp_ / "root");
    sk::testing::FakeCardOptions o;
    o.ports = 1;
    o.num_vfs = 4;
    card_ = sk::testing::AddIntel82576(b, o)[0];
    ASSERT_TRUE(b.ok());
    vf_ = card_.vfs[2];
    host_name_ = card_.vf_netdevs[2];
    ASSERT_FALSE(host_name_.empty());
    fake_pf_.AddPf(card_.netdev, 4, static_cast<int>(card_.vfs.size()), 9000);
    fake_pf_.Install(pf_sock_);
    links_ = std::make_unique<FakeKernelLinkEnvironment>(tmp_ / "ns", kernel_);
    pod_ns_ = links_->NewNetns("pod1");
    kernel_.AddLink("host", host_name_, *net::ParseMac(kVfMac), 1500, IFF_UP);
    sysfs_ = std::make_unique<sysfs::Sysfs>(tmp_ / "root");
    MakePlugin([](PluginOptions&) {});
  }

  void MakePlugin(const std::function<void(PluginOptions&)>& adjust) {
    PluginOptions opts;
    opts.state_dir = tmp_ / "state";
    opts.clock = &clock_;
    opts.lock_timeout = std::chrono::milliseconds(50);
    opts.retries = 2;
    opts.warn = [this](std::string_view m) { warnings_.emplace_back(m); };
    adjust(opts);
    plugin_ = std::make_unique<Plugin>(*sysfs_, pf_sock_, *links_, ipam_, opts);
  }

  CniEnv Env(Command c) {
    CniEnv e;
    e.command = c;
    e.container_id = "c1";
    e.netns = pod_ns_;
    e.ifname = "net1";
    e.path = {"/usr/lib/cni"};
    return e;
  }
  std::string Conf(const std::string& extra) {
    return R"({"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":")" +
           vf_ + "\"" + extra + "}";
  }
  // The name the plugin gives the netdev in transit, read from its second
  // recorded operation (host: <name> rename <transit>).
  std::string Transit() {
    const std::string prefix = "host: " + host_name_ + " rename ";
    for (const auto& c : kernel_.calls())
      if (c.rfind(prefix, 0) == 0) return c.substr(prefix.size());
    return "";
  }
  void ExpectVfBackInHost(bool up) {
    auto host = kernel_.Link("host", host_name_);
    ASSERT_TRUE(host.has_value());
    EXPECT_EQ(net::MacToString(host->mac), kVfMac);
    EXPECT_EQ(host->mtu, 1500u);
    EXPECT_EQ((host->flags & IFF_UP) != 0, up);
    EXPECT_FALSE(kernel_.Link("pod1", "net1").has_value());
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "state" / "c1-net1"));
    SK_ASSERT_OK_AND_ASSIGN(auto alloc,
                            StateDir(tmp_ / "state").ReadAllocation(vf_));
    EXPECT_FALSE(alloc.has_value());
  }

  TempDir tmp_;
  sk::testing::FakeClock clock_;
  sk::testing::FakePf card_;
  std::string vf_, host_name_, pod_ns_;
  FakePfNetlink fake_pf_;
  FakeNetlinkSocket pf_sock_;
  FakeLinkKernel kernel_;
  std::unique_ptr<FakeKernelLinkEnvironment> links_;
  FakeIpam ipam_;
  std::unique_ptr<sysfs::Sysfs> sysfs_;
  std::unique_ptr<Plugin> plugin_;
  std::vector<std::string> warnings_;
};

constexpr char kMacMtuIpam[] =
    R"(,"mac":"02:00:00:00:00:aa","mtu":1400,"ipam":{"type":"host-local"})";

TEST_F(PluginNetdevTest, AddMovesRenamesSetsMacMtuUpThenAddressesAndRoutes) {
  SK_ASSERT_OK_AND_ASSIGN(std::string out,
                          plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)));
  std::string t = Transit();
  ASSERT_EQ(t.rfind("sk", 0), 0u) << t;
  ASSERT_LE(t.size(), 15u);
  EXPECT_THAT(
      kernel_.calls(),
      ElementsAre("host: " + host_name_ + " down",
                  "host: " + host_name_ + " rename " + t,
                  "host: " + t + " move pod1", "pod1: " + t + " rename net1",
                  "pod1: net1 mac 02:00:00:00:00:aa", "pod1: net1 mtu 1400",
                  "pod1: net1 up", "pod1: net1 addr 10.56.217.2/24",
                  "pod1: net1 route 0.0.0.0/0 via 10.56.217.1"));
  EXPECT_THAT(links_->sysctls,
              ElementsAre("pod1: net/ipv4/conf/net1/arp_notify=1",
                          "pod1: net/ipv6/conf/net1/ndisc_notify=1",
                          "pod1: net/ipv6/conf/net1/optimistic_dad=1"));
  // Final state: the netdev is the pod's net1, configured and up.
  auto pod = kernel_.Link("pod1", "net1");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(net::MacToString(pod->mac), kPodMac);
  EXPECT_EQ(pod->mtu, 1400u);
  EXPECT_EQ(pod->flags & (IFF_UP | IFF_RUNNING), 0u + (IFF_UP | IFF_RUNNING));
  EXPECT_THAT(kernel_.LinkNames("host"), IsEmpty());
  EXPECT_THAT(kernel_.Addresses("pod1"), ElementsAre("10.56.217.2/24"));
  EXPECT_EQ(net::MacToString(fake_pf_.Vf(card_.netdev, 2).mac), kPodMac);
  EXPECT_THAT(links_->announces,
              ElementsAre("pod1: ifindex " + std::to_string(pod->index) +
                          " 02:00:00:00:00:aa 10.56.217.2"));
  EXPECT_THAT(warnings_, IsEmpty());
  EXPECT_EQ(
      out,
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:aa","mtu":1400,"sandbox":")" +
          pod_ns_ +
          R"("}],"ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}})"
          "\n");
  SK_ASSERT_OK_AND_ASSIGN(auto cache,
                          StateDir(tmp_ / "state").LoadCache("c1", "net1"));
  ASSERT_TRUE(cache.has_value());
  EXPECT_EQ(cache->orig.host_ifname, host_name_);
  EXPECT_EQ(cache->orig.effective_mac, kVfMac);
  EXPECT_EQ(cache->orig.mtu, 1500u);
}

TEST_F(PluginNetdevTest, FailureMidwayUndoesEveryStepInReverse) {
  kernel_.FailOnce("mtu", EINVAL, "MTU not supported by igbvf");
  auto r = plugin_->Run(Env(Command::kAdd),
                        Conf(R"(,"vlan":100,"mac":"02:00:00:00:00:aa",)"
                             R"("mtu":1400,"ipam":{"type":"host-local"})"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          "failed to set up pod interface \"net1\" from the "
                          "device \"" +
                              card_.netdev +
                              "\": net1: set mtu 1400: Invalid argument: MTU "
                              "not supported by igbvf"));
  std::string t = Transit();
  EXPECT_THAT(
      kernel_.calls(),
      ElementsAre(
          "host: " + host_name_ + " down",
          "host: " + host_name_ + " rename " + t, "host: " + t + " move pod1",
          "pod1: " + t + " rename net1", "pod1: net1 mac 02:00:00:00:00:aa",
          "pod1: net1 mtu 1400 -> errno 22",
          // rollback, newest first (the MTU never changed: not set again)
          "pod1: net1 down", "pod1: net1 mac " + std::string(kVfMac),
          "pod1: net1 rename " + t, "pod1: " + t + " move host",
          "host: " + t + " rename " + host_name_,
          "host: " + host_name_ + " up"));
  std::string pf = card_.netdev;
  EXPECT_THAT(
      fake_pf_.calls(),
      ElementsAre(
          "SetVfs " + pf + " vf 2 vlan 100 0 0x8100, mac 02:00:00:00:00:aa",
          "SetVfs " + pf + " vf 2 vlan 0 0 0x8100, mac 00:00:00:00:00:00"));
  EXPECT_THAT(ipam_.calls, IsEmpty());  // failed before IPAM ran
  ExpectVfBackInHost(/*up=*/true);
}

TEST_F(PluginNetdevTest, PodNameClashRollsBackUnderTheTransitName) {
  kernel_.AddLink("pod1", "net1", *net::ParseMac("02:99:00:00:00:01"), 1500);
  auto r = plugin_->Run(Env(Command::kAdd), Conf(""));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kAlreadyExists));
  std::string t = Transit();
  EXPECT_THAT(
      kernel_.calls(),
      ElementsAre(
          "host: " + host_name_ + " down",
          "host: " + host_name_ + " rename " + t, "host: " + t + " move pod1",
          "pod1: " + t + " rename net1 -> errno 17",
          // the pod's own net1 is never touched; MAC and MTU are unchanged
          "pod1: " + t + " down", "pod1: " + t + " move host",
          "host: " + t + " rename " + host_name_,
          "host: " + host_name_ + " up"));
  auto theirs = kernel_.Link("pod1", "net1");
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(net::MacToString(theirs->mac), "02:99:00:00:00:01");
  auto host = kernel_.Link("host", host_name_);
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(net::MacToString(host->mac), kVfMac);
}

TEST_F(PluginNetdevTest, AddDeletesAnAltNameLeftFromTheHostName) {
  // udev on kernel 6.x may keep the old name as an altname (sriov-cni #445).
  kernel_.SetAltNames("host", host_name_, {host_name_});
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf("")).status());
  EXPECT_THAT(kernel_.calls(),
              ::testing::Contains("pod1: net1 delalt " + host_name_));
  auto pod = kernel_.Link("pod1", "net1");
  ASSERT_TRUE(pod.has_value());
  EXPECT_THAT(pod->altnames, IsEmpty());
}

TEST_F(PluginNetdevTest, AnnouncementFailureIsAWarningNotAnAddError) {
  links_->announce_error = absl::PermissionDeniedError(
      "garp 10.56.217.2: "
      "socket(AF_PACKET): "
      "Operation not "
      "permitted");
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  EXPECT_THAT(warnings_,
              ElementsAre("not announcing the addresses of net1: garp "
                          "10.56.217.2: socket(AF_PACKET): Operation not "
                          "permitted"));
  EXPECT_TRUE(kernel_.Link("pod1", "net1").has_value());
}

TEST_F(PluginNetdevTest, NoCarrierMeansNoAnnouncementAndAWarning) {
  kernel_.set_carrier(false);
  auto t0 = clock_.Now();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  // The whole default wait, backing off 2, 4, ... 64 ms, then the rest.
  EXPECT_EQ(clock_.Now() - t0, std::chrono::milliseconds(200));
  EXPECT_EQ(clock_.sleeps().back(), std::chrono::milliseconds(74));
  EXPECT_THAT(links_->announces, IsEmpty());
  EXPECT_THAT(warnings_,
              ElementsAre("not announcing the addresses of net1: link not up "
                          "and running after 200 ms"));
}

TEST_F(PluginNetdevTest, DadFailureFailsAddAndRollsBackIncludingIpam) {
  ipam_.add_output =
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.56.217.2/24"},{"address":"fd00:56::2/64"}]})";
  kernel_.set_new_address_flags(IFA_F_TENTATIVE | IFA_F_DADFAILED);
  auto r = plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kAlreadyExists,
                          "IPv6 address fd00:56::2/64 on net1: duplicate "
                          "address detected (DADFAILED)"));
  EXPECT_THAT(ipam_.calls, ElementsAre("host-local ADD", "host-local DEL"));
  EXPECT_THAT(links_->announces, IsEmpty());
  ExpectVfBackInHost(/*up=*/true);
}

TEST_F(PluginNetdevTest, StillTentativeAtTheDadDeadlineIsAWarning) {
  ipam_.add_output =
      R"({"cniVersion":"1.0.0","ips":[{"address":"fd00:56::2/64"}]})";
  kernel_.set_new_address_flags(IFA_F_TENTATIVE);
  auto t0 = clock_.Now();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  EXPECT_EQ(clock_.Now() - t0, std::chrono::milliseconds(5000));
  EXPECT_THAT(warnings_, ElementsAre("IPv6 addresses on net1 still tentative "
                                     "(DAD) after 5000 ms; continuing"));
  EXPECT_THAT(links_->announces,
              ElementsAre(::testing::EndsWith(" fd00:56::2")));
}

TEST_F(PluginNetdevTest, BusyLinkUpIsRetriedOtherErrorsAreNot) {
  kernel_.FailOnce("up", EBUSY, "");
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  EXPECT_THAT(clock_.sleeps(), ElementsAre(std::chrono::milliseconds(100)));
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf(kMacMtuIpam)).status());

  kernel_.FailOnce("mac", EADDRNOTAVAIL, "");
  auto r = plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(clock_.sleeps(), ElementsAre(std::chrono::milliseconds(100)));
  ExpectVfBackInHost(/*up=*/false);  // DEL left it down
}

TEST_F(PluginNetdevTest, DelRestoresNameMacAndMtuAndMovesBack) {
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  std::string t = Transit();
  kernel_.ClearCalls();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf(kMacMtuIpam)).status());
  EXPECT_THAT(
      kernel_.calls(),
      ElementsAre("pod1: net1 down", "pod1: net1 mac " + std::string(kVfMac),
                  "pod1: net1 mtu 1500", "pod1: net1 rename " + t,
                  "pod1: " + t + " move host",
                  "host: " + t + " rename " + host_name_));
  EXPECT_THAT(ipam_.calls, ElementsAre("host-local ADD", "host-local DEL"));
  EXPECT_EQ(net::MacToString(fake_pf_.Vf(card_.netdev, 2).mac),
            "00:00:00:00:00:00");
  // DEL leaves the netdev down in the host, as upstream's ReleaseVF does.
  ExpectVfBackInHost(/*up=*/false);
  EXPECT_THAT(kernel_.Addresses("pod1"), IsEmpty());
}

// What a power loss can leave (state.cc writes without fsync): a cache
// renamed into place whose data never reached the disk. The node rebooted
// with its VFs reset, so DEL has nothing to restore: it warns, removes the
// file, still releases IPAM from the live config, and succeeds.
TEST_F(PluginNetdevTest, DelWithACacheAPowerLossLeftEmptySucceedsAndRemovesIt) {
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  const std::filesystem::path cache = tmp_ / "state" / "c1-net1";
  ASSERT_TRUE(std::filesystem::exists(cache));
  std::ofstream(cache, std::ios::trunc).close();
  ipam_.calls.clear();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf(kMacMtuIpam)).status());
  EXPECT_FALSE(std::filesystem::exists(cache));
  EXPECT_THAT(ipam_.calls, ElementsAre("host-local DEL"));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0],
              ::testing::AllOf(
                  ::testing::StartsWith("DEL: error reading cached NetConf: "),
                  ::testing::EndsWith("; nothing to restore, removing it")));
  // A second DEL (the runtime retries) finds nothing and succeeds.
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf(kMacMtuIpam)).status());
}

TEST_F(PluginNetdevTest, DelSetsNoMacOrMtuTheLinkStillHas) {
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf("")).status());
  std::string t = Transit();
  kernel_.ClearCalls();
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf("")).status());
  EXPECT_THAT(kernel_.calls(),
              ElementsAre("pod1: net1 down", "pod1: net1 rename " + t,
                          "pod1: " + t + " move host",
                          "host: " + t + " rename " + host_name_));
  auto host = kernel_.Link("host", host_name_);
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(net::MacToString(host->mac), kVfMac);
  EXPECT_EQ(host->mtu, 1500u);
}

TEST_F(PluginNetdevTest, DelFailureKeepsCacheAndRetrySucceeds) {
  SK_ASSERT_OK(plugin_->Run(Env(Command::kAdd), Conf(kMacMtuIpam)).status());
  kernel_.FailOnce("move", EBUSY, "");
  auto r = plugin_->Run(Env(Command::kDel), Conf(kMacMtuIpam));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "state" / "c1-net1"));
  SK_ASSERT_OK(plugin_->Run(Env(Command::kDel), Conf(kMacMtuIpam)).status());
  ExpectVfBackInHost(/*up=*/false);
}

}  // namespace
}  // namespace sk::cni
