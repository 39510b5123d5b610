#include "lib/kubevirt/launcher_pod.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/testdata.h"

namespace sk::kubevirt {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const std::string kTestdata = SK_KUBEVIRT_TESTDATA;

std::string ReadTestdata(const std::string& name) {
  return ::sk::testing::ReadTestFile(kTestdata, name);
}

// Hash values from KubeVirt's own tests and documentation: the network
// "test1" maps to pod1b4f0e98519 (generator_test.go's Multus annotation
// example) and "blue" to pod16477688c0e (the VMI status example).
TEST(PodInterfaceNameTest, HashedMatchesKubevirtExamples) {
  EXPECT_EQ(HashedPodInterfaceName("test1"), "pod1b4f0e98519");
  EXPECT_EQ(HashedPodInterfaceName("blue"), "pod16477688c0e");
  // 14 characters: "-nic" still fits in IFNAMSIZ-1 = 15... with 11 hex.
  EXPECT_EQ(HashedPodInterfaceName("x").size(), 14u);
  EXPECT_EQ(HashedPodInterfaceName(""), "pode3b0c44298f");  // SHA-256("")
}

Vmi ThreeNetworks() {
  Vmi v;
  v.source_kind = "VirtualMachineInstance";
  v.name = "vmi";
  v.namespace_ = "ns";
  auto add = [&](const char* name, const char* binding, const char* nad,
                 bool def) {
    Interface i;
    i.name = name;
    i.bindings = {binding};
    v.interfaces.push_back(i);
    Network n;
    n.name = name;
    if (nad == nullptr) {
      n.pod = true;
    } else {
      n.multus = true;
      n.multus_network_name = nad;
      n.multus_default = def;
    }
    v.networks.push_back(n);
  };
  add("default", "masquerade", nullptr, false);
  add("test1", "sriov", "nad1", false);
  add("blue", "sriov", "other/nad2", false);
  v.memory_guest = "1Gi";
  return v;
}

TEST(PodInterfaceNameTest, OnlySecondaryMultusNetworksInSpecOrder) {
  Vmi v = ThreeNetworks();
  EXPECT_THAT(PodInterfaceNames(v, PodIfaceNaming::kHashed),
              ElementsAre(Pair("test1", "pod1b4f0e98519"),
                          Pair("blue", "pod16477688c0e")));
  EXPECT_THAT(PodInterfaceNames(v, PodIfaceNaming::kOrdinal),
              ElementsAre(Pair("test1", "net1"), Pair("blue", "net2")));
}

TEST(MultusAnnotationTest, MatchesKubevirtShape) {
  Vmi v = ThreeNetworks();
  v.interfaces[1].mac_address = "de:ad:00:00:be:af";
  EXPECT_THAT(
      MultusNetworksAnnotation(v, PodIfaceNaming::kHashed),
      IsOkAndHolds("[{\"name\":\"nad1\",\"namespace\":\"ns\",\"mac\":\"de:ad:"
                   "00:00:be:af\",\"interface\":\"pod1b4f0e98519\"},{\"name\":"
                   "\"nad2\",\"namespace\":\"other\",\"interface\":"
                   "\"pod16477688c0e\"}]"));
  EXPECT_THAT(MultusNetworksAnnotation(v, PodIfaceNaming::kOrdinal),
              IsOkAndHolds(HasSubstr("\"interface\":\"net2\"")));
}

TEST(MultusAnnotationTest, SkipsAbsentAndDefaultAndEmptyWhenNone) {
  Vmi v = ThreeNetworks();
  v.interfaces[2].bindings = {"bridge"};
  v.interfaces[2].state = "absent";
  EXPECT_THAT(MultusNetworksAnnotation(v, PodIfaceNaming::kHashed),
              IsOkAndHolds(::testing::Not(HasSubstr("nad2"))));
  Vmi only_pod = ThreeNetworks();
  only_pod.interfaces.resize(1);
  only_pod.networks.resize(1);
  EXPECT_THAT(MultusNetworksAnnotation(only_pod, PodIfaceNaming::kHashed),
              IsOkAndHolds(""));
}

TEST(QuantityTest, ParsesKubernetesMemoryQuantities) {
  struct Case {
    const char* in;
    int64_t bytes;
  };
  const Case cases[] = {
      {"100", 100},
      {"1Ki", 1024},
      {"1024M", 1024000000},
      {"2Gi", 2147483648},
      {"1.5Gi", 1610612736},
      {"0.5k", 500},
      {"1.0001k", 1001},  // rounds up to a whole byte
      {"1Ti", int64_t{1} << 40},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_THAT(ParseMemoryQuantity(c.in), IsOkAndHolds(c.bytes));
  }
  for (const char* bad :
       {"", "Gi", "-1Gi", "1e3", "1GB", "1..5Gi", "1.", "99999999999Ei"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseMemoryQuantity(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::string("memory quantity \"") + bad)));
  }
}

TEST(QuantityTest, FormatsLargestExactBinaryUnit) {
  EXPECT_EQ(FormatMemoryQuantity(int64_t{3} << 30), "3Gi");
  EXPECT_EQ(FormatMemoryQuantity(int64_t{1536} << 20), "1536Mi");
  EXPECT_EQ(FormatMemoryQuantity(1000), "1000");
  EXPECT_EQ(FormatMemoryQuantity(0), "0");
}

TEST(NadStoreTest, LoadsDirectoryWithMultiDocAndDefaultNamespace) {
  NadStore nads("lab");
  ASSERT_THAT(nads.AddDir(kTestdata + "/nads"), IsOk());
  EXPECT_EQ(nads.size(), 3u);
  const Nad* a = nads.Find("lab", "sriov-vlan100");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->resource_name, "intel.com/sriov_net");
  EXPECT_THAT(a->config, HasSubstr("\"vlan\":100"));
  ASSERT_NE(nads.Find("sriov", "sriov-network"), nullptr);
  EXPECT_EQ(nads.Find("default", "sriov-vlan100"), nullptr);
}

TEST(NadStoreTest, LoadsJsonList) {
  NadStore nads;
  ASSERT_THAT(
      nads.AddText(R"({"kind":"NetworkAttachmentDefinitionList","items":[
        {"kind":"NetworkAttachmentDefinition","metadata":{"name":"a"}},
        {"kind":"NetworkAttachmentDefinition","metadata":{"name":"b",
         "annotations":{"k8s.v1.cni.cncf.io/resourceName":"r/x"}}}]})",
                   "list.json"),
      IsOk());
  ASSERT_NE(nads.Find("default", "a"), nullptr);
  EXPECT_EQ(nads.Find("default", "a")->resource_name, "");
  EXPECT_EQ(nads.Find("default", "b")->resource_name, "r/x");
}

TEST(NadStoreTest, Errors) {
  NadStore nads;
  EXPECT_THAT(
      nads.AddText("kind: Pod\nmetadata: {name: p}\n", "p.yaml"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "p.yaml: kind \"Pod\": want NetworkAttachmentDefinition"));
  EXPECT_THAT(nads.AddText("kind: NetworkAttachmentDefinition\n", "n.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "n.yaml: NetworkAttachmentDefinition without "
                       "metadata.name"));
  EXPECT_THAT(nads.AddText("kind: [", "bad.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad.yaml: not valid YAML or JSON")));
  ASSERT_THAT(
      nads.AddText("kind: NetworkAttachmentDefinition\nmetadata: {name: a}\n",
                   "one.yaml"),
      IsOk());
  EXPECT_THAT(
      nads.AddText("kind: NetworkAttachmentDefinition\nmetadata: {name: a}\n",
                   "two.yaml"),
      StatusIs(absl::StatusCode::kAlreadyExists,
               "two.yaml: NetworkAttachmentDefinition default/a already "
               "defined in one.yaml"));
  EXPECT_THAT(nads.AddDir("/nonexistent-nads"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(nads.AddFile("/nonexistent-nads/x.yaml"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(RenderPodTest, KubevirtSriovExampleMatchesGolden) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi, LoadVmiFile(kTestdata + "/vmi-sriov.yaml"));
  NadStore nads(vmi.namespace_);
  ASSERT_THAT(nads.AddDir(kTestdata + "/nads"), IsOk());
  SK_ASSERT_OK_AND_ASSIGN(nlohmann::ordered_json pod,
                          RenderLauncherPod(vmi, nads, {}));
  EXPECT_EQ(pod.dump(2) + "\n", ReadTestdata("pod-vmi-sriov.json"));
}

TEST(RenderPodTest, TwoSriovNetworksOnOneResourceMatchGolden) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  NadStore nads(vmi.namespace_);
  ASSERT_THAT(nads.AddDir(kTestdata + "/nads"), IsOk());
  SK_ASSERT_OK_AND_ASSIGN(nlohmann::ordered_json pod,
                          RenderLauncherPod(vmi, nads, {}));
  EXPECT_EQ(pod.dump(2) + "\n", ReadTestdata("pod-vm-two-sriov.json"));
  // compute comes first: the resources injector patches container 0.
  EXPECT_EQ(pod["spec"]["containers"][0]["name"], "compute");
}

TEST(RenderPodTest, MissingNadIsNotFoundNamingIt) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi, LoadVmiFile(kTestdata + "/vmi-sriov.yaml"));
  NadStore empty;
  EXPECT_THAT(RenderLauncherPod(vmi, empty, {}),
              StatusIs(absl::StatusCode::kNotFound,
                       "failed to locate network attachment definition "
                       "sriov/sriov-network (network \"sriov-net\")"));
}

TEST(RenderPodTest, ExternalInjectionReadsNoNad) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi, LoadVmiFile(kTestdata + "/vmi-sriov.yaml"));
  RenderPodOptions o;
  o.external_resource_injection = true;
  SK_ASSERT_OK_AND_ASSIGN(nlohmann::ordered_json pod,
                          RenderLauncherPod(vmi, NadStore(), o));
  const auto& res = pod["spec"]["containers"][0]["resources"];
  EXPECT_EQ(res["requests"].size(), 1u);  // memory only
  EXPECT_FALSE(res.contains("limits"));
  EXPECT_EQ(pod["spec"]["volumes"].size(), 1u);
}

TEST(RenderPodTest, NadWithoutResourceNameAddsNothing) {
  Vmi v = ThreeNetworks();
  NadStore nads("ns");
  ASSERT_THAT(nads.AddText(R"(
kind: NetworkAttachmentDefinition
metadata: {name: nad1}
---
kind: NetworkAttachmentDefinition
metadata: {name: nad2, namespace: other}
)",
                           "x"),
              IsOk());
  SK_ASSERT_OK_AND_ASSIGN(nlohmann::ordered_json pod,
                          RenderLauncherPod(v, nads, {}));
  const auto& res = pod["spec"]["containers"][0]["resources"];
  EXPECT_EQ(res["requests"].dump(), R"({"memory":"2Gi"})");
}

TEST(RenderPodTest, NoSriovMeansNoVfioOverheadAndNoVolume) {
  Vmi v = ThreeNetworks();
  v.interfaces[1].bindings = {"bridge"};
  v.interfaces[2].bindings = {"bridge"};
  NadStore nads("ns");
  ASSERT_THAT(nads.AddText("kind: NetworkAttachmentDefinition\nmetadata: "
                           "{name: nad1}\n---\nkind: "
                           "NetworkAttachmentDefinition\nmetadata: {name: "
                           "nad2, namespace: other}\n",
                           "x"),
              IsOk());
  SK_ASSERT_OK_AND_ASSIGN(nlohmann::ordered_json pod,
                          RenderLauncherPod(v, nads, {}));
  EXPECT_EQ(pod["spec"]["containers"][0]["resources"]["requests"]["memory"],
            "1Gi");
  EXPECT_TRUE(pod["spec"]["volumes"].empty());
  EXPECT_FALSE(pod["spec"]["containers"][0].contains("volumeMounts"));
}

TEST(RenderPodTest, MultusDefaultNetworkAnnotation) {
  Vmi v = ThreeNetworks();
  v.networks[0].pod = false;
  v.networks[0].multus = true;
  v.networks[0].multus_network_name = "kube-system/flannel";
  v.networks[0].multus_default = true;
  v.interfaces[0].bindings = {"bridge"};
  RenderPodOptions o;
  o.external_resource_injection = true;
  SK_ASSERT_OK_AND_ASSIGN(nlohmann::ordered_json pod,
                          RenderLauncherPod(v, NadStore(), o));
  const auto& ann = pod["metadata"]["annotations"];
  EXPECT_EQ(ann[kDefaultNetworkAnnotation], "kube-system/flannel");
  EXPECT_THAT(ann[kNetworksAnnotation].get<std::string>(),
              ::testing::Not(HasSubstr("flannel")));
}

TEST(RenderPodTest, RejectsInadmissibleVmiAndMissingMemory) {
  Vmi bad = ThreeNetworks();
  bad.interfaces[1].state = "down";
  EXPECT_THAT(RenderLauncherPod(bad, NadStore(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not supported for SR-IOV NICs")));
  Vmi nomem = ThreeNetworks();
  nomem.memory_guest = "";
  EXPECT_THAT(RenderLauncherPod(nomem, NadStore(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "VMI has no memory: set spec.domain.memory.guest or "
                       "spec.domain.resources.requests.memory"));
  Vmi badmem = ThreeNetworks();
  badmem.memory_guest = "lots";
  RenderPodOptions o;
  o.external_resource_injection = true;
  EXPECT_THAT(RenderLauncherPod(badmem, NadStore(), o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("memory quantity \"lots\"")));
}

// 20 bytes that made yaml-cpp's LoadAll return the same empty document
// forever (about 11 GB before the process died).
TEST(NadStoreTest, StrayCommaDocumentIsRefusedNotLoopedOn) {
  NadStore nads;
  const std::string text = "apiVersion: v1\n---\n,";
  ASSERT_EQ(text.size(), 20u);
  EXPECT_THAT(nads.AddText(text, "loop.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "loop.yaml: not valid YAML or JSON at line 3, column 1: "
                       "no document can start with ','"));
}

TEST(NadStoreTest, DeepJsonAndYamlAreRefusedNamingTheLimit) {
  NadStore nads;
  EXPECT_THAT(
      nads.AddText(R"({"kind":"NetworkAttachmentDefinition","x":)" +
                       std::string(100000, '[') + std::string(100000, ']') +
                       "}",
                   "deep.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "deep.json: JSON nested deeper than 64 levels at byte 105"));
  EXPECT_THAT(nads.AddText("kind: NetworkAttachmentDefinition\nx: " +
                               std::string(3000, '['),
                           "deep.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("deep.yaml: YAML at line 2, column "),
                             HasSubstr(": nested deeper than 64 levels"))));
}

TEST(NadStoreTest, AnchorsAreRefusedWithTheReason) {
  NadStore nads;
  EXPECT_THAT(nads.AddText("kind: NetworkAttachmentDefinition\n"
                           "metadata: &m {name: a}\nspec: *m\n",
                           "anchor.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("anchor.yaml: YAML at line 2, column 11: "
                                 "anchor &m: anchors and aliases are not "
                                 "accepted (Kubernetes objects never need")));
}

}  // namespace
}  // namespace sk::kubevirt
