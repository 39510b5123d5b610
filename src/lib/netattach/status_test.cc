#include "lib/netattach/status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::netattach {
namespace {

TEST(NetworkStatusTest, GoldenClusterAndSriovEntries) {
  nlohmann::json cluster = nlohmann::json::parse(R"({
    "cniVersion":"1.0.0",
    "interfaces":[{"name":"cni0","mac":"aa:aa:aa:aa:aa:aa"},
                  {"name":"veth1","mac":"bb:bb:bb:bb:bb:bb"},
                  {"name":"eth0","mac":"0a:58:0a:f4:01:05","sandbox":"/run/netns/x"}],
    "ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1","interface":2},
           {"address":"fd00:0:0::5/64","interface":2}],
    "routes":[{"dst":"10.0.0.0/8","gw":"10.244.1.254"},
              {"dst":"0.0.0.0/0","gw":"10.244.1.1"},
              {"dst":"::/0","gw":"fd00::1"}],
    "dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"],"domain":""}})");
  nlohmann::json sriov = nlohmann::json::parse(R"({
    "cniVersion":"0.4.0",
    "interfaces":[{"name":"net1","mac":"ca:fe:c0:ff:ee:00","mtu":1500,"sandbox":"/run/netns/x"}],
    "ips":[{"version":"4","address":"10.56.217.2/24","interface":0}]})");
  nlohmann::json dev = nlohmann::json::parse(
      R"({"version":"1.1.0","type":"pci","extra":1,"pci":{"pci-address":"0000:af:06.0"}})");
  std::vector<nlohmann::ordered_json> all =
      NetworkStatusEntries("cbr0", cluster, true, std::nullopt);
  for (auto& e : NetworkStatusEntries("ns1/sriov-a", sriov, false, dev))
    all.push_back(e);
  EXPECT_EQ(
      NetworkStatusJson(all),
      R"([{"name":"cbr0","interface":"eth0","ips":["10.244.1.5","fd00::5"],)"
      R"("mac":"0a:58:0a:f4:01:05","default":true,)"
      R"("dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]},)"
      R"("gateway":["10.244.1.1","fd00::1"]},)"
      R"({"name":"ns1/sriov-a","interface":"net1","ips":["10.56.217.2"],)"
      R"("mac":"ca:fe:c0:ff:ee:00","mtu":1500,"dns":{},)"
      R"("device-info":{"type":"pci","version":"1.1.0",)"
      R"("pci":{"pci-address":"0000:af:06.0"}}}])");
}

TEST(NetworkStatusTest, NoSandboxInterfaceGivesOneEntryWithAllIps) {
  nlohmann::json r = nlohmann::json::parse(
      R"({"ips":[{"address":"10.0.0.2/24"},{"address":"10.0.1.2/24","interface":5}]})");
  EXPECT_EQ(
      NetworkStatusJson(NetworkStatusEntries("n", r, false, std::nullopt)),
      R"([{"name":"n","ips":["10.0.0.2","10.0.1.2"],"dns":{}}])");
}

TEST(NetworkStatusTest, DefaultOnlyOnFirstSandboxInterface) {
  nlohmann::json r = nlohmann::json::parse(
      R"({"interfaces":[{"name":"a","sandbox":"/x"},{"name":"b","sandbox":"/x"}]})");
  auto e = NetworkStatusEntries("n", r, true, std::nullopt);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0]["default"], true);
  EXPECT_FALSE(e[1].contains("default"));
  EXPECT_FALSE(
      NetworkStatusEntries("n", r, false, std::nullopt)[0].contains("default"));
}

TEST(NetworkStatusTest, MalformedResultDoesNotThrow) {
  nlohmann::json r = nlohmann::json::parse(
      R"({"interfaces":[1,{"sandbox":5}],"ips":[{"address":7},"x"],"routes":[{"dst":"0.0.0.0/0"}],"dns":[]})");
  EXPECT_EQ(
      NetworkStatusJson(NetworkStatusEntries("n", r, false, std::nullopt)),
      R"([{"name":"n","dns":{}}])");
}

}  // namespace
}  // namespace sk::netattach
