// Integration test of the meta-plugin with real delegates (root): Debian's
// containernetworking-plugins (/usr/lib/cni bridge, macvlan, host-local) run
// by the MetaPlugin against a real pod netns. The whole test runs in a
// private "host" netns (bridges, veth peers and the macvlan master live
// there), and the cluster is the in-memory fakes of
// tests/testing/netattach_fakes.h.
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/net/netns.h"
#include "lib/netattach/metaplugin.h"
#include "tests/testing/netattach_fakes.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::RunShell;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCniBin[] = "/usr/lib/cni";
constexpr char kMac[] = "02:12:34:56:78:9a";

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

class NetattachIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!std::filesystem::exists(std::string(kCniBin) + "/macvlan"))
      GTEST_SKIP() << "containernetworking-plugins not installed";
    std::string tag = std::to_string(::getpid());
    host_ns_ = "skna-host-" + tag;
    pod_ns_ = "skna-pod-" + tag;
    ASSERT_EQ(Sh("ip netns add " + host_ns_), 0);
    ASSERT_EQ(Sh("ip netns add " + pod_ns_), 0);
    // The macvlan master: a veth (this kernel may have no dummy driver).
    ASSERT_EQ(Sh("ip -n " + host_ns_ +
                 " link add skmaster0 type veth peer name skmaster1"),
              0);
    ASSERT_EQ(Sh("ip -n " + host_ns_ + " link set skmaster0 up"), 0);
    ASSERT_EQ(Sh("ip -n " + host_ns_ + " link set skmaster1 up"), 0);
    ASSERT_EQ(Sh("ip -n " + host_ns_ + " link set lo up"), 0);
    // This thread (and the plugins it spawns) work in the private host
    // netns; TearDown returns it.
    absl::StatusOr<UniqueFd> orig = net::OpenCurrentNetns();
    ASSERT_TRUE(orig.ok());
    orig_ns_ = std::move(*orig);
    absl::StatusOr<UniqueFd> host = net::OpenNetns("/run/netns/" + host_ns_);
    ASSERT_TRUE(host.ok());
    ASSERT_EQ(::setns(host->get(), CLONE_NEWNET), 0);
    entered_ = true;

    for (const char* d : {"conf", "cni", "ipam", "devinfo"})
      std::filesystem::create_directories(dir_ / d);
    std::ofstream(dir_ / "conf/10-cluster.conflist") << R"({
      "cniVersion":"1.0.0","name":"cluster","plugins":[
       {"type":"bridge","bridge":"skbr0","isGateway":true,
        "isDefaultGateway":true,
        "ipam":{"type":"host-local","subnet":"10.88.0.0/24",
                "dataDir":")" + (dir_ / "ipam").string() + R"("}}]})";
    nads_.Put("ns1", "net-a", Macvlan("skmaster0", "10.89.0.0/24"));
    nads_.Put("ns1", "net-b", Macvlan("skmaster0", "10.90.0.0/24"));
    nads_.Put("ns1", "net-c", Macvlan("absent0", "10.91.0.0/24"));
    SetAnnotation(
        R"([{"name":"net-a","interface":"data0","mac":"02:12:34:56:78:9a"},
            {"name":"net-b"}])");
  }
  void TearDown() override {
    if (entered_) ::setns(orig_ns_.get(), CLONE_NEWNET);
    if (!pod_ns_.empty()) Sh("ip netns del " + pod_ns_);
    if (!host_ns_.empty()) Sh("ip netns del " + host_ns_);
  }
  std::string Macvlan(const std::string& master, const std::string& subnet) {
    return R"({"cniVersion":"1.0.0","type":"macvlan","master":")" + master +
           R"(","mode":"bridge","capabilities":{"mac":true},)" +
           R"("ipam":{"type":"host-local","subnet":")" + subnet +
           R"(","dataDir":")" + (dir_ / "ipam").string() + R"("}})";
  }
  void SetAnnotation(const std::string& networks) {
    Pod pod{"ns1", "pod1", "uid1", {}};
    pod.annotations[kNetworksAnnotation] = networks;
    pods_.Put(pod);
  }
  MetaPluginOptions Options() {
    MetaPluginOptions o;
    o.pods = &pods_;
    o.nads = &nads_;
    o.devices = &devices_;
    o.status_writer = &writer_;
    o.devinfo_root = dir_ / "devinfo";
    o.exec_timeout = std::chrono::seconds(60);
    return o;
  }
  CniRequest Request(const std::string& command) {
    CniRequest r;
    r.env = {{"CNI_COMMAND", command},
             {"CNI_CONTAINERID", "cid-" + pod_ns_},
             {"CNI_NETNS", "/run/netns/" + pod_ns_},
             {"CNI_IFNAME", "eth0"},
             {"CNI_PATH", kCniBin},
             {"CNI_ARGS",
              "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;"
              "K8S_POD_INFRA_CONTAINER_ID=cid;K8S_POD_UID=uid1"}};
    r.stdin_data = R"({"cniVersion":"1.0.0","name":"sriovkit",)"
                   R"("type":"sriov-netattach","clusterNetwork":"cluster",)"
                   R"("confDir":")" +
                   (dir_ / "conf").string() + R"(","cniDir":")" +
                   (dir_ / "cni").string() + R"(","binDir":")" + kCniBin +
                   "\"}";
    return r;
  }
  // `ip` output inside the pod netns.
  std::string InPod(const std::string& args) {
    return RunShell("ip -n " + pod_ns_ + " " + args).stdout_text;
  }
  // IP addresses host-local holds for `network` (one file per lease).
  std::vector<std::string> Leases(const std::string& network) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator(dir_ / "ipam" / network, ec)) {
      std::string n = e.path().filename().string();
      if (!n.empty() && std::isdigit(static_cast<unsigned char>(n[0])))
        out.push_back(n);
    }
    return out;
  }
  std::string CacheFile(const std::string& net, const std::string& ifname) {
    return (dir_ / "cni/results" / (net + "-cid-" + pod_ns_ + "-" + ifname))
        .string();
  }

  TempDir dir_;
  std::string host_ns_, pod_ns_;
  UniqueFd orig_ns_;
  bool entered_ = false;
  testing::FakePodSource pods_;
  testing::FakeNadSource nads_;
  testing::FakeDeviceSource devices_;
  testing::FakePodStatusWriter writer_;
};

TEST_F(NetattachIntegrationTest, AddCreatesInterfacesStatusAndCachesThenDel) {
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  nlohmann::json result = nlohmann::json::parse(r.stdout_data);
  EXPECT_EQ(result["cniVersion"], "1.0.0");

  // Interfaces in the pod netns with the requested names, MAC, addresses.
  EXPECT_THAT(InPod("-o -4 addr show dev eth0"), HasSubstr("inet 10.88.0."));
  EXPECT_THAT(InPod("-o -4 addr show dev data0"), HasSubstr("inet 10.89.0."));
  EXPECT_THAT(InPod("link show dev data0"), HasSubstr(kMac));
  EXPECT_THAT(InPod("-o -4 addr show dev net2"), HasSubstr("inet 10.90.0."));
  EXPECT_EQ(Leases("cluster").size(), 1u);
  EXPECT_EQ(Leases("net-a").size(), 1u);
  EXPECT_EQ(Leases("net-b").size(), 1u);

  // network-status: Multus's keys, in its order.
  nlohmann::ordered_json status =
      nlohmann::ordered_json::parse(writer_.Written("ns1/pod1"));
  ASSERT_EQ(status.size(), 3u) << status.dump();
  const std::vector<std::string> order = {"name", "interface",   "ips",
                                          "mac",  "mtu",         "default",
                                          "dns",  "device-info", "gateway"};
  auto keys = [&](const nlohmann::ordered_json& e) {
    std::vector<std::string> k;
    for (const auto& [key, v] : e.items()) k.push_back(key);
    std::vector<std::string> ordered;
    for (const auto& o : order)
      if (e.contains(o)) ordered.push_back(o);
    EXPECT_EQ(k, ordered) << "keys out of Multus's order: " << e.dump();
    return k;
  };
  std::vector<std::string> k0 = keys(status[0]);
  EXPECT_THAT(k0, ::testing::IsSupersetOf({"name", "interface", "ips", "mac",
                                           "default", "dns", "gateway"}));
  EXPECT_EQ(status[0]["name"], "cluster");
  EXPECT_EQ(status[0]["interface"], "eth0");
  EXPECT_EQ(status[0]["default"], true);
  EXPECT_EQ(status[0]["gateway"], nlohmann::ordered_json({"10.88.0.1"}));
  std::string ip0 = status[0]["ips"][0];
  EXPECT_THAT(InPod("-o -4 addr show dev eth0"), HasSubstr(ip0 + "/24"));
  for (int i : {1, 2}) {
    std::vector<std::string> k = keys(status[i]);
    EXPECT_THAT(
        k, ::testing::IsSupersetOf({"name", "interface", "ips", "mac", "dns"}));
    EXPECT_THAT(k, Not(::testing::Contains("default")));
  }
  EXPECT_EQ(status[1]["name"], "ns1/net-a");
  EXPECT_EQ(status[1]["interface"], "data0");
  EXPECT_EQ(status[1]["mac"], kMac);
  EXPECT_EQ(status[2]["name"], "ns1/net-b");
  EXPECT_EQ(status[2]["interface"], "net2");

  for (const auto& [net, ifname] :
       {std::pair{"cluster", "eth0"}, {"net-a", "data0"}, {"net-b", "net2"}})
    EXPECT_TRUE(std::filesystem::exists(CacheFile(net, ifname))) << net;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cni" / ("cid-" + pod_ns_)));

  // DEL removes everything; a second DEL succeeds.
  r = mp.Handle(Request("DEL"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  for (const char* ifname : {"eth0", "data0", "net2"})
    EXPECT_NE(Sh("ip -n " + pod_ns_ + " link show dev " + ifname), 0) << ifname;
  EXPECT_TRUE(Leases("cluster").empty());
  EXPECT_TRUE(Leases("net-a").empty());
  EXPECT_TRUE(Leases("net-b").empty());
  EXPECT_FALSE(std::filesystem::exists(CacheFile("net-a", "data0")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni" / ("cid-" + pod_ns_)));
  r = mp.Handle(Request("DEL"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
}

TEST_F(NetattachIntegrationTest, FailingThirdDelegateRollsBackTheOthers) {
  SetAnnotation("net-a@data0, net-c");
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 1) << r.stdout_data;
  nlohmann::json err = nlohmann::json::parse(r.stdout_data);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("[ns1/pod1:net-c]: error adding container to network "
                        "\"net-c\": plugin type=\"macvlan\" (add) failed"));
  for (const char* ifname : {"eth0", "data0", "net2"})
    EXPECT_NE(Sh("ip -n " + pod_ns_ + " link show dev " + ifname), 0) << ifname;
  EXPECT_TRUE(Leases("cluster").empty());
  EXPECT_TRUE(Leases("net-a").empty());
  EXPECT_TRUE(Leases("net-c").empty());
  EXPECT_FALSE(std::filesystem::exists(CacheFile("cluster", "eth0")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni" / ("cid-" + pod_ns_)));
  EXPECT_EQ(writer_.writes(), 0);
}

TEST_F(NetattachIntegrationTest, DefaultRouteMovesTheKernelDefaultRoute) {
  SetAnnotation(
      R"([{"name":"net-a","interface":"data0","default-route":["10.89.0.1"]},
          {"name":"net-b"}])");
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  // The bridge's isDefaultGateway route on eth0 is gone; the requested one
  // goes out of data0.
  std::string routes = InPod("-4 route show default");
  EXPECT_THAT(routes, HasSubstr("default via 10.89.0.1 dev data0"));
  EXPECT_THAT(routes, Not(HasSubstr("eth0")));
  EXPECT_THAT(InPod("-4 route show"), HasSubstr("10.88.0.0/24 dev eth0"));
  std::ifstream f(CacheFile("net-a", "data0"));
  nlohmann::json cache = nlohmann::json::parse(f);
  EXPECT_THAT(cache["result"]["routes"].dump(),
              HasSubstr(R"({"dst":"0.0.0.0/0","gw":"10.89.0.1"})"));
  r = mp.Handle(Request("DEL"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_TRUE(Leases("cluster").empty());
  EXPECT_TRUE(Leases("net-a").empty());
}

TEST_F(NetattachIntegrationTest, GcReleasesWhatAStaleContainerHeld) {
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  ASSERT_EQ(Leases("net-a").size(), 1u);

  // A GC that still lists the container keeps everything.
  CniRequest gc = Request("GC");
  nlohmann::json in = nlohmann::json::parse(gc.stdin_data);
  in["cni.dev/valid-attachments"] = {
      {{"containerID", "cid-" + pod_ns_}, {"ifname", "eth0"}}};
  gc.stdin_data = in.dump();
  r = mp.Handle(gc);
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_EQ(Sh("ip -n " + pod_ns_ + " link show dev data0"), 0);
  EXPECT_EQ(Leases("net-a").size(), 1u);

  // Once it is gone from the list, its delegates are deleted for real.
  in["cni.dev/valid-attachments"] = nlohmann::json::array();
  gc.stdin_data = in.dump();
  r = mp.Handle(gc);
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  for (const char* ifname : {"eth0", "data0", "net2"})
    EXPECT_NE(Sh("ip -n " + pod_ns_ + " link show dev " + ifname), 0) << ifname;
  EXPECT_TRUE(Leases("cluster").empty());
  EXPECT_TRUE(Leases("net-a").empty());
  EXPECT_TRUE(Leases("net-b").empty());
  EXPECT_FALSE(std::filesystem::exists(CacheFile("net-a", "data0")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni" / ("cid-" + pod_ns_)));
}

TEST_F(NetattachIntegrationTest, DelWithNoCacheAndNoPodSucceeds) {
  pods_.Remove("ns1", "pod1");
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("DEL"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_EQ(r.stdout_data, "");
}

}  // namespace
}  // namespace sk::netattach
