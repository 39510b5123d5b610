#include "lib/nodeconfig/render.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/strings.h"
#include "lib/deviceplugin/config.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"

namespace sk::nodeconfig {
namespace {

using ::sk::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class RenderDpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pfs_ = sk::testing::AddIntelX710(b_);  // 8086:1572, VFs 8086:154c
    auto host = sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir_.path()));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }
  sk::testing::FakeSysfsDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  std::vector<sk::testing::FakePf> pfs_;
  sysfs::HostSnapshot host_;
};

constexpr char kPolicies[] = R"(
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: vm-a}
spec:
  resourceName: intel_vfio
  nodeSelector: {sriov: "true"}
  priority: 20
  numVfs: 4
  nicSelector: {vendor: "8086", deviceID: "1572", pfNames: ["ens1f0#0-1"]}
  deviceType: vfio-pci
  linkType: eth
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: vm-b}
spec:
  resourceName: intel_vfio
  nodeSelector: {sriov: "true"}
  priority: 10
  numVfs: 4
  nicSelector: {vendor: "8086", pfNames: ["ens1f1#0-1"]}
  deviceType: vfio-pci
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: net}
spec:
  resourceName: intel_net
  nodeSelector: {sriov: "true"}
  priority: 99
  numVfs: 4
  nicSelector: {rootDevices: ["0000:3b:00.0"], pfNames: ["ens1f0#2-3"]}
  linkType: eth
  isRdma: false
  excludeTopology: true
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: other-node}
spec:
  resourceName: elsewhere
  nodeSelector: {sriov: "false"}
  numVfs: 1
  nicSelector: {vendor: "15b3"}
)";

TEST_F(RenderDpTest, GoldenConfigAsTheOperatorRendersItAndItLoads) {
  SK_ASSERT_OK_AND_ASSIGN(std::vector<Policy> ps,
                          ParsePolicies(kPolicies, "p.yaml"));
  NodeInfo node{"n1", {{"sriov", "true"}}};
  SK_ASSERT_OK_AND_ASSIGN(
      std::string cfg,
      RenderDevicePluginConfig(ps, node, sysfs::Sysfs(dir_.path()), host_));
  // Order: priority 99 (net) first, then 20 (vm-a), then 10 (vm-b) which
  // unions into vm-a's entry.
  EXPECT_EQ(
      cfg,
      R"({"resourceList":[{"resourceName":"intel_net","excludeTopology":true,)"
      R"("selectors":{"pfNames":["ens1f0#2-3"],"rootDevices":["0000:3b:00.0"],)"
      R"("linkTypes":["ether"],"IsRdma":false,"NeedVhostNet":false}},)"
      R"({"resourceName":"intel_vfio","selectors":{"vendors":["8086"],)"
      R"("devices":["154c"],"drivers":["vfio-pci"],)"
      R"("pfNames":["ens1f0#0-1","ens1f1#0-1"],"IsRdma":false,)"
      R"("NeedVhostNet":false}}]})"
      "\n");
  SK_ASSERT_OK_AND_ASSIGN(
      deviceplugin::Config loaded,
      deviceplugin::ParseConfig(cfg, "config.json", "openshift.io"));
  EXPECT_THAT(loaded.warnings, IsEmpty());
  EXPECT_THAT(loaded.pool_errors, IsEmpty());
  ASSERT_THAT(loaded.resources, SizeIs(2));
  EXPECT_EQ(loaded.resources[1].FullName(), "openshift.io/intel_vfio");
  EXPECT_THAT(loaded.resources[1].selectors[0].drivers,
              ElementsAre("vfio-pci"));
  EXPECT_TRUE(loaded.resources[0].exclude_topology);
}

TEST_F(RenderDpTest, UnknownVfDeviceIdIsAnErrorNamingIt) {
  Policy p;
  p.name = "x";
  p.resource_name = "r";
  p.num_vfs = 2;
  p.nic_selector.device_id = "abcd";
  EXPECT_THAT(RenderDevicePluginConfig({p}, NodeInfo{"n", {}},
                                       sysfs::Sysfs(dir_.path()), host_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("deviceID \"abcd\"")));
  p.num_vfs = 0;  // PF device ID as is
  SK_ASSERT_OK_AND_ASSIGN(
      std::string cfg,
      RenderDevicePluginConfig({p}, NodeInfo{"n", {}},
                               sysfs::Sysfs(dir_.path()), host_));
  EXPECT_THAT(cfg, HasSubstr(R"("devices":["abcd"])"));
}

TEST(RenderNadTest, MinimalNetworkGetsExplicitVlanAndEmptyIpam) {
  SK_ASSERT_OK_AND_ASSIGN(std::vector<SriovNetwork> ns,
                          ParseSriovNetworks(R"(
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetwork
metadata: {name: net1, namespace: sriov-network-operator}
spec:
  resourceName: intel_vfio
  networkNamespace: vms
)",
                                             "n.yaml"));
  ASSERT_THAT(ns, SizeIs(1));
  EXPECT_EQ(
      RenderNad(ns[0], {}).dump(),
      R"({"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition",)"
      R"("metadata":{"name":"net1","namespace":"vms","annotations":{)"
      R"("k8s.v1.cni.cncf.io/resourceName":"openshift.io/intel_vfio",)"
      R"("sriovnetwork.openshift.io/owner-ref":)"
      R"("SriovNetwork.sriovnetwork.openshift.io/sriov-network-operator/net1"}},)"
      R"("spec":{"config":"{ \"cniVersion\":\"1.0.0\", \"name\":\"net1\",)"
      R"(\"type\":\"sriov\",\"vlan\":0,\"vlanQoS\":0,\"logLevel\":\"info\",)"
      R"(\"ipam\":{} }"}})");
}

// `kind:` with no value is null in YAML (found by sriov_policy_fuzzer: it
// threw nlohmann's type_error out of the parser).
TEST(RenderNadTest, KindThatIsNotAStringIsSkippedWithAWarning) {
  std::vector<std::string> warnings;
  SK_ASSERT_OK_AND_ASSIGN(std::vector<SriovNetwork> ns,
                          ParseSriovNetworks(R"(
apiVersion: sriovnetwork.openshift.io/v1
kind:
metadata: {name: n2, namespace: ns2}
spec: {resourceName: r}
---
kind: [SriovNetworkList]
items: []
)",
                                             "in.yaml", &warnings));
  EXPECT_TRUE(ns.empty());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("in.yaml document 1: kind \"\" is not "
                                     "SriovNetwork; skipped"));
}

// What the operator's template would paste unescaped is refused, naming the
// field (found by sriov_policy_fuzzer: a quote in logFile rendered a config
// that is not JSON).
TEST(RenderNadTest, ValuesTheTemplateCannotQuoteAreRefused) {
  auto parse = [](const std::string& meta, const std::string& spec) {
    return ParseSriovNetworks(sk::StrCat("kind: SriovNetwork\nmetadata: ", meta,
                                         "\nspec: ", spec, "\n"),
                              "in.yaml")
        .status();
  };
  EXPECT_THAT(parse("{name: n}", R"({resourceName: r, logFile: 'a"b'})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("spec.logFile"), HasSubstr("a\\\"b"))));
  EXPECT_THAT(
      parse("{name: n}", R"({resourceName: r, logFile: "a\\b"})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.logFile")));
  EXPECT_THAT(parse(R"({name: 'N"x'})", "{resourceName: r}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("metadata.name"), HasSubstr("N\\\"x"))));
  SK_EXPECT_OK(
      parse("{name: net-1.a}", "{resourceName: r, logFile: /var/log/x.log}"));
}

TEST(RenderNadTest, EveryOptionInTheOperatorsOrder) {
  SK_ASSERT_OK_AND_ASSIGN(std::vector<SriovNetwork> ns,
                          ParseSriovNetworks(R"(
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetwork
metadata: {name: n2, namespace: ns2}
spec:
  resourceName: r
  vlan: 100
  vlanQoS: 3
  vlanProto: 802.1ad
  spoofChk: "off"
  trust: "on"
  linkState: enable
  minTxRate: 10
  maxTxRate: 1000
  capabilities: '{"mac": true}'
  logLevel: debug
  logFile: /var/log/sriov.log
  ipam: |
    { "type": "host-local",
      "subnet": "10.56.217.0/24" }
  metaPlugins: '{"type": "tuning", "sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1"}}'
)",
                                             "n.yaml"));
  ASSERT_THAT(ns, SizeIs(1));
  std::string c = RenderNadConfig(ns[0]);
  EXPECT_EQ(
      c,
      R"({ "cniVersion":"1.0.0", "name":"n2","plugins": [ {"type":"sriov",)"
      R"("vlan":100,"spoofchk":"off","trust":"on","vlanQoS":3,)"
      R"("vlanProto":"802.1ad","min_tx_rate":10,"max_tx_rate":1000,)"
      R"("capabilities":{"mac": true},"link_state":"enable",)"
      R"("logLevel":"debug","logFile":"/var/log/sriov.log",)"
      R"("ipam":{"type":"host-local","subnet":"10.56.217.0/24"} }, )"
      R"({"type": "tuning", "sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1"}} ] })");
  // The rendered config is JSON.
  EXPECT_TRUE(nlohmann::json::accept(c));
  EXPECT_EQ(
      RenderNad(ns[0], {.resource_prefix =
                            "example.com"})["metadata"]["annotations"]
                                           ["k8s.v1.cni.cncf.io/resourceName"],
      "example.com/r");
}

TEST(RenderNadTest, BadValuesNameNetworkFieldAndValue) {
  auto parse = [](const std::string& spec) {
    return ParseSriovNetworks(
        "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetwork\n"
        "metadata: {name: n}\nspec:\n  resourceName: r\n" +
            spec,
        "n.yaml");
  };
  EXPECT_THAT(parse("  vlan: 4095\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SriovNetwork \"n\" (n.yaml): spec.vlan: "
                                 "expected an integer in 0..4094, got 4095")));
  EXPECT_THAT(
      parse("  spoofChk: maybe\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.spoofChk: expected one of \"on\", \"off\", "
                         "got \"maybe\"")));
  EXPECT_THAT(
      parse("  ipam: '{not json'\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.ipam: expected a JSON object in a string, "
                         "got \"{not json\"")));
  EXPECT_THAT(
      parse("  vlanId: 3\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.vlanId: expected a known field, got unknown "
                         "field")));
}

// Every field kind's error has the FieldReader shape
// "<who>: <path>: expected <what>, got <value>".
TEST(RenderNadTest, ErrorShapePerFieldKind) {
  const struct {
    const char* name;
    const char* doc;
    const char* message;
  } cases[] = {
      {"wrong type: integer",
       "metadata: {name: n}\nspec: {resourceName: r, "
       "vlan: \"100\"}",
       "SriovNetwork \"n\" (n.yaml): spec.vlan: expected an integer in "
       "0..4094, got \"100\""},
      {"wrong type: string",
       "metadata: {name: n}\nspec: {resourceName: r, "
       "ipam: {type: host-local}}",
       "SriovNetwork \"n\" (n.yaml): spec.ipam: expected a string, got "
       "{\"type\":\"host-local\"}"},
      {"wrong type: enum",
       "metadata: {name: n}\nspec: {resourceName: r, "
       "trust: true}",
       "SriovNetwork \"n\" (n.yaml): spec.trust: expected one of \"on\", "
       "\"off\", got true"},
      {"wrong type: metadata", "metadata: [n]\nspec: {resourceName: r}",
       "n.yaml: metadata: expected an object, got [\"n\"]"},
      {"missing required: resourceName", "metadata: {name: n}\nspec: {}",
       "SriovNetwork \"n\" (n.yaml): spec.resourceName: expected a "
       "resource name, got nothing"},
      {"missing required: spec", "metadata: {name: n}",
       "SriovNetwork \"n\" (n.yaml): spec: expected an object, got "
       "nothing"},
      {"missing required: name", "metadata: {}\nspec: {resourceName: r}",
       "n.yaml: metadata.name: expected a name, got nothing"},
      {"out of range: vlanQoS",
       "metadata: {name: n}\nspec: {resourceName: "
       "r, vlanQoS: 8}",
       "SriovNetwork \"n\" (n.yaml): spec.vlanQoS: expected an integer in "
       "0..7, got 8"},
      {"out of range: minTxRate",
       "metadata: {name: n}\nspec: "
       "{resourceName: r, minTxRate: -1}",
       "SriovNetwork \"n\" (n.yaml): spec.minTxRate: expected an integer "
       "in 0..1073741824, got -1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(
        ParseSriovNetworks(sk::StrCat("kind: SriovNetwork\n", c.doc, "\n"),
                           "n.yaml")
            .status(),
        StatusIs(absl::StatusCode::kInvalidArgument, ::testing::Eq(c.message)));
  }
}

}  // namespace
}  // namespace sk::nodeconfig
