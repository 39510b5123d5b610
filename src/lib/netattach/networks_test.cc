#include "lib/netattach/networks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"

namespace sk::netattach {
namespace {

using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<std::vector<NetworkSelection>> Parse(std::string_view v) {
  return ParseNetworkSelections(v, "ns1", "pod1", "ns1");
}

TEST(NetworksTest, TextForm) {
  auto n = Parse(" sriov-a, other/sriov-b@sriov0 ,sriov-a");
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(n->size(), 3u);
  EXPECT_EQ((*n)[0].name, "sriov-a");
  EXPECT_EQ((*n)[0].ns, "ns1");
  EXPECT_EQ((*n)[0].interface, "");
  EXPECT_EQ((*n)[1].name, "sriov-b");
  EXPECT_EQ((*n)[1].ns, "other");
  EXPECT_EQ((*n)[1].interface, "sriov0");
  EXPECT_EQ((*n)[2].name, "sriov-a");
}

TEST(NetworksTest, EmptyIsNoNetworks) {
  auto n = Parse("  ");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->empty());
}

TEST(NetworksTest, JsonForm) {
  auto n = Parse(R"([
    {"name":"a","interface":"net5","mac":"02:00:00:00:00:01",
     "ips":["10.1.0.5/24","fd00::5"],"default-route":["10.1.0.1"],
     "cni-args":{"foo":"bar"},"deviceID":"0000:03:02.0",
     "bandwidth":{"ingressRate":1000},"portMappings":[{"hostPort":80}],
     "infiniband-guid":"00:11:22:33:44:55:66:77","unknown":1},
    {"name":"b","namespace":"other","interfaceRequest":"legacy0"}])");
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(n->size(), 2u);
  const NetworkSelection& a = (*n)[0];
  EXPECT_EQ(a.ns, "ns1");
  EXPECT_EQ(a.interface, "net5");
  EXPECT_EQ(a.mac, "02:00:00:00:00:01");
  EXPECT_THAT(a.ips, ElementsAre("10.1.0.5/24", "fd00::5"));
  EXPECT_THAT(a.default_route, ElementsAre("10.1.0.1"));
  EXPECT_EQ(a.cni_args->dump(), R"({"foo":"bar"})");
  EXPECT_EQ(a.device_id, "0000:03:02.0");
  EXPECT_EQ(a.bandwidth->dump(), R"({"ingressRate":1000})");
  EXPECT_EQ(a.port_mappings->dump(), R"([{"hostPort":80}])");
  EXPECT_EQ(a.infiniband_guid, "00:11:22:33:44:55:66:77");
  EXPECT_EQ((*n)[1].ns, "other");
  EXPECT_EQ((*n)[1].interface, "legacy0");
}

TEST(NetworksTest, InterfaceWinsOverLegacyKey) {
  auto n = Parse(R"([{"name":"a","interface":"x1","interfaceRequest":"x2"}])");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)[0].interface, "x1");
}

TEST(NetworksTest, ErrorsNamePodAndElement) {
  struct Case {
    const char* value;
    const char* want;
  } cases[] = {
      {"a/b/c", "pod ns1/pod1: network 0 (\"a/b/c\"): more than one '/'"},
      {"ok, a@b@c", "network 1 (\"a@b@c\"): more than one '@'"},
      {"Upper", "\"Upper\" is not a DNS-1123 label"},
      {"ns_x/a", "\"ns_x\" is not a DNS-1123 label"},
      {"-a", "\"-a\" is not a DNS-1123 label"},
      {"a@waytoolonginterface0", "interface name \"waytoolonginterface0\""},
      {"a@", "interface name \"\""},
      {"a,,b", "network 1 (\"\"): empty network name"},
      {R"([{"name":"a","mac":"zz:00:00:00:00:00"}])",
       "pod ns1/pod1: annotation k8s.v1.cni.cncf.io/networks: [0].mac: "
       "expected a MAC address, got \"zz:00:00:00:00:00\""},
      {R"([{"name":"a"},{"name":"b","ips":["10.0.0.300"]}])",
       "[1].ips[0]: expected an IP or CIDR, got \"10.0.0.300\""},
      {R"([{"name":"a","ips":["10.0.0.1/33"]}])", "\"10.0.0.1/33\""},
      {R"([{"name":"a","ips":"10.0.0.1"}])",
       "[0].ips: expected a list of strings, got \"10.0.0.1\""},
      {R"([{"name":"a","default-route":["10.0.0.0/8"]}])",
       "[0].default-route[0]: expected an IP address, got "
       "\"10.0.0.0/8\""},
      {R"([{"name":"a","interface":"a b"}])",
       "[0].interface: expected an interface name of 1-15 characters "
       "without '/' or whitespace, got \"a b\""},
      {R"([{"name":"a","interfaceRequest":"x/y"}])",
       "[0].interfaceRequest: expected an interface name"},
      {R"([{"namespace":"x"}])",
       "[0].name: expected a network name, got nothing"},
      {R"([{"name":"../etc"}])",
       "[0].name: expected an object name (DNS-1123 subdomain), got "
       "\"../etc\""},
      {R"([{"name":"a","namespace":"A"}])",
       "[0].namespace: expected a namespace (DNS-1123 label), got \"A\""},
      {R"([{"name":"a","cni-args":[1]}])",
       "[0].cni-args: expected an object, got [1]"},
      {R"([{"name":"a","portMappings":{}}])",
       "[0].portMappings: expected a list, got {}"},
      {R"([{"name":"a","infiniband-guid":"x"}])",
       "[0].infiniband-guid: expected a GUID, got \"x\""},
      {R"([{"name":5}])", "[0].name: expected a string, got 5"},
      {R"([1])",
       "pod ns1/pod1: annotation k8s.v1.cni.cncf.io/networks: [0]: "
       "expected an object, got 1"},
      {R"({"name":"a"})", "JSON form must be a list, got object"},
      {R"([{"name":"a")", "not valid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    EXPECT_THAT(
        Parse(c.value).status(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(NetworksTest, BoundsSizeAndCount) {
  std::string many;
  for (size_t i = 0; i <= kMaxNetworkElements; ++i)
    many += (i ? "," : "") + std::string("a");
  EXPECT_THAT(Parse(many).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceed the limit of 128")));
  EXPECT_THAT(Parse(std::string(kMaxNetworksAnnotationBytes + 1, 'a')).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("pod ns1/pod1: annotation")));
  std::string deep(40, '[');
  EXPECT_THAT(Parse(deep).status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("nested deeper")));
}

TEST(NetworksTest, ValidatorsTable) {
  for (const char* mac : {"02:00:00:00:00:01", "02-00-00-00-00-01",
                          "0200.0000.0001", "00:11:22:33:44:55:66:77"})
    EXPECT_TRUE(IsValidHardwareAddr(mac)) << mac;
  for (const char* mac : {"", "02:00:00:00:00", "02:00-00:00:00:01",
                          "0200.0000.000g", "020000000001"})
    EXPECT_FALSE(IsValidHardwareAddr(mac)) << mac;
  for (const char* ip : {"10.0.0.1", "10.0.0.0/8", "fd00::1", "fd00::/64"})
    EXPECT_TRUE(IsValidIpOrCidr(ip)) << ip;
  for (const char* ip :
       {"", "10.0.0", "10.0.0.0/", "fd00::/129", "a/8", "10.0.0.1/-1"})
    EXPECT_FALSE(IsValidIpOrCidr(ip)) << ip;
  EXPECT_TRUE(IsValidIfName("net1"));
  EXPECT_FALSE(IsValidIfName(".."));
  EXPECT_FALSE(IsValidIfName("1234567890123456"));
  EXPECT_TRUE(IsDns1123Subdomain("a.b-c"));
  EXPECT_FALSE(IsDns1123Subdomain("a..b"));
}

}  // namespace
}  // namespace sk::netattach
