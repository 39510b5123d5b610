#include "lib/nodeconfig/policy.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::nodeconfig {
namespace {

using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTwoPolicies[] = R"(
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata:
  name: vfio-policy
  namespace: sriov-network-operator
spec:
  resourceName: intel_vfio
  nodeSelector:
    feature.node.kubernetes.io/network-sriov.capable: "true"
  priority: 10
  mtu: 9000
  numVfs: 4
  nicSelector:
    vendor: "8086"
    pfNames: ["ens1f0#0-1"]
  deviceType: vfio-pci
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata:
  name: net-policy
spec:
  resourceName: intel_net
  nodeSelector: {}
  numVfs: 4
  nicSelector:
    pfNames: ["ens1f0#2-3"]
    rootDevices: ["0000:01:00.0"]
  linkType: eth
)";

absl::StatusOr<std::vector<Policy>> Parse(std::string_view text) {
  return ParsePolicies(text, "p.yaml");
}

TEST(PolicyTest, ParsesEveryFieldOfMultiDocumentYaml) {
  SK_ASSERT_OK_AND_ASSIGN(std::vector<Policy> ps, Parse(kTwoPolicies));
  ASSERT_THAT(ps, SizeIs(2));
  const Policy& a = ps[0];
  EXPECT_EQ(a.name, "vfio-policy");
  EXPECT_EQ(a.namespace_name, "sriov-network-operator");
  EXPECT_EQ(a.resource_name, "intel_vfio");
  EXPECT_EQ(
      a.node_selector.at("feature.node.kubernetes.io/network-sriov.capable"),
      "true");
  EXPECT_EQ(a.priority, 10);
  EXPECT_EQ(a.mtu, 9000);
  EXPECT_EQ(a.num_vfs, 4);
  EXPECT_EQ(a.nic_selector.vendor, "8086");
  EXPECT_THAT(a.nic_selector.pf_names, ElementsAre("ens1f0#0-1"));
  EXPECT_EQ(a.device_type, VfDeviceType::kVfioPci);
  const Policy& b = ps[1];
  EXPECT_EQ(b.priority, 99);  // webhook default
  EXPECT_EQ(b.device_type, VfDeviceType::kNetdevice);
  EXPECT_EQ(b.link_type, "eth");
  EXPECT_THAT(b.nic_selector.root_devices, ElementsAre("0000:01:00.0"));
}

TEST(PolicyTest, JsonAndListKindsAreAccepted) {
  SK_ASSERT_OK_AND_ASSIGN(std::vector<Policy> ps, Parse(R"({
    "apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "sriovnetwork.openshift.io/v1",
       "kind": "SriovNetworkNodePolicy", "metadata": {"name": "a"},
       "spec": {"resourceName": "r", "nodeSelector": {}, "numVfs": 2,
                "nicSelector": {"deviceID": "10c9"}, "isRdma": false,
                "externallyManaged": true, "excludeTopology": true}},
      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]})"));
  ASSERT_THAT(ps, SizeIs(1));
  EXPECT_TRUE(ps[0].externally_managed);
  EXPECT_TRUE(ps[0].exclude_topology);
  EXPECT_EQ(ps[0].nic_selector.device_id, "10c9");
}

struct BadCase {
  const char* name;
  const char* spec;  // YAML lines under spec:, indented by 2
  const char* message;
};

TEST(PolicyTest, BadFieldsNamePolicyFieldAndValue) {
  const BadCase cases[] = {
      {"unknown",
       "  resourceName: r\n  nodeSelector: {}\n  numVfs: 1\n"
       "  nicSelector: {vendr: \"8086\"}\n",
       "policy \"p\" (p.yaml): spec.nicSelector.vendr: expected a known field, "
       "got unknown field"},
      {"numVfs type",
       "  resourceName: r\n  nodeSelector: {}\n"
       "  numVfs: four\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.numVfs: expected an integer in 0..65535, got \"four\""},
      {"quoted number",
       "  resourceName: r\n  nodeSelector: {}\n"
       "  numVfs: \"4\"\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.numVfs: expected an integer in 0..65535, got \"4\""},
      {"priority",
       "  resourceName: r\n  nodeSelector: {}\n  priority: 100\n"
       "  numVfs: 1\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.priority: expected an integer in 0..99, got 100"},
      {"deviceType",
       "  resourceName: r\n  nodeSelector: {}\n  numVfs: 1\n"
       "  deviceType: vfio\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.deviceType: expected one of \"netdevice\", \"vfio-pci\", got "
       "\"vfio\""},
      {"linkType",
       "  resourceName: r\n  nodeSelector: {}\n  numVfs: 1\n"
       "  linkType: Ether\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.linkType: expected one of \"\", \"eth\", \"ETH\", \"ib\", \"IB\", "
       "got \"Ether\""},
      {"resourceName",
       "  resourceName: intel-vfio\n  nodeSelector: {}\n"
       "  numVfs: 1\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.resourceName: expected letters, digits and '_' only "
       "(^[a-zA-Z0-9_]+$), got \"intel-vfio\""},
      {"nodeSelector",
       "  resourceName: r\n  numVfs: 1\n"
       "  nicSelector: {vendor: \"8086\"}\n",
       "spec.nodeSelector: expected an object, got nothing"},
      {"eswitch",
       "  resourceName: r\n  nodeSelector: {}\n  numVfs: 1\n"
       "  eSwitchMode: offload\n  nicSelector: {vendor: \"8086\"}\n",
       "spec.eSwitchMode: expected one of \"\", \"legacy\", \"switchdev\", got "
       "\"offload\""},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string text = std::string(
                           "apiVersion: sriovnetwork.openshift.io/v1\n"
                           "kind: SriovNetworkNodePolicy\nmetadata:\n"
                           "  name: p\nspec:\n") +
                       c.spec;
    EXPECT_THAT(Parse(text), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr(c.message)));
  }
}

// Every field kind's error has the FieldReader shape
// "<who>: <path>: expected <what>, got <value>".
TEST(PolicyTest, ErrorShapePerFieldKind) {
  const struct {
    const char* name;
    const char* text;
    const char* message;
  } cases[] = {
      {"wrong type: string",
       "metadata: {name: p}\nspec: {resourceName: [r], nodeSelector: {}, "
       "numVfs: 1, nicSelector: {vendor: \"8086\"}}\n",
       "policy \"p\" (p.yaml): spec.resourceName: expected a string, got "
       "[\"r\"]"},
      {"wrong type: bool",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "numVfs: 1, isRdma: \"yes\", nicSelector: {vendor: \"8086\"}}\n",
       "policy \"p\" (p.yaml): spec.isRdma: expected true or false, got "
       "\"yes\""},
      {"wrong type: list element",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "numVfs: 1, nicSelector: {pfNames: [ens1, 7]}}\n",
       "policy \"p\" (p.yaml): spec.nicSelector.pfNames[1]: expected a "
       "string, got 7"},
      {"wrong type: map value",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {a: "
       "[1]}, numVfs: 1, nicSelector: {vendor: \"8086\"}}\n",
       "policy \"p\" (p.yaml): spec.nodeSelector.a: expected a string, got "
       "[1]"},
      {"wrong type: object",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "numVfs: 1, nicSelector: ens1}\n",
       "policy \"p\" (p.yaml): spec.nicSelector: expected an object, got "
       "\"ens1\""},
      {"missing required: numVfs",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "nicSelector: {vendor: \"8086\"}}\n",
       "policy \"p\" (p.yaml): spec.numVfs: expected an integer in "
       "0..65535, got nothing"},
      {"missing required: spec", "metadata: {name: p}\n",
       "policy \"p\" (p.yaml): spec: expected an object, got nothing"},
      {"missing required: name", "metadata: {namespace: n}\nspec: {}\n",
       "p.yaml: metadata.name: expected a name, got nothing"},
      {"out of range: mtu",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "mtu: 0, numVfs: 1, nicSelector: {vendor: \"8086\"}}\n",
       "policy \"p\" (p.yaml): spec.mtu: expected an integer in 1..65536, "
       "got 0"},
      {"out of range: numVfs",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "numVfs: -1, nicSelector: {vendor: \"8086\"}}\n",
       "policy \"p\" (p.yaml): spec.numVfs: expected an integer in "
       "0..65535, got -1"},
      {"not supported: bridge",
       "metadata: {name: p}\nspec: {resourceName: r, nodeSelector: {}, "
       "numVfs: 1, nicSelector: {vendor: \"8086\"}, bridge: {ovs: {}}}\n",
       "policy \"p\" (p.yaml): spec.bridge: expected nothing (software "
       "bridges (OVS) are not supported by sriovkit), got {\"ovs\":{}}"},
      {"list without items", "apiVersion: v1\nkind: List\n",
       "p.yaml document 1: items: expected a list, got nothing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string text = std::string(
                           "apiVersion: sriovnetwork.openshift.io/v1\n"
                           "kind: SriovNetworkNodePolicy\n") +
                       c.text;
    if (std::string_view(c.name) == "list without items") text = c.text;
    EXPECT_THAT(
        Parse(text).status(),
        StatusIs(absl::StatusCode::kInvalidArgument, ::testing::Eq(c.message)));
  }
}

TEST(PolicyTest, PfNameRangesParseAsTheOperatorDoes) {
  SK_ASSERT_OK_AND_ASSIGN(PfNameRange r, ParsePfNameRange("ens1f0#2-5"));
  EXPECT_EQ(r.name, "ens1f0");
  EXPECT_EQ(r.start, 2);
  EXPECT_EQ(r.end, 5);
  SK_ASSERT_OK_AND_ASSIGN(r, ParsePfNameRange("ens1f0"));
  EXPECT_EQ(r.start, -1);
  EXPECT_EQ(r.end, -1);
  EXPECT_THAT(ParsePfNameRange("ens1f0#5-2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("end is smaller than its start")));
  EXPECT_THAT(ParsePfNameRange("ens1f0#1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePfNameRange("a#1-2#3"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pfs_ = sk::testing::AddIntel82576(b_);  // 2 PFs, 7 of 8 VFs
    auto host = sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir_.path()));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    node_ = NodeInfo{"n1", {{"sriov", "true"}}};
  }
  std::string PfName() const { return pfs_[0].netdev; }
  Policy Make(std::string name, int num_vfs, std::string pf) {
    Policy p;
    p.name = std::move(name);
    p.source = "t";
    p.resource_name = "r_" + p.name;
    p.num_vfs = num_vfs;
    p.nic_selector.pf_names.push_back(std::move(pf));
    return p;
  }
  sk::testing::FakeSysfsDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  std::vector<sk::testing::FakePf> pfs_;
  sysfs::HostSnapshot host_;
  NodeInfo node_;
};

TEST_F(ValidateTest, NumVfsAboveTotalVfsNamesPfAndLimit) {
  std::vector<Policy> ps = {Make("big", 9, PfName())};
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy \"big\" (t): spec.numVfs: 9 exceeds "
                                 "sriov_totalvfs 8 of PF 0000:01:00.0")));
  ps[0].num_vfs = 7;
  SK_EXPECT_OK(ValidatePolicies(ps, node_, host_));
}

TEST_F(ValidateTest, RangeBeyondNumVfsIsRejected) {
  std::vector<Policy> ps = {Make("r", 4, PfName() + "#2-4")};
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.nicSelector.pfNames[0]")));
}

TEST_F(ValidateTest, OverlappingRangesAreRejectedDisjointAccepted) {
  std::vector<Policy> ps = {Make("a", 4, PfName() + "#0-1"),
                            Make("b", 4, PfName() + "#1-3")};
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("overlaps policy")));
  ps[1].nic_selector.pf_names[0] = PfName() + "#2-3";
  SK_EXPECT_OK(ValidatePolicies(ps, node_, host_));
  // Two range-less selections of one PF overlap (the operator's -1..-1).
  ps = {Make("a", 4, PfName()), Make("b", 4, PfName())};
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("overlaps policy")));
  // Not when one of them does not select the node.
  ps[1].node_selector["sriov"] = "false";
  SK_EXPECT_OK(ValidatePolicies(ps, node_, host_));
}

TEST_F(ValidateTest, VfioWithRdmaAndEmptySelectorAreRejected) {
  std::vector<Policy> ps = {Make("a", 2, PfName())};
  ps[0].device_type = VfDeviceType::kVfioPci;
  ps[0].is_rdma = true;
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("conflicts with isRdma")));
  ps[0].is_rdma = false;
  ps[0].nic_selector = {};
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.nicSelector: at least one of")));
}

TEST_F(ValidateTest, NoMatchingPfIsAWarning) {
  std::vector<Policy> ps = {Make("a", 2, "nope0")};
  std::vector<std::string> w;
  SK_EXPECT_OK(ValidatePolicies(ps, node_, host_, &w));
  EXPECT_THAT(w, ElementsAre(HasSubstr("none of its PFs")));
}

TEST_F(ValidateTest, ExternallyManagedCannotAskForMoreVfsThanExist) {
  std::vector<Policy> ps = {Make("a", 7, PfName())};
  ps[0].externally_managed = true;
  SK_EXPECT_OK(ValidatePolicies(ps, node_, host_));  // 7 exist
  b_.WriteAttribute(pfs_[0].bdf, "sriov_numvfs", "3\n");
  SK_ASSERT_OK_AND_ASSIGN(
      host_, sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir_.path())));
  EXPECT_THAT(ValidatePolicies(ps, node_, host_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("higher than the VFs created externally")));
}

TEST(NodeTest, LabelsFromFileAndSelection) {
  sk::testing::TempDir dir;
  std::filesystem::path f = dir.path() / "labels";
  { std::ofstream(f) << "# comment\nsriov=true\nzone=a\n"; }
  SK_ASSERT_OK_AND_ASSIGN(NodeInfo n, LoadNodeInfo("w1", f));
  EXPECT_EQ(n.labels.at("kubernetes.io/hostname"), "w1");
  Policy p;
  p.node_selector = {{"sriov", "true"}};
  EXPECT_TRUE(SelectsNode(p, n));
  p.node_selector["zone"] = "b";
  EXPECT_FALSE(SelectsNode(p, n));
  { std::ofstream(f) << "metadata:\n  labels:\n    zone: b\n"; }
  SK_ASSERT_OK_AND_ASSIGN(n, LoadNodeInfo("w1", f));
  EXPECT_EQ(n.labels.at("zone"), "b");
  { std::ofstream(f) << "metadata:\n  labels:\n    zone: [b]\n"; }
  EXPECT_THAT(
      LoadNodeInfo("w1", f).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::Eq(f.string() + ": metadata.labels.zone: expected a "
                                          "string, got [\"b\"]")));
}

TEST(LoadTest, DirectoryDuplicateNamesAndBounds) {
  sk::testing::TempDir dir;
  {
    std::ofstream(dir.path() / "a.yaml") << kTwoPolicies;
    std::ofstream(dir.path() / "README.md") << "not a policy";
  }
  SK_ASSERT_OK_AND_ASSIGN(std::vector<Policy> ps, LoadPolicies(dir.path()));
  EXPECT_THAT(ps, SizeIs(2));
  { std::ofstream(dir.path() / "b.yml") << kTwoPolicies; }
  EXPECT_THAT(LoadPolicies(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("defined more than once")));
  EXPECT_THAT(LoadPolicies(dir.path() / "missing.yaml"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Parse(std::string(100, '[')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParsePolicyObjectsTest, ApiObjectsParseLikeFilesAndNameTheObject) {
  // LIST items may come without apiVersion/kind.
  nlohmann::json item = {{"metadata", {{"name", "p1"}, {"namespace", "ns"}}},
                         {"spec",
                          {{"resourceName", "r1"},
                           {"nodeSelector", nlohmann::json::object()},
                           {"numVfs", 4},
                           {"nicSelector", {{"pfNames", {"ens1f0"}}}}}},
                         {"status", nlohmann::json::object()}};
  nlohmann::json other = {{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"metadata", {{"name", "cm"}}}};
  std::vector<std::string> warnings;
  auto ps = ParsePolicyObjects({item, other}, "API", &warnings);
  ASSERT_TRUE(ps.ok()) << ps.status();
  ASSERT_THAT(*ps, SizeIs(1));
  EXPECT_EQ((*ps)[0].name, "p1");
  EXPECT_EQ((*ps)[0].namespace_name, "ns");
  EXPECT_EQ((*ps)[0].num_vfs, 4);
  EXPECT_EQ((*ps)[0].source, "API ns/p1");
  EXPECT_THAT(warnings, ElementsAre(HasSubstr("ConfigMap")));

  item["spec"]["numVfs"] = "four";
  auto bad = ParsePolicyObjects({item}, "API");
  EXPECT_THAT(bad.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(bad.status().message(), HasSubstr("policy \"p1\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("API ns/p1"));
  EXPECT_THAT(bad.status().message(), HasSubstr("spec.numVfs"));
  EXPECT_THAT(ParsePolicyObjects({nlohmann::json::array()}, "API").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sk::nodeconfig
