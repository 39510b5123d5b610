#include "lib/netattach/metaplugin.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <thread>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/netattach_fakes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::FakePluginCall;
using ::sk::testing::ReadFakePluginCalls;
using ::sk::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class MetaPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"bin", "conf", "cni", "devinfo/dp"})
      std::filesystem::create_directories(dir_ / d);
    testing::WriteFakePlugin(dir_ / "bin", "first", log(), 1);
    testing::WriteFakePlugin(dir_ / "bin", "second", log(), 2);
    testing::WriteFakePlugin(dir_ / "bin", "third", log(), 3);
    std::ofstream(dir_ / "conf/10-cluster.conf")
        << R"({"cniVersion":"1.0.0","name":"cluster","type":"first"})";
    nads_.Put("ns1", "net-a",
              R"({"cniVersion":"1.0.0","type":"second",
                  "capabilities":{"mac":true,"deviceID":true,"CNIDeviceInfoFile":true}})",
              "r/a");
    nads_.Put("ns1", "net-b",
              R"({"cniVersion":"1.0.0","plugins":[{"type":"third"}]})");
    devices_.Set("uid1", {{"r/a", {"0000:03:02.1", "0000:03:02.0"}}});
    std::ofstream(dir_ / "devinfo/dp/r-a-0000:03:02.0-device.json")
        << R"({"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:03:02.0"}})";
    Pod pod{"ns1", "pod1", "uid1", {}};
    pod.annotations[kNetworksAnnotation] =
        R"([{"name":"net-a","interface":"sriov0","mac":"02:aa:00:00:00:01"},
            {"name":"net-b"}])";
    pods_.Put(pod);
  }
  std::filesystem::path log() { return dir_ / "calls.log"; }
  // pod1 asks for its default route on net-a (10.0.2.1); route edits
  // succeed without a netns.
  MetaPluginOptions DefaultRouteOnNetA() {
    Pod pod{"ns1", "pod1", "uid1", {}};
    pod.annotations[kNetworksAnnotation] =
        R"([{"name":"net-a","interface":"sriov0","default-route":["10.0.2.1"]},
            {"name":"net-b"}])";
    pods_.Put(pod);
    MetaPluginOptions o = Options();
    o.apply_gateway = [](const std::string&, const std::string&,
                         const GatewayEdit&) { return absl::OkStatus(); };
    return o;
  }
  MetaPluginOptions Options() {
    MetaPluginOptions o;
    o.pods = &pods_;
    o.nads = &nads_;
    o.devices = &devices_;
    o.status_writer = &writer_;
    o.devinfo_root = dir_ / "devinfo";
    o.clock = &clock_;
    o.readiness_timeout = std::chrono::seconds(5);
    o.exec_timeout = std::chrono::seconds(20);
    o.interface_exists = [this](const std::string&, const std::string& name)
        -> absl::StatusOr<bool> { return existing_.count(name) > 0; };
    return o;
  }
  std::string Config(const std::string& extra = "") {
    return R"({"cniVersion":"1.0.0","name":"sriovkit","type":"sriov-netattach",)"
           R"("clusterNetwork":"cluster","confDir":")" +
           (dir_ / "conf").string() + R"(","cniDir":")" +
           (dir_ / "cni").string() + R"(","binDir":")" +
           (dir_ / "bin").string() + "\"" + extra + "}";
  }
  CniRequest Request(const std::string& command,
                     const std::string& config = "") {
    CniRequest r;
    r.env = {{"CNI_COMMAND", command},
             {"CNI_CONTAINERID", "cid1"},
             {"CNI_NETNS", "/run/netns/pod1"},
             {"CNI_IFNAME", "eth0"},
             {"CNI_PATH", "/nonexistent"},
             {"CNI_ARGS",
              "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;"
              "K8S_POD_INFRA_CONTAINER_ID=cid1;K8S_POD_UID=uid1"}};
    r.stdin_data = config.empty() ? Config() : config;
    return r;
  }
  std::vector<std::string> CallSummary() {
    std::vector<std::string> out;
    for (const auto& c : ReadFakePluginCalls(log()))
      out.push_back(c.command + " " + c.type + " " + c.ifname);
    return out;
  }
  nlohmann::json ErrorOf(const CniResponse& r) {
    EXPECT_EQ(r.exit_code, 1) << r.stdout_data;
    return nlohmann::json::parse(r.stdout_data);
  }

  TempDir dir_;
  testing::FakePodSource pods_;
  testing::FakeNadSource nads_;
  testing::FakeDeviceSource devices_;
  testing::FakePodStatusWriter writer_;
  testing::FakeClock clock_;
  std::set<std::string> existing_;
};

TEST_F(MetaPluginTest, AddRunsDelegatesInOrderAndWritesStatus) {
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  nlohmann::json result = nlohmann::json::parse(r.stdout_data);
  EXPECT_EQ(result["cniVersion"], "1.0.0");
  EXPECT_EQ(result["interfaces"][0]["name"], "eth0");
  EXPECT_EQ(result["interfaces"][0]["mac"], "02:00:00:00:00:01");

  EXPECT_THAT(CallSummary(), ElementsAre("ADD first eth0", "ADD second sriov0",
                                         "ADD third net2"));
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  EXPECT_EQ(calls[0].args,
            "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;"
            "K8S_POD_INFRA_CONTAINER_ID=cid1;K8S_POD_UID=uid1");
  EXPECT_EQ(calls[1].args,
            "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;"
            "K8S_POD_INFRA_CONTAINER_ID=cid1;K8S_POD_UID=uid1;"
            "MAC=02:aa:00:00:00:01");
  EXPECT_EQ(calls[1].netns, "/run/netns/pod1");
  nlohmann::json in = nlohmann::json::parse(calls[1].stdin_json);
  // The sorted first device of r/a.
  EXPECT_EQ(in["deviceID"], "0000:03:02.0");
  EXPECT_EQ(in["pciBusID"], "0000:03:02.0");
  EXPECT_EQ(in["name"], "net-a");
  std::string devinfo = (dir_ / "devinfo/cni/ns1-net-a-cid1_sriov0").string();
  EXPECT_EQ(in["runtimeConfig"],
            nlohmann::json({{"mac", "02:aa:00:00:00:01"},
                            {"deviceID", "0000:03:02.0"},
                            {"CNIDeviceInfoFile", devinfo}}));
  EXPECT_TRUE(std::filesystem::exists(devinfo));

  EXPECT_EQ(writer_.Written("ns1/pod1"),
            R"([{"name":"cluster","interface":"eth0","ips":["10.0.1.2"],)"
            R"("mac":"02:00:00:00:00:01","mtu":1400,"default":true,)"
            R"("dns":{"nameservers":["10.0.1.53"]},"gateway":["10.0.1.1"]},)"
            R"({"name":"ns1/net-a","interface":"sriov0","ips":["10.0.2.2"],)"
            R"("mac":"02:00:00:00:00:02","mtu":1400,)"
            R"("dns":{"nameservers":["10.0.2.53"]},)"
            R"("device-info":{"type":"pci","version":"1.1.0",)"
            R"("pci":{"pci-address":"0000:03:02.0"}},"gateway":["10.0.2.1"]},)"
            R"({"name":"ns1/net-b","interface":"net2","ips":["10.0.3.2"],)"
            R"("mac":"02:00:00:00:00:03","mtu":1400,)"
            R"("dns":{"nameservers":["10.0.3.53"]},"gateway":["10.0.3.1"]}])");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cni/cid1"));
  for (const char* f :
       {"cni/results/cluster-cid1-eth0", "cni/results/net-a-cid1-sriov0",
        "cni/results/net-b-cid1-net2"})
    EXPECT_TRUE(std::filesystem::exists(dir_ / f)) << f;

  // DEL: reverse order, everything removed.
  r = mp.Handle(Request("DEL"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(
      CallSummary(),
      ElementsAre("ADD first eth0", "ADD second sriov0", "ADD third net2",
                  "DEL third net2", "DEL second sriov0", "DEL first eth0"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
  EXPECT_FALSE(std::filesystem::exists(devinfo));
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "cni/results"));
}

TEST_F(MetaPluginTest, ResponseCarriesTheDelegatesTime) {
  // Three delegates, each of which takes at least 100 ms: the response says
  // the call spent at least 300 ms in them (for the daemon's log line).
  for (const auto& [type, octet] :
       {std::pair{"first", 1}, {"second", 2}, {"third", 3}})
    testing::WriteFakePlugin(dir_ / "bin", type, log(), octet, "sleep 0.1");
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_GE(r.delegate_time, std::chrono::milliseconds(300));
  // No delegate runs for VERSION.
  EXPECT_EQ(mp.Handle(Request("VERSION")).delegate_time,
            std::chrono::nanoseconds(0));
}

TEST_F(MetaPluginTest, CheckRunsEveryDelegate) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  CniResponse r = mp.Handle(Request("CHECK"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  std::vector<std::string> calls = CallSummary();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_THAT(std::vector<std::string>(calls.begin() + 3, calls.end()),
              ElementsAre("CHECK first eth0", "CHECK second sriov0",
                          "CHECK third net2"));
}

// A bad shim config is an invalid-config error naming the key (or the
// JSON error), whether Handle parses the stdin or is given it parsed.
TEST_F(MetaPluginTest, BadShimConfigNamesTheKeyParsedHereOrBefore) {
  MetaPlugin mp(Options());
  const std::string bad = R"({"cniVersion":"1.0.0","confDir":5})";
  for (const CniResponse& r :
       {mp.Handle(Request("ADD", bad)),
        mp.Handle(Request("ADD", bad),
                  ParsedShimConfigFrom(ParseShimConfigJson(bad)))}) {
    nlohmann::json err = ErrorOf(r);
    EXPECT_EQ(err["code"], 7);
    EXPECT_EQ(err["msg"], "shim config: confDir: expected a string, got 5");
  }
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD", R"({"a":)")));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("shim config: not valid JSON at byte 5"));
  EXPECT_THAT(CallSummary(), ElementsAre());
}

TEST_F(MetaPluginTest, FailureRollsBackInReverseAndNamesTheNetwork) {
  testing::WriteFailingPlugin(dir_ / "bin", "bad", log(), "ADD", 7, "boom");
  nads_.Put("ns1", "net-c", R"({"cniVersion":"1.0.0","type":"bad"})");
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] = "net-b, net-c";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_EQ(err["code"], 7);
  EXPECT_EQ(err["msg"],
            "[ns1/pod1:net-c]: error adding container to network \"net-c\": "
            "plugin type=\"bad\" (add) failed: boom; more");
  EXPECT_THAT(CallSummary(),
              ElementsAre("ADD first eth0", "ADD third net1", "ADD bad net2",
                          "DEL bad net2", "DEL third net1", "DEL first eth0"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
  EXPECT_EQ(writer_.writes(), 0);
}

TEST_F(MetaPluginTest, PodNotFoundGivesPlaceholder) {
  pods_.Remove("ns1", "pod1");
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  nlohmann::json j = nlohmann::json::parse(r.stdout_data);
  EXPECT_EQ(j["interfaces"][0]["name"], "eth0");
  EXPECT_EQ(j["interfaces"][0]["sandbox"], "/run/netns/pod1");
  EXPECT_EQ(j["ips"][0]["address"], "0.0.0.0/0");
  EXPECT_EQ(j["ips"][0]["gateway"], "0.0.0.0");
  EXPECT_TRUE(CallSummary().empty());
}

TEST_F(MetaPluginTest, ApiUnavailableIsTryAgainLater) {
  pods_.FailWith(absl::UnavailableError("connection refused"));
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_EQ(err["code"], 11);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("get pod ns1/pod1: connection refused"));
  EXPECT_EQ(pods_.calls(), 3);
}

// The NADs cannot be read (API server down): the cluster network, a conf
// file of that name, still runs, as multus-cni getNetDelegate falls
// through to the conf dir on any error; a network that is only a NAD fails
// with code 11 naming the API's error.
TEST_F(MetaPluginTest, ClusterNetworkConfChangedBetweenTwoAddsIsPickedUp) {
  pods_.Put(Pod{"ns1", "pod1", "uid1", {}});
  // Settled files (an hour old), so the first ADD's answer is kept.
  struct timespec old[2] = {{::time(nullptr) - 3600, 0},
                            {::time(nullptr) - 3600, 0}};
  for (const auto& p : {dir_ / "conf/10-cluster.conf", dir_ / "conf"})
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), old, 0), 0);
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  ASSERT_EQ(mp.Handle(Request("DEL")).exit_code, 0);
  std::ofstream(dir_ / "conf/10-cluster.conf")
      << R"({"cniVersion":"1.0.0","name":"cluster","type":"third"})";
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(CallSummary(), ElementsAre("ADD first eth0", "DEL first eth0",
                                         "ADD third eth0"));
}

TEST_F(MetaPluginTest, NadsUnreadableClusterNetworkFromConfDirStillRuns) {
  pods_.Put(Pod{"ns1", "pod1", "uid1", {}});
  nads_.FailWith(absl::UnavailableError("GET ...: cannot connect"));
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;

  Pod pod{"ns1", "pod2", "uid2", {}};
  pod.annotations[kNetworksAnnotation] = "net-a";
  pods_.Put(pod);
  CniRequest req = Request("ADD");
  req.env["CNI_ARGS"] = "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod2";
  req.env["CNI_CONTAINERID"] = "c2";
  nlohmann::json err = ErrorOf(mp.Handle(req));
  EXPECT_EQ(err["code"], 11) << err.dump();
  EXPECT_THAT(err["msg"].get<std::string>(), HasSubstr("cannot connect"));
}

TEST_F(MetaPluginTest, NoDeviceLeftNamesPodNetworkAndResource) {
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] = "net-a@s1, net-a@s2, net-a@s3";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_EQ(err["code"], 11);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("pod ns1/pod1: network ns1/net-a: no device of "
                        "resource r/a left (2 assigned"));
  EXPECT_TRUE(CallSummary().empty());
}

TEST_F(MetaPluginTest, DevicesHandedOutInNetworkOrder) {
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] = "net-a@s1, net-b, net-a@s2";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(calls[1].stdin_json)["deviceID"],
            "0000:03:02.0");
  EXPECT_EQ(calls[2].ifname, "net2");
  EXPECT_FALSE(nlohmann::json::parse(calls[2].stdin_json).contains("deviceID"));
  EXPECT_EQ(nlohmann::json::parse(calls[3].stdin_json)["deviceID"],
            "0000:03:02.1");
}

TEST_F(MetaPluginTest, NamespaceIsolation) {
  nads_.Put("other", "net-x", R"({"type":"third"})");
  nads_.Put("default", "net-g", R"({"type":"third"})");
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] = "default/net-g, other/net-x";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(
      mp.Handle(Request("ADD", Config(R"(,"namespaceIsolation":true)"))));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("network other/net-x is outside the pod's namespace"));
  // Without isolation both are fine.
  EXPECT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
}

TEST_F(MetaPluginTest, ExistingInterfaceIsRefused) {
  existing_.insert("sriov0");
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("network \"net-a\": interface sriov0 already exists "
                        "in /run/netns/pod1"));
  EXPECT_THAT(CallSummary(), ElementsAre("ADD first eth0", "DEL first eth0"));
}

TEST_F(MetaPluginTest, SystemNamespacePodsGetNoDefaultNetworksNorStatus) {
  std::ofstream(dir_ / "conf/20-extra.conf")
      << R"({"cniVersion":"1.0.0","name":"extra","type":"third"})";
  Pod pod{"kube-system", "pod1", "uid1", {}};
  pods_.Put(pod);
  CniRequest req = Request("ADD", Config(R"(,"defaultNetworks":["extra"])"));
  req.env["CNI_ARGS"] = "K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=pod1";
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(req).exit_code, 0);
  EXPECT_THAT(CallSummary(), ElementsAre("ADD first eth0"));
  EXPECT_EQ(writer_.writes(), 0);
  // In another namespace the default network runs as net1.
  mp.Handle(Request("DEL"));
  ASSERT_EQ(mp.Handle(Request("ADD", Config(R"(,"defaultNetworks":["extra"])")))
                .exit_code,
            0);
  EXPECT_THAT(CallSummary(),
              ::testing::IsSupersetOf({"ADD third net1", "ADD second sriov0"}));
}

TEST_F(MetaPluginTest, DefaultNetworkAnnotationOverridesClusterNetwork) {
  nads_.Put("kube-system", "alt", R"({"cniVersion":"1.0.0","type":"third"})");
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kDefaultNetworkAnnotation] = "alt";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(CallSummary(), ElementsAre("ADD third eth0"));
  EXPECT_THAT(writer_.Written("ns1/pod1"),
              HasSubstr(R"({"name":"kube-system/alt","interface":"eth0")"));
}

TEST_F(MetaPluginTest, ReadinessFileWaitIsBounded) {
  MetaPlugin mp(Options());
  std::string missing = (dir_ / "ready").string();
  nlohmann::json err = ErrorOf(mp.Handle(Request(
      "ADD", Config(R"(,"readinessindicatorfile":")" + missing + "\""))));
  EXPECT_EQ(err["code"], 11);
  EXPECT_THAT(
      err["msg"].get<std::string>(),
      HasSubstr("still waiting for readinessindicatorfile @ " + missing));
  EXPECT_GE(clock_.Now() - testing::FakeClock().Now(), std::chrono::seconds(5));
  std::ofstream(missing) << "";
  EXPECT_EQ(mp.Handle(Request("ADD", Config(R"(,"readinessindicatorfile":")" +
                                            missing + "\"")))
                .exit_code,
            0);
}

TEST_F(MetaPluginTest, StatusChecksReadinessAndPlugins) {
  MetaPlugin mp(Options());
  EXPECT_EQ(mp.Handle(Request("STATUS")).exit_code, 0);
  std::string missing = (dir_ / "ready").string();
  nlohmann::json err = ErrorOf(mp.Handle(Request(
      "STATUS", Config(R"(,"readinessindicatorfile":")" + missing + "\""))));
  EXPECT_EQ(err["code"], 50);
  std::filesystem::remove(dir_ / "bin/first");
  err = ErrorOf(mp.Handle(Request("STATUS")));
  EXPECT_EQ(err["code"], 50);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("failed to find plugin \"first\""));
}

TEST_F(MetaPluginTest, DelWithoutCacheOrPodSucceeds) {
  pods_.Remove("ns1", "pod1");
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("DEL"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_TRUE(CallSummary().empty());
  pods_.FailWith(absl::UnavailableError("down"));
  EXPECT_EQ(mp.Handle(Request("DEL")).exit_code, 0);
}

TEST_F(MetaPluginTest, DelWithoutCacheRebuildsFromThePod) {
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("DEL"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(CallSummary(), ElementsAre("DEL third net2", "DEL second sriov0",
                                         "DEL first eth0"));
}

// A saved list that does not decode (Multus writes it in place, so an
// upgrade from it may find one a crash left partial) is no list: DEL plans
// from the pod as without one and removes it.
TEST_F(MetaPluginTest, DelWithAPartialSavedListRebuildsFromThePod) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  absl::StatusOr<std::string> list =
      ReadFileBounded(dir_ / "cni/cid1", 1 << 20);
  ASSERT_TRUE(list.ok());
  std::ofstream(dir_ / "cni/cid1", std::ios::trunc)
      << list->substr(0, list->size() / 2);
  CniResponse r = mp.Handle(Request("DEL"));
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(
      CallSummary(),
      ElementsAre("ADD first eth0", "ADD second sriov0", "ADD third net2",
                  "DEL third net2", "DEL second sriov0", "DEL first eth0"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
}

// CHECK on a saved list that does not decode names the container and the
// file (code 5, an I/O failure), not only the decoder's complaint.
TEST_F(MetaPluginTest, CheckWithAListThatDoesNotDecodeNamesIt) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  std::ofstream(dir_ / "cni/cid1", std::ios::trunc) << "[{\"conf\":";
  nlohmann::json err = ErrorOf(mp.Handle(Request("CHECK")));
  EXPECT_EQ(err["code"], 5);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("CHECK: the delegate list of container cid1 (" +
                        (dir_ / "cni/cid1").string() + ") does not decode"));
}

TEST_F(MetaPluginTest, VersionAndInputErrors) {
  MetaPlugin mp(Options());
  CniResponse v = mp.Handle(Request("VERSION", R"({"cniVersion":"0.4.0"})"));
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_THAT(v.stdout_data, HasSubstr("supportedVersions"));
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD", R"({"confDir":1})")));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("confDir: expected a string"));
  CniRequest bad = Request("ADD");
  bad.env.erase("CNI_IFNAME");
  EXPECT_EQ(ErrorOf(mp.Handle(bad))["code"], 4);
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] = "a/b/c";
  pods_.Put(pod);
  err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("pod ns1/pod1: network 0 (\"a/b/c\")"));
  nads_.Put("ns1", "x", "");
  pod.annotations[kNetworksAnnotation] = "missing";
  pods_.Put(pod);
  err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("cannot find a network-attachment-definition (missing) "
                        "in namespace (ns1)"));
}

TEST_F(MetaPluginTest, SelectionCapabilitiesArgsAndDeviceId) {
  nads_.Put("ns1", "net-all",
            R"({"cniVersion":"1.0.0","plugins":[{"type":"third",
                "capabilities":{"ips":true,"portMappings":true,
                "bandwidth":true,"infinibandGUID":true,"deviceID":true,
                "CNIDeviceInfoFile":true}},{"type":"second"}]})");
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] = R"([{"name":"net-all",
      "ips":["10.5.0.7/24","fd00::7"],"portMappings":[{"hostPort":80}],
      "bandwidth":{"ingressRate":1000},
      "infiniband-guid":"00:11:22:33:44:55:66:77",
      "deviceID":"0000:09:00.1","cni-args":{"k":"v"}}])";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].args,
            "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;"
            "K8S_POD_INFRA_CONTAINER_ID=cid1;K8S_POD_UID=uid1;"
            "IP=10.5.0.7/24,fd00::7");
  nlohmann::json in = nlohmann::json::parse(calls[1].stdin_json);
  // The element's deviceID (the NAD has no resourceName) in every plugin,
  // cni-args under args.cni, and each declared capability.
  EXPECT_EQ(in["deviceID"], "0000:09:00.1");
  EXPECT_EQ(in["pciBusID"], "0000:09:00.1");
  EXPECT_EQ(in["args"]["cni"]["k"], "v");
  EXPECT_EQ(in["runtimeConfig"]["ips"],
            nlohmann::json({"10.5.0.7/24", "fd00::7"}));
  EXPECT_EQ(in["runtimeConfig"]["portMappings"][0]["hostPort"], 80);
  EXPECT_EQ(in["runtimeConfig"]["bandwidth"]["ingressRate"], 1000);
  EXPECT_EQ(in["runtimeConfig"]["infinibandGUID"], "00:11:22:33:44:55:66:77");
  EXPECT_EQ(in["runtimeConfig"]["deviceID"], "0000:09:00.1");
  // The device-info path is announced whenever there is a device (as
  // multus-cni's CreateCNIRuntimeConf does); with no resourceName there is
  // no device plugin file to copy into it.
  std::string devinfo = (dir_ / "devinfo/cni/ns1-net-all-cid1_net1").string();
  EXPECT_EQ(in["runtimeConfig"]["CNIDeviceInfoFile"], devinfo);
  EXPECT_FALSE(std::filesystem::exists(devinfo));
  nlohmann::json in2 = nlohmann::json::parse(calls[2].stdin_json);
  EXPECT_EQ(in2["deviceID"], "0000:09:00.1");
  EXPECT_FALSE(in2.contains("runtimeConfig"));
  EXPECT_EQ(in2["prevResult"]["interfaces"][0]["name"], "net1");
}

TEST_F(MetaPluginTest, ConcurrentRequestsForDifferentContainers) {
  MetaPlugin mp(Options());
  constexpr int kThreads = 4;
  std::vector<CniResponse> responses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      CniRequest req = Request("ADD");
      req.env["CNI_CONTAINERID"] = "cid-" + std::to_string(i);
      responses[i] = mp.Handle(req);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(responses[i].exit_code, 0) << responses[i].stdout_data;
    EXPECT_TRUE(
        std::filesystem::exists(dir_ / "cni" / ("cid-" + std::to_string(i))));
    EXPECT_TRUE(std::filesystem::exists(
        dir_ / "cni/results" / ("net-b-cid-" + std::to_string(i) + "-net2")));
  }
  EXPECT_EQ(ReadFakePluginCalls(log()).size(), 3u * kThreads);
}

TEST_F(MetaPluginTest, StatusWriteOutcomes) {
  MetaPlugin mp(Options());
  // The pod deleted meanwhile is not an error.
  writer_.FailWith(absl::NotFoundError("pods \"pod1\" not found"));
  EXPECT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  ASSERT_EQ(mp.Handle(Request("DEL")).exit_code, 0);
  writer_.FailWith(absl::UnavailableError("apiserver down"));
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_EQ(err["code"], 11);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("pod ns1/pod1: error setting the networks status: "
                        "apiserver down"));
}

TEST_F(MetaPluginTest, ClusterNetworkAsFileOrDirectoryPath) {
  Pod pod{"ns1", "pod1", "uid1", {}};
  pods_.Put(pod);
  std::filesystem::create_directories(dir_ / "other");
  std::ofstream(dir_ / "other/b.conf")
      << R"({"cniVersion":"1.0.0","name":"by-dir","type":"third"})";
  std::ofstream(dir_ / "other/a.txt") << "ignored";
  std::ofstream(dir_ / "file.conflist")
      << R"({"cniVersion":"1.0.0","name":"by-file","plugins":[{"type":"second"}]})";
  MetaPlugin mp(Options());
  CniResponse r = mp.Handle(
      Request("ADD", Config(R"(,"clusterNetwork":")" +
                            (dir_ / "file.conflist").string() + "\"")));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(writer_.Written("ns1/pod1"), HasSubstr(R"("name":"by-file")"));
  ASSERT_EQ(mp.Handle(Request("DEL")).exit_code, 0);
  r = mp.Handle(Request("ADD", Config(R"(,"clusterNetwork":")" +
                                      (dir_ / "other").string() + "\"")));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(writer_.Written("ns1/pod1"), HasSubstr(R"("name":"by-dir")"));
  EXPECT_THAT(CallSummary(), ElementsAre("ADD second eth0", "DEL second eth0",
                                         "ADD third eth0"));
  // A name that is neither a NAD nor a conf in confDir.
  nlohmann::json err = ErrorOf(
      mp.Handle(Request("ADD", Config(R"(,"clusterNetwork":"nowhere")"))));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("cannot find network \"nowhere\": no NAD in "
                        "kube-system"));
}

TEST(AttachmentsTest, RoundTrip) {
  absl::StatusOr<NetConfig> c =
      ParseNetConfig(R"({"name":"n","plugins":[{"type":"a"}]})", "", "t");
  ASSERT_TRUE(c.ok());
  Attachment a;
  a.conf = *c;
  a.status_name = "ns/n";
  a.is_default = true;
  a.rt.container_id = "cid";
  a.rt.netns = "/x";
  a.rt.ifname = "net1";
  a.rt.args = {{"A", "1"}};
  a.rt.capability_args = {{"mac", "m"}};
  a.resource = "r/a";
  a.devinfo_file = "/d";
  // The bytes on disk (a file another daemon version reads back).
  EXPECT_EQ(EncodeAttachments({a}),
            R"({"delegates":[{"capabilityArgs":{"mac":"m"},"cniArgs":[["A",)"
            R"("1"]],"conf":{"name":"n","plugins":[{"type":"a"}]},"containe)"
            R"(rId":"cid","default":true,"devinfoFile":"/d","ifName":"net1")"
            R"(,"netns":"/x","resourceName":"r/a","statusName":"ns/n"}],"ki)"
            R"(nd":"sriovkitDelegatesV1"})");
  absl::StatusOr<std::vector<Attachment>> back =
      DecodeAttachments(EncodeAttachments({a}));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  const Attachment& b = (*back)[0];
  EXPECT_EQ(b.conf.json, a.conf.json);
  EXPECT_EQ(b.status_name, "ns/n");
  EXPECT_TRUE(b.is_default);
  EXPECT_EQ(b.rt.ifname, "net1");
  EXPECT_EQ(b.rt.args, a.rt.args);
  EXPECT_EQ(b.rt.capability_args, a.rt.capability_args);
  EXPECT_EQ(b.resource, "r/a");
  EXPECT_EQ(b.devinfo_file, "/d");
  EXPECT_FALSE(DecodeAttachments(R"({"kind":"x"})").ok());
}

}  // namespace
}  // namespace sk::netattach

namespace sk::netattach {
namespace {

TEST_F(MetaPluginTest, DefaultRouteMovesTheGatewayAsMultusDoes) {
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] =
      R"([{"name":"net-a","interface":"sriov0","default-route":["10.0.2.1"]},
          {"name":"net-b"}])";
  pods_.Put(pod);
  std::vector<std::string> edits;
  MetaPluginOptions o = Options();
  o.apply_gateway = [&](const std::string& netns, const std::string& ifname,
                        const GatewayEdit& e) {
    std::string add;
    for (const auto& g : e.add) add += " +" + g;
    edits.push_back(netns + " " + ifname +
                    (e.delete_kernel_defaults ? " -default" : "") + add);
    return absl::OkStatus();
  };
  MetaPlugin mp(o);
  CniResponse r = mp.Handle(Request("ADD"));
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(edits, ElementsAre("/run/netns/pod1 eth0 -default",
                                 "/run/netns/pod1 sriov0 -default +10.0.2.1",
                                 "/run/netns/pod1 net2 -default"));
  auto cached = [&](const std::string& file) {
    absl::StatusOr<std::string> t =
        ReadFileBounded(dir_ / "cni/results" / file, 1 << 20);
    EXPECT_TRUE(t.ok()) << file;
    return nlohmann::json::parse(t.ok() ? *t : "{}")["result"];
  };
  // The cluster network's cached result lost its default route; net-a's
  // gained the requested one.
  nlohmann::json cluster = cached("cluster-cid1-eth0");
  for (const auto& route : cluster.value("routes", nlohmann::json::array()))
    EXPECT_NE(route["dst"], "0.0.0.0/0") << cluster.dump();
  nlohmann::json a = cached("net-a-cid1-sriov0");
  EXPECT_THAT(a["routes"].dump(),
              HasSubstr(R"({"dst":"0.0.0.0/0","gw":"10.0.2.1"})"));
  // network-status and the returned result are the delegates' own, with
  // `default` on the cluster network (multus.go CreateNetworkStatuses).
  nlohmann::json status = nlohmann::json::parse(writer_.Written("ns1/pod1"));
  EXPECT_EQ(status[0]["default"], true);
  EXPECT_FALSE(status[1].contains("default"));
}

TEST_F(MetaPluginTest, DefaultRouteEcmpIsRefused) {
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] =
      R"([{"name":"net-a","default-route":["10.0.2.1"]},
          {"name":"net-b","default-route":["10.0.3.1"]}])";
  pods_.Put(pod);
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("pod ns1/pod1: multus does not support ECMP"));
  EXPECT_TRUE(CallSummary().empty());
}

TEST_F(MetaPluginTest, NoDefaultRouteLeavesRoutesAlone) {
  int calls = 0;
  MetaPluginOptions o = Options();
  o.apply_gateway = [&](const std::string&, const std::string&,
                        const GatewayEdit&) {
    ++calls;
    return absl::OkStatus();
  };
  MetaPlugin mp(o);
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  EXPECT_EQ(calls, 0);
}

TEST_F(MetaPluginTest, DefaultRouteFailureRollsBack) {
  Pod pod{"ns1", "pod1", "uid1", {}};
  pod.annotations[kNetworksAnnotation] =
      R"([{"name":"net-b","default-route":["10.0.2.1"]}])";
  pods_.Put(pod);
  MetaPluginOptions o = Options();
  o.apply_gateway = [&](const std::string&, const std::string& ifname,
                        const GatewayEdit&) {
    return ifname == "net1" ? absl::InternalError("no route for you")
                            : absl::OkStatus();
  };
  MetaPlugin mp(o);
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("error setting default gateway: no route for you"));
  EXPECT_THAT(CallSummary(), ElementsAre("ADD first eth0", "ADD third net1",
                                         "DEL third net1", "DEL first eth0"));
}

}  // namespace
}  // namespace sk::netattach

namespace sk::netattach {
namespace {

TEST_F(MetaPluginTest, GcDeletesStaleContainersAndForwardsTheValidList) {
  // net-b at CNI 1.1 gets GC; the 1.0 networks only DEL for stale ones.
  nads_.Put("ns1", "net-b",
            R"({"cniVersion":"1.1.0","plugins":[{"type":"third"}]})");
  MetaPlugin mp(Options());
  CniRequest add = Request("ADD");
  ASSERT_EQ(mp.Handle(add).exit_code, 0);
  add.env["CNI_CONTAINERID"] = "cid2";
  devices_.Set("uid1", {{"r/a", {"0000:03:02.1", "0000:03:02.0"}}});
  ASSERT_EQ(mp.Handle(add).exit_code, 0);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "cni/cid2"));
  std::filesystem::remove(log());

  CniRequest gc = Request("GC");
  nlohmann::json in = nlohmann::json::parse(gc.stdin_data);
  in["cniVersion"] = "1.1.0";
  in["cni.dev/valid-attachments"] = {
      {{"containerID", "cid1"}, {"ifname", "eth0"}}};
  gc.stdin_data = in.dump();
  CniResponse r = mp.Handle(gc);
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;

  EXPECT_THAT(CallSummary(), ElementsAre("DEL third net2", "DEL second sriov0",
                                         "DEL first eth0", "GC third "));
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  nlohmann::json gc_in = nlohmann::json::parse(calls.back().stdin_json);
  EXPECT_EQ(gc_in["name"], "net-b");
  EXPECT_EQ(
      gc_in["cni.dev/valid-attachments"],
      nlohmann::json::parse(R"([{"containerID":"cid1","ifname":"net2"}])"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid2"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/results/net-b-cid2-net2"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cni/cid1"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cni/results/net-b-cid1-net2"));
}

TEST_F(MetaPluginTest, GcOfOrphanCachedResultUsesItsCachedConfig) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  // The saved list is lost; the libcni-style result cache remains.
  std::filesystem::remove(dir_ / "cni/cid1");
  std::filesystem::remove(log());
  CniRequest gc = Request("GC");
  nlohmann::json in = nlohmann::json::parse(gc.stdin_data);
  in["cni.dev/valid-attachments"] = nlohmann::json::array();
  gc.stdin_data = in.dump();
  ASSERT_EQ(mp.Handle(gc).exit_code, 0);
  std::vector<std::string> calls = CallSummary();
  std::sort(calls.begin(), calls.end());
  EXPECT_THAT(calls, ElementsAre("DEL first eth0", "DEL second sriov0",
                                 "DEL third net2"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "cni/results"));
}

TEST_F(MetaPluginTest, GcWithoutValidListDeletesNothing) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  std::filesystem::remove(log());
  nlohmann::json err = ErrorOf(mp.Handle(Request("GC")));
  EXPECT_EQ(err["code"], 7);
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("cni.dev/valid-attachments"));
  EXPECT_TRUE(CallSummary().empty());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cni/cid1"));
}

}  // namespace
}  // namespace sk::netattach

namespace sk::netattach {
namespace {

using ::sk::testing::IsOk;

// HandleDeferring (the daemon's path): ADD writes the result cache, with
// the default-route edit, before it answers (once per file) and leaves
// nothing for later; DEL's files are removed only when `later` runs, after
// the answer; the answers are the same.
TEST_F(MetaPluginTest, CacheWrittenBeforeTheAnswerDelFilesRemovedLater) {
  MetaPluginOptions o = DefaultRouteOnNetA();
  MetaPlugin mp(o);
  const std::filesystem::path results = dir_ / "cni/results";
  const std::vector<std::string> files = {
      "cluster-cid1-eth0", "net-a-cid1-sriov0", "net-b-cid1-net2"};
  CniResponse r;
  {
    DeferredWork later;
    r = mp.HandleDeferring(Request("ADD"), later);
    ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
    EXPECT_FALSE(later.pending());
    EXPECT_TRUE(std::filesystem::exists(dir_ / "cni/cid1"));
    for (const std::string& f : files)
      EXPECT_TRUE(std::filesystem::exists(results / f)) << f;
  }
  EXPECT_EQ(nlohmann::json::parse(r.stdout_data)["interfaces"][0]["name"],
            "eth0");
  auto cached = [&](const std::string& file) {
    absl::StatusOr<std::string> t = ReadFileBounded(results / file, 1 << 20);
    EXPECT_TRUE(t.ok()) << file;
    return nlohmann::json::parse(t.ok() ? *t : "{}");
  };
  nlohmann::json cluster = cached("cluster-cid1-eth0");
  EXPECT_EQ(cluster["kind"], "cniCacheV1");
  EXPECT_EQ(cluster["containerId"], "cid1");
  EXPECT_EQ(cluster["ifName"], "eth0");
  for (const auto& route :
       cluster["result"].value("routes", nlohmann::json::array()))
    EXPECT_NE(route["dst"], "0.0.0.0/0") << cluster.dump();
  EXPECT_THAT(cached("net-a-cid1-sriov0")["result"]["routes"].dump(),
              HasSubstr(R"({"dst":"0.0.0.0/0","gw":"10.0.2.1"})"));

  DeferredWork later;
  r = mp.HandleDeferring(Request("DEL"), later);
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_THAT(
      CallSummary(),
      ElementsAre("ADD first eth0", "ADD second sriov0", "ADD third net2",
                  "DEL third net2", "DEL second sriov0", "DEL first eth0"));
  EXPECT_TRUE(later.pending());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cni/cid1"));
  for (const std::string& f : files)
    EXPECT_TRUE(std::filesystem::exists(results / f)) << f;
  ASSERT_THAT(later.Run(), IsOk());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
  EXPECT_TRUE(std::filesystem::is_empty(results));
}

// A result cache that cannot be written fails the ADD before the runtime
// sees it succeed (as libcni's cacheAdd): every delegate is deleted in
// reverse order, each with its own result as prevResult, and the error
// names the network.
TEST_F(MetaPluginTest, CacheWriteFailureFailsTheAddAndRollsBack) {
  std::filesystem::create_directories(dir_ / "cni");
  std::ofstream(dir_ / "cni/results") << "a file where the directory goes";
  MetaPlugin mp(Options());
  DeferredWork later;
  nlohmann::json err = ErrorOf(mp.HandleDeferring(Request("ADD"), later));
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("error adding container to network \"cluster\": "
                        "writing the result cache"));
  ASSERT_THAT(later.Run(), IsOk());
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_THAT(
      CallSummary(),
      ElementsAre("ADD first eth0", "ADD second sriov0", "ADD third net2",
                  "DEL third net2", "DEL second sriov0", "DEL first eth0"));
  EXPECT_EQ(nlohmann::json::parse(
                calls[5].stdin_json)["prevResult"]["interfaces"][0]["mac"],
            "02:00:00:00:00:01");
  for (size_t i = 3; i < 6; ++i)
    EXPECT_TRUE(
        nlohmann::json::parse(calls[i].stdin_json).contains("prevResult"))
        << i;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
}

// The saved delegate list is written while the first delegate runs; one
// that cannot be written fails the ADD once that delegate is done: it is
// deleted (with its result as prevResult), no other delegate runs, and the
// error is the write's, naming the file.
TEST_F(MetaPluginTest, SavedListWriteFailureRollsBackTheDelegateThatRan) {
  std::filesystem::create_directories(dir_ / "cni/cid1/in-the-way");
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(mp.Handle(Request("ADD")));
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr((dir_ / "cni/cid1").string()));
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  EXPECT_THAT(CallSummary(), ElementsAre("ADD first eth0", "DEL first eth0"));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(
      nlohmann::json::parse(calls[1].stdin_json).contains("prevResult"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/results/cluster-cid1-eth0"));
  EXPECT_EQ(writer_.writes(), 0);
}

// A first delegate refused before its plugin starts (a network name that
// cannot name a cache file) fails the ADD without writing the saved list:
// the rollback's DEL is not the exec that writes it.
TEST_F(MetaPluginTest, RefusedBeforeItsExecTheListIsNeverWritten) {
  std::ofstream(dir_ / "conf/10-cluster.conf", std::ios::trunc)
      << R"({"cniVersion":"1.0.0","name":"_cluster","type":"first"})";
  // The plugin notes whether the list is there while it runs (after the
  // time a write during its exec takes).
  const std::filesystem::path seen = dir_ / "list-seen";
  testing::WriteFakePlugin(dir_ / "bin", "first", log(), 1,
                           "sleep 0.3; [ -e '" + (dir_ / "cni/cid1").string() +
                               "' ] && touch '" + seen.string() + "'");
  MetaPlugin mp(Options());
  nlohmann::json err = ErrorOf(
      mp.Handle(Request("ADD", Config().replace(Config().find("\"cluster\""), 9,
                                                "\"_cluster\""))));
  EXPECT_THAT(err["msg"].get<std::string>(),
              HasSubstr("is not a valid cache file name"));
  EXPECT_THAT(CallSummary(), ElementsAre("DEL first eth0"));
  EXPECT_FALSE(std::filesystem::exists(seen));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
}

// DEL and CHECK read the saved list and the result caches back from what
// this daemon remembers of them (parse_memo.h) exactly as a daemon that
// must parse them (restarted since the ADD): each delegate gets the same
// command, arguments and stdin, prevResult with its default-route edit
// included.
TEST_F(MetaPluginTest, DelAndCheckFromTheMemoAreTheCallsFromTheFiles) {
  MetaPluginOptions o = DefaultRouteOnNetA();
  auto check_and_del = [&](MetaPlugin& adder, MetaPlugin& deleter) {
    std::filesystem::remove(log());
    EXPECT_EQ(adder.Handle(Request("ADD")).exit_code, 0);
    std::filesystem::remove(log());
    EXPECT_EQ(deleter.Handle(Request("CHECK")).exit_code, 0);
    DeferredWork later;
    EXPECT_EQ(deleter.HandleDeferring(Request("DEL"), later).exit_code, 0);
    EXPECT_THAT(later.Run(), IsOk());
    return ReadFakePluginCalls(log());
  };
  MetaPlugin same(o);
  std::vector<FakePluginCall> memo = check_and_del(same, same);
  EXPECT_EQ(same.parse_memo_hits(), 1u + 3u + 1u + 3u);  // CHECK, DEL
  MetaPlugin adder(o), restarted(o);
  std::vector<FakePluginCall> parsed = check_and_del(adder, restarted);
  EXPECT_EQ(restarted.parse_memo_hits(), 0u);
  ASSERT_EQ(memo.size(), 6u);
  ASSERT_EQ(parsed.size(), memo.size());
  for (size_t i = 0; i < memo.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(memo[i].command, parsed[i].command);
    EXPECT_EQ(memo[i].type, parsed[i].type);
    EXPECT_EQ(memo[i].ifname, parsed[i].ifname);
    EXPECT_EQ(memo[i].args, parsed[i].args);
    EXPECT_EQ(memo[i].netns, parsed[i].netns);
    EXPECT_EQ(nlohmann::json::parse(memo[i].stdin_json),
              nlohmann::json::parse(parsed[i].stdin_json));
  }
  EXPECT_THAT(nlohmann::json::parse(memo[4].stdin_json)["prevResult"].dump(),
              HasSubstr(R"({"dst":"0.0.0.0/0","gw":"10.0.2.1"})"));
}

// A saved list changed since the ADD (here: rewritten with the cluster
// network only) is the one DEL follows, not what the daemon remembers.
TEST_F(MetaPluginTest, DelFollowsASavedListChangedSinceTheAdd) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  absl::StatusOr<std::string> text =
      ReadFileBounded(dir_ / "cni/cid1", 1 << 20);
  ASSERT_TRUE(text.ok());
  absl::StatusOr<std::vector<Attachment>> list = DecodeAttachments(*text);
  ASSERT_TRUE(list.ok());
  list->resize(1);
  ASSERT_THAT(WriteFileAtomic(dir_ / "cni/cid1", EncodeAttachments(*list), 0600,
                              false, false),
              IsOk());
  std::filesystem::remove(log());
  ASSERT_EQ(mp.Handle(Request("DEL")).exit_code, 0);
  EXPECT_THAT(CallSummary(), ElementsAre("DEL first eth0"));
}

// A failed ADD through HandleDeferring rolls back from the results kept in
// memory (DEL gets each one's prevResult) and leaves no file behind.
TEST_F(MetaPluginTest, DeferredAddFailureRollsBackWithPrevResults) {
  nads_.Put("ns1", "net-b",
            R"({"cniVersion":"1.0.0","plugins":[{"type":"missing"}]})");
  MetaPlugin mp(Options());
  DeferredWork later;
  CniResponse r = mp.HandleDeferring(Request("ADD"), later);
  EXPECT_EQ(r.exit_code, 1) << r.stdout_data;
  ASSERT_THAT(later.Run(), IsOk());
  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[2].command + " " + calls[2].type, "DEL second");
  EXPECT_EQ(calls[3].command + " " + calls[3].type, "DEL first");
  // Each DEL carried its own ADD's result.
  EXPECT_EQ(nlohmann::json::parse(
                calls[3].stdin_json)["prevResult"]["interfaces"][0]["mac"],
            "02:00:00:00:00:01");
  EXPECT_TRUE(
      nlohmann::json::parse(calls[2].stdin_json).contains("prevResult"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/results/cluster-cid1-eth0"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/results/net-a-cid1-sriov0"));
}

// The runtime may call again as soon as it has the answer: a call for the
// same container waits until the last one's deferred work is done; a call
// for another container does not.
TEST_F(MetaPluginTest, SameContainerWaitsForTheDeferredFiles) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  auto later = std::make_unique<DeferredWork>();
  ASSERT_EQ(mp.HandleDeferring(Request("DEL"), *later).exit_code, 0);
  ASSERT_TRUE(later->pending());
  ASSERT_TRUE(std::filesystem::exists(dir_ / "cni/cid1"));

  // cid2 has no saved list: its CHECK fails at once, without waiting.
  CniRequest other = Request("CHECK");
  other.env["CNI_CONTAINERID"] = "cid2";
  std::future<CniResponse> other_check =
      std::async(std::launch::async, [&] { return mp.Handle(other); });
  const bool other_waited = other_check.wait_for(std::chrono::seconds(10)) !=
                            std::future_status::ready;
  EXPECT_FALSE(other_waited);

  // cid1's CHECK waits for the DEL's removals: it then finds no list. Run
  // before them, it would find the list and pass.
  std::future<CniResponse> check = std::async(
      std::launch::async, [&] { return mp.Handle(Request("CHECK")); });
  EXPECT_EQ(check.wait_for(std::chrono::milliseconds(200)),
            std::future_status::timeout);
  EXPECT_THAT(later->Run(), IsOk());
  CniResponse r = check.get();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, HasSubstr("no delegate list for container cid1"));
  EXPECT_EQ(other_check.get().exit_code, 1);
}

// GC leaves a container whose DEL was answered but whose files are still
// being removed to that work: its delegates are not deleted a second time.
TEST_F(MetaPluginTest, GcLeavesAContainerWithDeferredRemovalsAlone) {
  MetaPlugin mp(Options());
  ASSERT_EQ(mp.Handle(Request("ADD")).exit_code, 0);
  DeferredWork later;
  ASSERT_EQ(mp.HandleDeferring(Request("DEL"), later).exit_code, 0);
  ASSERT_TRUE(later.pending());
  std::filesystem::remove(log());

  CniRequest gc = Request("GC");
  nlohmann::json in = nlohmann::json::parse(gc.stdin_data);
  in["cni.dev/valid-attachments"] = nlohmann::json::array();
  gc.stdin_data = in.dump();
  gc.env.erase("CNI_CONTAINERID");
  CniResponse r = mp.Handle(gc);
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  for (const std::string& call : CallSummary())
    EXPECT_FALSE(call.starts_with("DEL")) << call;
  ASSERT_THAT(later.Run(), IsOk());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cni/cid1"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "cni/results"));
}

}  // namespace
}  // namespace sk::netattach
