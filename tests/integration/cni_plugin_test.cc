// Integration tests of the sriov CNI plugin on the real kernel (root).
//
// This kernel has no SR-IOV, so (as upstream's sriov_mocked tests do):
//   * VF netdevs are veth links in a private "host" netns, mapped to fixture
//     VFs by a FakeSysfsBuilder tree (an Intel 82576 preset whose VF netdev
//     names we give to the veths);
//   * PF-side VF operations go to a recording, file-backed FakePfNetlink
//     (shared with forked children);
//   * moves, renames, MACs, MTUs, addresses and routes run on the kernel;
//   * IPAM is Debian's real /usr/lib/cni/host-local and static.
// Every test creates its own namespaces and removes them.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/status_macros.h"
#include "lib/cni/error.h"
#include "lib/cni/plugin.h"
#include "lib/net/link_ops.h"
#include "lib/net/netns.h"
#include "lib/netlink/kernel_socket.h"
#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/fake_pf_netlink.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::FakeNetlinkSocket;
using ::sk::testing::FakePfNetlink;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kVfMac[] = "02:11:22:33:44:55";

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

class CniIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    if (::access("/usr/lib/cni/host-local", X_OK) != 0)
      GTEST_SKIP() << "no host-local";
    tag_ = std::to_string(::getpid());
    host_ns_name_ = "skcni-h" + tag_;
    ASSERT_EQ(Sh("ip netns add " + host_ns_name_), 0);
    pod_ns_ = NewPodNs("p1");
    std::filesystem::create_directories(tmp_ / "root");
    sk::testing::FakeSysfsBuilder b(tmp_ / "root");
    sk::testing::FakeCardOptions o;
    o.ports = 1;
    o.num_vfs = 2;
    card_ = sk::testing::AddIntel82576(b, o)[0];
    ASSERT_TRUE(b.ok());
    vf_ = card_.vfs[1];
    vf_netdev_ = card_.vf_netdevs[1];
    vf_dir_ = b.DeviceDir(vf_);
    ASSERT_FALSE(vf_netdev_.empty());
    ASSERT_EQ(Sh(Ip("link add " + vf_netdev_ + " type veth peer name skpeer0")),
              0);
    ASSERT_EQ(
        Sh(Ip("link set " + vf_netdev_ + " address " + kVfMac + " mtu 1500")),
        0);
    fake_pf_ = std::make_unique<FakePfNetlink>(tmp_ / "pf.json");
    fake_pf_->AddPf(card_.netdev, 3, 2, 9000);
    SK_ASSERT_OK_AND_ASSIGN(auto host,
                            net::OpenNetns("/run/netns/" + host_ns_name_));
    host_fd_ = std::move(host);
  }

  void TearDown() override {
    for (const auto& ns : pod_names_) Sh("ip netns del " + ns);
    if (!host_ns_name_.empty()) Sh("ip netns del " + host_ns_name_);
  }

  std::string NewPodNs(const std::string& suffix) {
    std::string name = "skcni-" + suffix + "-" + tag_;
    EXPECT_EQ(Sh("ip netns add " + name), 0);
    pod_names_.push_back(name);
    return "/run/netns/" + name;
  }
  std::string Ip(const std::string& args) {
    return "ip -n " + host_ns_name_ + " " + args;
  }

  PluginOptions Options() {
    PluginOptions o;
    o.state_dir = tmp_ / "state";
    o.lock_timeout = std::chrono::milliseconds(5000);
    o.retries = 3;
    o.retry_interval = std::chrono::milliseconds(5);
    return o;
  }

  // Runs one command with fresh kernel objects, as one plugin process would.
  absl::StatusOr<std::string> Run(
      Command cmd, const std::string& conf, const std::string& cid = "c1",
      std::string netns = "",
      std::function<void(std::string_view)> hook = nullptr) {
    CniEnv env;
    env.command = cmd;
    env.container_id = cid;
    env.netns = netns.empty() ? pod_ns_ : netns;
    env.ifname = "net1";
    env.path = {"/usr/lib/cni"};
    FakeNetlinkSocket pf_sock;
    FakePfNetlink pf(tmp_ / "pf.json");
    pf.Install(pf_sock);
    SK_ASSIGN_OR_RETURN(auto links,
                        KernelLinkEnvironment::Create(host_fd_.get()));
    ExecIpamDelegate ipam;
    sysfs::Sysfs sysfs(tmp_ / "root");
    PluginOptions o = Options();
    o.step_hook_for_test = std::move(hook);
    Plugin plugin(sysfs, pf_sock, *links, ipam, o);
    return plugin.Run(env, conf);
  }

  std::string Conf(const std::string& extra,
                   const std::string& version = "1.0.0") {
    return R"({"cniVersion":")" + version +
           R"(","name":"sriov-net","type":"sriov","deviceID":")" + vf_ +
           R"(","ipam":{"type":"host-local","subnet":"10.77.0.0/24","gateway":"10.77.0.1","routes":[{"dst":"0.0.0.0/0"}],"dataDir":")" +
           (tmp_ / "ipam").string() + "\"}" + extra + "}";
  }

  absl::StatusOr<net::LinkInfo> LinkIn(const std::string& ns_path,
                                       const std::string& name) {
    int fd = host_fd_.get();
    UniqueFd ns;
    if (!ns_path.empty()) {
      SK_ASSIGN_OR_RETURN(ns, net::OpenNetns(ns_path));
      fd = ns.get();
    }
    SK_ASSIGN_OR_RETURN(auto sock, netlink::KernelSocket::Open(fd));
    net::LinkOps ops(*sock);
    return ops.GetLink(name);
  }
  absl::StatusOr<std::vector<net::IpPrefix>> AddrsIn(const std::string& ns_path,
                                                     const net::LinkInfo& l) {
    SK_ASSIGN_OR_RETURN(UniqueFd ns, net::OpenNetns(ns_path));
    SK_ASSIGN_OR_RETURN(auto sock, netlink::KernelSocket::Open(ns.get()));
    net::LinkOps ops(*sock);
    return ops.ListAddresses({l.index, l.name});
  }
  size_t Leases() {
    size_t n = 0;
    std::error_code ec;
    for (auto& e :
         std::filesystem::recursive_directory_iterator(tmp_ / "ipam", ec))
      if (e.path().filename().string().rfind("10.77.", 0) == 0) ++n;
    return n;
  }
  void ExpectVfBackInHost() {
    auto host = LinkIn("", vf_netdev_);
    ASSERT_TRUE(host.ok()) << host.status();
    EXPECT_EQ(net::MacToString(host->mac), kVfMac);
    EXPECT_EQ(host->mtu, 1500u);
    EXPECT_EQ(host->flags & 1u /*IFF_UP*/, 0u);
    EXPECT_FALSE(LinkIn(pod_ns_, "net1").ok());
    EXPECT_EQ(fake_pf_->Vf(card_.netdev, 1).vlan, 0u);
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "state" / "c1-net1"));
  }

  TempDir tmp_;
  std::string tag_, host_ns_name_, pod_ns_, vf_, vf_netdev_, vf_dir_;
  std::vector<std::string> pod_names_;
  sk::testing::FakePf card_;
  std::unique_ptr<FakePfNetlink> fake_pf_;
  UniqueFd host_fd_;
};

TEST_F(CniIntegrationTest, AddCheckDelNetdeviceWithHostLocal) {
  std::string conf = Conf(R"(,"vlan":42,"mac":"02:00:00:00:00:aa","mtu":1400)");
  auto out = Run(Command::kAdd, conf);
  ASSERT_TRUE(out.ok()) << out.status();
  auto pod = LinkIn(pod_ns_, "net1");
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(net::MacToString(pod->mac), "02:00:00:00:00:aa");
  EXPECT_EQ(pod->mtu, 1400u);
  EXPECT_NE(pod->flags & 1u, 0u);  // up
  EXPECT_FALSE(LinkIn("", vf_netdev_).ok());
  SK_ASSERT_OK_AND_ASSIGN(auto addrs, AddrsIn(pod_ns_, *pod));
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(net::PrefixToString(addrs[0]), "10.77.0.2/24");
  EXPECT_EQ(
      *out,
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:aa","mtu":1400,"sandbox":")" +
          pod_ns_ +
          R"("}],"ips":[{"interface":0,"address":"10.77.0.2/24","gateway":"10.77.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}})"
          "\n");
  EXPECT_EQ(fake_pf_->Vf(card_.netdev, 1).vlan, 42u);
  EXPECT_EQ(Leases(), 1u);

  nlohmann::json check = nlohmann::json::parse(conf);
  check["prevResult"] = nlohmann::json::parse(*out);
  SK_ASSERT_OK(Run(Command::kCheck, check.dump()).status());

  SK_ASSERT_OK(Run(Command::kDel, conf).status());
  ExpectVfBackInHost();
  EXPECT_EQ(Leases(), 0u);
  SK_ASSERT_OK(Run(Command::kDel, conf).status());  // idempotent
}

TEST_F(CniIntegrationTest, StaticIpamAndCheckDetectsRemovedAddress) {
  std::string conf =
      R"({"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":")" +
      vf_ +
      R"(","ipam":{"type":"static","addresses":[{"address":"10.78.0.5/24","gateway":"10.78.0.1"}]}})";
  auto out = Run(Command::kAdd, conf);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(
      *out,
      HasSubstr(
          R"("ips":[{"interface":0,"address":"10.78.0.5/24","gateway":"10.78.0.1"}])"));
  nlohmann::json check = nlohmann::json::parse(conf);
  check["prevResult"] = nlohmann::json::parse(*out);
  SK_ASSERT_OK(Run(Command::kCheck, check.dump()).status());
  ASSERT_EQ(
      std::system(
          ("ip -n " + pod_ns_.substr(11) + " addr flush dev net1").c_str()),
      0);
  EXPECT_THAT(
      Run(Command::kCheck, check.dump()),
      sk::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                            "CHECK: address 10.78.0.5/24 missing on net1"));
  SK_ASSERT_OK(Run(Command::kDel, conf).status());
  ExpectVfBackInHost();
}

TEST_F(CniIntegrationTest, IpamFailureAfterMoveRollsEverythingBack) {
  std::string conf =
      R"({"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":")" +
      vf_ +
      R"(","vlan":9,"mac":"02:00:00:00:00:bb","ipam":{"type":"static","addresses":[{"address":"not-an-ip"}]}})";
  auto r = Run(Command::kAdd, conf);
  ASSERT_FALSE(r.ok());
  ExpectVfBackInHost();
  EXPECT_EQ(net::MacToString(fake_pf_->Vf(card_.netdev, 1).mac),
            "00:00:00:00:00:00");
}

TEST_F(CniIntegrationTest, PodInterfaceNameClashFailsCleanly) {
  ASSERT_EQ(std::system(("ip -n " + pod_ns_.substr(11) +
                         " link add net1 type veth peer name skpeer1")
                            .c_str()),
            0);
  auto r = Run(Command::kAdd, Conf(R"(,"vlan":3)"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("rename to net1: File exists"));
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::Not(HasSubstr("rollback failed")));
  ASSERT_EQ(
      std::system(("ip -n " + pod_ns_.substr(11) + " link del net1").c_str()),
      0);
  ExpectVfBackInHost();
}

TEST_F(CniIntegrationTest, NetnsGoneDelFindsNetdevByPciKernelRefundStandIn) {
  std::string conf = Conf(R"(,"vlan":42,"mac":"02:00:00:00:00:aa")");
  SK_ASSERT_OK(Run(Command::kAdd, conf).status());
  ASSERT_EQ(Sh("ip netns del " + pod_ns_.substr(11)), 0);
  // KernelRefundStandIn: a real VF netdev would come back to the host netns
  // under its pod name; a veth dies with its netns, so recreate it as the
  // kernel would leave it (name net1, pod MAC) and update the fixture sysfs
  // the way the kernel's sysfs would change.
  ASSERT_EQ(Sh(Ip("link add net1 type veth peer name skpeer0")), 0);
  ASSERT_EQ(Sh(Ip("link set net1 address 02:00:00:00:00:aa mtu 1500")), 0);
  std::filesystem::rename(tmp_ / "root" / vf_dir_ / "net" / vf_netdev_,
                          tmp_ / "root" / vf_dir_ / "net" / "net1");
  SK_ASSERT_OK(Run(Command::kDel, conf).status());
  ExpectVfBackInHost();
  EXPECT_EQ(Leases(), 0u);
}

TEST_F(CniIntegrationTest, CrashAtEachStepThenDelRepairs) {
  for (const char* step : {"cached", "pf:vlan", "pf:mac", "netdev:transit",
                           "netdev:pod", "ipam", "ready"}) {
    SCOPED_TRACE(step);
    std::string conf = Conf(R"(,"vlan":42,"mac":"02:00:00:00:00:aa")");
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = Run(Command::kAdd, conf, "c1", "", [step](std::string_view s) {
        if (s == step) ::_exit(42);
      });
      ::_exit(r.ok() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 42);
    EXPECT_TRUE(std::filesystem::exists(tmp_ / "state" / "c1-net1"));
    auto del = Run(Command::kDel, conf);
    ASSERT_TRUE(del.ok()) << del.status();
    ExpectVfBackInHost();
    EXPECT_EQ(net::MacToString(fake_pf_->Vf(card_.netdev, 1).mac),
              "00:00:00:00:00:00");
    EXPECT_EQ(Leases(), 0u);
  }
}

TEST_F(CniIntegrationTest, CrashThenNextAddOfAnotherPodRepairs) {
  std::string conf = Conf(R"(,"vlan":42)");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = Run(Command::kAdd, conf, "c1", "", [](std::string_view s) {
      if (s == "netdev:pod") ::_exit(42);
    });
    ::_exit(r.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_EQ(WEXITSTATUS(status), 42);
  // The crashed pod is torn down without a DEL reaching us... but its netns
  // still exists; the half-done record must still be repaired.
  std::string pod2 = NewPodNs("p2");
  auto out = Run(Command::kAdd, Conf(R"(,"vlan":43)"), "c2", pod2);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(LinkIn(pod2, "net1").ok());
  EXPECT_FALSE(LinkIn(pod_ns_, "net1").ok());
  EXPECT_EQ(fake_pf_->Vf(card_.netdev, 1).vlan, 43u);
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "state" / "c1-net1"));
  SK_ASSERT_OK(Run(Command::kDel, Conf(R"(,"vlan":43)"), "c2", pod2).status());
  auto host = LinkIn("", vf_netdev_);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(net::MacToString(host->mac), kVfMac);
}

TEST_F(CniIntegrationTest, TwoConcurrentAddsOnOneVf) {
  std::string pod2 = NewPodNs("p2");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<pid_t> kids;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = Run(Command::kAdd, Conf(""), i == 0 ? "c1" : "c2",
                   i == 0 ? pod_ns_ : pod2);
      int code = r.ok() ? 0 : CniCodeOf(r.status());
      (void)!::write(fds[1], &code, sizeof(code));
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  ::close(fds[1]);
  std::vector<int> codes(2, -1);
  ASSERT_EQ(::read(fds[0], codes.data(), sizeof(int) * 2),
            static_cast<ssize_t>(sizeof(int) * 2));
  ::close(fds[0]);
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes, (std::vector<int>{0, 11}));
  int in_pods = (LinkIn(pod_ns_, "net1").ok() ? 1 : 0) +
                (LinkIn(pod2, "net1").ok() ? 1 : 0);
  EXPECT_EQ(in_pods, 1);
}

TEST_F(CniIntegrationTest, GcRestoresAttachmentNotListed) {
  // Debian's host-local speaks CNI <= 1.0.0 and rejects GC (1.1.0), so this
  // GC config has no ipam; forwarding GC to IPAM is covered by unit tests.
  std::string add =
      R"({"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":")" +
      vf_ + R"(","vlan":42})";
  SK_ASSERT_OK(Run(Command::kAdd, add).status());
  std::string gc =
      R"({"cniVersion":"1.1.0","name":"sriov-net","type":"sriov","cni.dev/valid-attachments":[]})";
  SK_ASSERT_OK(Run(Command::kGc, gc).status());
  ExpectVfBackInHost();
}

}  // namespace
}  // namespace sk::cni
