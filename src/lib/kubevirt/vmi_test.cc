#include "lib/kubevirt/vmi.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::kubevirt {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kTestdata = SK_KUBEVIRT_TESTDATA;

TEST(ParseVmiTest, ParsesKubevirtSriovExample) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi, LoadVmiFile(kTestdata + "/vmi-sriov.yaml"));
  EXPECT_EQ(vmi.source_kind, "VirtualMachineInstance");
  EXPECT_EQ(vmi.name, "vmi-sriov");
  EXPECT_EQ(vmi.namespace_, "default");
  ASSERT_EQ(vmi.interfaces.size(), 2u);
  EXPECT_EQ(vmi.interfaces[0].name, "default");
  EXPECT_THAT(vmi.interfaces[0].bindings, ElementsAre("masquerade"));
  EXPECT_FALSE(vmi.interfaces[0].is_sriov());
  EXPECT_EQ(vmi.interfaces[1].name, "sriov-net");
  EXPECT_TRUE(vmi.interfaces[1].is_sriov());
  ASSERT_EQ(vmi.networks.size(), 2u);
  EXPECT_TRUE(vmi.networks[0].pod);
  EXPECT_TRUE(vmi.networks[1].multus);
  EXPECT_EQ(vmi.networks[1].multus_network_name, "sriov/sriov-network");
  EXPECT_FALSE(vmi.networks[1].multus_default);
  EXPECT_EQ(vmi.memory_request, "1024M");
  EXPECT_EQ(vmi.disks.size(), 2u);
  EXPECT_THAT(ValidateVmi(vmi), IsEmpty());
}

TEST(ParseVmiTest, ParsesVirtualMachineTemplateFromJson) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  EXPECT_EQ(vmi.source_kind, "VirtualMachine");
  EXPECT_EQ(vmi.name, "vm-two-sriov");
  EXPECT_EQ(vmi.namespace_, "lab");
  EXPECT_EQ(vmi.annotations.at("example.org/note"), "two VFs");
  ASSERT_EQ(vmi.interfaces.size(), 3u);
  const Interface& a = vmi.interfaces[1];
  EXPECT_EQ(a.mac_address, "02:00:00:00:00:0a");
  EXPECT_EQ(a.pci_address, "0000:20:00.0");
  EXPECT_EQ(a.boot_order, 2);
  EXPECT_EQ(vmi.disks[0].boot_order, 1);
  EXPECT_EQ(vmi.memory_guest, "2Gi");
  EXPECT_EQ(vmi.memory_limit, "3Gi");
  EXPECT_EQ(vmi.vcpus, 2u);
  EXPECT_THAT(ValidateVmi(vmi), IsEmpty());
}

TEST(ParseVmiTest, ParsesStateTagBindingPluginAndDefault) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi, ParseVmi(R"(
kind: VirtualMachineInstance
metadata: {name: x, namespace: ns1}
spec:
  domain:
    devices:
      interfaces:
      - {name: a, binding: {name: passt}, tag: nic0, state: down}
  networks:
  - {name: a, multus: {networkName: ns2/def, default: true}}
)"));
  EXPECT_EQ(vmi.namespace_, "ns1");
  EXPECT_THAT(vmi.interfaces[0].bindings, ElementsAre("binding"));
  EXPECT_EQ(vmi.interfaces[0].binding_plugin, "passt");
  EXPECT_EQ(vmi.interfaces[0].tag, "nic0");
  EXPECT_EQ(vmi.interfaces[0].state, "down");
  EXPECT_TRUE(vmi.networks[0].multus_default);
}

TEST(ParseVmiTest, RejectsStructuralErrorsNamingTheField) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"kind: Pod\n",
       "VMI: kind: expected VirtualMachineInstance or VirtualMachine, got "
       "\"Pod\""},
      {"[1, 2]", "VMI: $: expected an object, got [1,2]"},
      {"kind: VirtualMachineInstance\nspec: {domain: {devices: {interfaces: "
       "{a: 1}}}}\n",
       "VMI: spec.domain.devices.interfaces: expected a list, got {\"a\":1}"},
      {"kind: VirtualMachineInstance\nspec: {domain: {devices: {interfaces: "
       "[{name: a, sriov: {}, bootOrder: x}]}}}\n",
       "VMI: spec.domain.devices.interfaces[0].bootOrder: expected an "
       "integer, got \"x\""},
      {"kind: VirtualMachineInstance\nspec: {domain: {devices: {interfaces: "
       "[{name: a, sriov: {}, bootOrder: \"1\"}]}}}\n",
       "VMI: spec.domain.devices.interfaces[0].bootOrder: expected an "
       "integer, got \"1\""},
      {"kind: VirtualMachineInstance\nspec: {networks: [{name: a, multus: "
       "{networkName: n, default: maybe}}]}\n",
       "VMI: spec.networks[0].multus.default: expected true or false, got "
       "\"maybe\""},
      {"kind: VirtualMachine\nspec: {template: {spec: {networks: [{name: "
       "[1]}]}}}\n",
       "VMI: spec.template.spec.networks[0].name: expected a string, got "
       "[1]"},
      {"kind: VirtualMachineInstance\nspec: {domain: {cpu: {cores: 0}}}\n",
       "VMI: spec.domain.cpu.cores: expected an integer in 1..4096, got 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_THAT(ParseVmi(c.text),
                StatusIs(absl::StatusCode::kInvalidArgument, c.message));
  }
}

TEST(ParseVmiTest, RejectsInvalidYaml) {
  EXPECT_THAT(ParseVmi("kind: [unclosed"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid YAML or JSON")));
}

TEST(ParseVmiTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadVmiFile("/nonexistent/vmi.yaml"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ParseVmiTest, LoadPrefixesPath) {
  EXPECT_THAT(LoadVmiFile(kTestdata + "/nads/sriov-network.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sriov-network.yaml: kind: expected "
                                 "VirtualMachineInstance or VirtualMachine, "
                                 "got \"NetworkAttachmentDefinition\"")));
}

TEST(NetworkNameTest, SplitsNamespace) {
  SK_ASSERT_OK_AND_ASSIGN(NetworkRef a, ParseNetworkName("ns/n", "vmins"));
  EXPECT_EQ(a.namespace_, "ns");
  EXPECT_EQ(a.name, "n");
  SK_ASSERT_OK_AND_ASSIGN(NetworkRef b, ParseNetworkName("n", "vmins"));
  EXPECT_EQ(b.Key(), "vmins/n");
  for (const char* bad : {"", "/n", "ns/", "a/b/c"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseNetworkName(bad, "x"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("want <name> or <namespace>/<name>")));
  }
}

// ---- Admission rules: one admissible VMI, then one mutation per rule. ----

Vmi Base() {
  Vmi v;
  v.source_kind = "VirtualMachineInstance";
  v.name = "vmi";
  v.namespace_ = "default";
  Interface def;
  def.name = "default";
  def.bindings = {"masquerade"};
  Interface sr;
  sr.name = "sriov-net";
  sr.bindings = {"sriov"};
  v.interfaces = {def, sr};
  Network pod;
  pod.name = "default";
  pod.pod = true;
  Network mul;
  mul.name = "sriov-net";
  mul.multus = true;
  mul.multus_network_name = "sriov/sriov-network";
  v.networks = {pod, mul};
  return v;
}

std::vector<std::string> Messages(const Vmi& v) {
  std::vector<std::string> out;
  for (const Cause& c : ValidateVmi(v))
    out.push_back(c.field + ": " + c.message);
  return out;
}

TEST(AdmissionTest, BaseIsAdmissible) {
  EXPECT_THAT(Messages(Base()), IsEmpty());
  EXPECT_THAT(AdmitVmi(Base()), IsOk());
}

TEST(AdmissionTest, Rule1ExactlyOneBinding) {
  Vmi none = Base();
  none.interfaces[1].bindings.clear();
  EXPECT_THAT(
      Messages(none),
      ElementsAre("spec.domain.devices.interfaces[1]: logical sriov-net "
                  "interface must have exactly one binding method or "
                  "binding plugin (has none)"));
  Vmi two = Base();
  two.interfaces[1].bindings = {"sriov", "bridge"};
  EXPECT_THAT(
      Messages(two),
      ElementsAre("spec.domain.devices.interfaces[1]: logical sriov-net "
                  "interface must have exactly one binding method or "
                  "binding plugin (has sriov, bridge)"));
}

TEST(AdmissionTest, Rule1DiscontinuedBindings) {
  Vmi v = Base();
  v.interfaces[0].bindings = {"slirp"};
  v.networks[0].pod = true;
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[0].slirp: Slirp "
                          "interface support has been discontinued since v1.3 "
                          "(interface \"default\")"));
}

TEST(AdmissionTest, Rule2NamePattern) {
  Vmi v = Base();
  v.interfaces[1].name = "bad.name";
  v.networks[1].name = "bad.name";
  EXPECT_THAT(
      Messages(v),
      ElementsAre("spec.domain.devices.interfaces[1].name: Network interface "
                  "name \"bad.name\" can only contain alphabetical "
                  "characters, numbers, dashes (-) or underscores (_)",
                  "spec.networks[1].name: Network name \"bad.name\" can only "
                  "contain alphabetical characters, numbers, dashes (-) or "
                  "underscores (_)"));
}

TEST(AdmissionTest, Rule2UniqueNames) {
  Vmi v = Base();
  v.interfaces.push_back(v.interfaces[1]);
  v.networks.push_back(v.networks[1]);
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[2].name: Duplicate "
                          "interface name 'sriov-net': already used by "
                          "interfaces[1]",
                          "spec.networks[2].name: Duplicate network name "
                          "'sriov-net': already used by networks[1]"));
}

TEST(AdmissionTest, Rule2InterfacesAndNetworksMatchOneToOne) {
  Vmi v = Base();
  v.networks[1].name = "other";
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].name: 'sriov-net' "
                          "not found: no network of that name in spec.networks",
                          "spec.networks[1].name: 'other' not found: no "
                          "interface of that name in "
                          "spec.domain.devices.interfaces"));
}

TEST(AdmissionTest, Rule3NetworkSource) {
  Vmi none = Base();
  none.networks[1].multus = false;
  EXPECT_THAT(Messages(none),
              ElementsAre("spec.networks[1]: network \"sriov-net\" should have "
                          "a network type"));
  Vmi two = Base();
  two.networks[1].resource_claim = true;
  EXPECT_THAT(Messages(two),
              ElementsAre("spec.networks[1]: network \"sriov-net\" should have "
                          "only one network type"));
}

TEST(AdmissionTest, Rule3NetworkNameRequiredAndWellFormed) {
  Vmi empty = Base();
  empty.networks[1].multus_network_name = "";
  EXPECT_THAT(Messages(empty),
              ElementsAre("spec.networks[1].multus.networkName: CNI delegating "
                          "plugin must have a networkName (network "
                          "\"sriov-net\")"));
  Vmi bad = Base();
  bad.networks[1].multus_network_name = "a/b/c";
  EXPECT_THAT(Messages(bad),
              ElementsAre("spec.networks[1].multus.networkName: multus "
                          "networkName \"a/b/c\": want <name> or "
                          "<namespace>/<name>"));
}

TEST(AdmissionTest, Rule3PodAndMultusDefaultCounts) {
  Vmi two_pods = Base();
  two_pods.networks[1].multus = false;
  two_pods.networks[1].pod = true;
  two_pods.interfaces[1].bindings = {"bridge"};
  EXPECT_THAT(Messages(two_pods),
              ElementsAre("spec.networks: more than one pod network is defined "
                          "(2); at most one network may use pod: {}"));
  Vmi both = Base();
  both.networks[1].multus_default = true;
  EXPECT_THAT(Messages(both),
              ElementsAre("spec.networks: Pod network cannot be defined when "
                          "Multus default network is defined"));
  Vmi two_defaults = Base();
  two_defaults.networks[0].pod = false;
  two_defaults.networks[0].multus = true;
  two_defaults.networks[0].multus_network_name = "ns/def";
  two_defaults.networks[0].multus_default = true;
  two_defaults.networks[1].multus_default = true;
  two_defaults.interfaces[0].bindings = {"bridge"};
  EXPECT_THAT(Messages(two_defaults),
              ElementsAre("spec.networks: Multus CNI should only have one "
                          "default network"));
}

TEST(AdmissionTest, Rule4StateUpDownNotSupportedForSriov) {
  for (const char* s : {"up", "down"}) {
    SCOPED_TRACE(s);
    Vmi v = Base();
    v.interfaces[1].state = s;
    EXPECT_THAT(Messages(v),
                ElementsAre(std::string("spec.domain.devices.interfaces[1]."
                                        "state: \"sriov-net\" interface's "
                                        "state \"") +
                            s + "\" is not supported for SR-IOV NICs"));
  }
  Vmi bridge_down = Base();
  bridge_down.interfaces[1].bindings = {"bridge"};
  bridge_down.interfaces[1].state = "down";
  EXPECT_THAT(Messages(bridge_down), IsEmpty());
}

TEST(AdmissionTest, Rule4AbsentOnlyForBridge) {
  Vmi v = Base();
  v.interfaces[1].state = "absent";
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].state: "
                          "\"sriov-net\" interface's state \"absent\" is "
                          "supported only for bridge binding (hot-unplug); "
                          "SR-IOV interfaces cannot be hot-unplugged"));
  Vmi bridge = Base();
  bridge.interfaces[1].bindings = {"bridge"};
  bridge.interfaces[1].state = "absent";
  EXPECT_THAT(Messages(bridge), IsEmpty());
  Vmi junk = Base();
  junk.interfaces[1].state = "sideways";
  EXPECT_THAT(Messages(junk),
              ElementsAre("spec.domain.devices.interfaces[1].state: interface "
                          "\"sriov-net\" has invalid state \"sideways\" (want "
                          "up, down or absent)"));
}

TEST(AdmissionTest, Rule5MacAddress) {
  for (const char* ok : {"de:ad:00:00:be:af", "02-00-00-00-00-0A"}) {
    SCOPED_TRACE(ok);
    Vmi v = Base();
    v.interfaces[1].mac_address = ok;
    EXPECT_THAT(Messages(v), IsEmpty());
  }
  for (const char* bad : {"de:ad:00:00:be", "de:ad:00:00:be:zz",
                          "de:ad-00:00:be:af", "dead.0000.beaf0"}) {
    SCOPED_TRACE(bad);
    Vmi v = Base();
    v.interfaces[1].mac_address = bad;
    EXPECT_THAT(Messages(v),
                ElementsAre(std::string("spec.domain.devices.interfaces[1]."
                                        "macAddress: interface sriov-net has "
                                        "malformed MAC address (") +
                            bad + ")."));
  }
}

TEST(AdmissionTest, Rule5SriovMacMustBeUnicast) {
  Vmi v = Base();
  v.interfaces[1].mac_address = "01:00:5e:00:00:01";
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].macAddress: "
                          "SR-IOV interface sriov-net has MAC address "
                          "(01:00:5e:00:00:01) with the multicast bit set; a "
                          "VF MAC must be unicast"));
}

TEST(AdmissionTest, Rule5PciAddressSyntax) {
  Vmi ok = Base();
  ok.interfaces[1].pci_address = "0000:0A:1f.7";
  EXPECT_THAT(Messages(ok), IsEmpty());
  for (const char* bad : {"00:0a:1f.7", "0000:0a:1f.8", "0000:0a:1f",
                          "0000:0a:1g.0", "0000:0a:1f.7 "}) {
    SCOPED_TRACE(bad);
    Vmi v = Base();
    v.interfaces[1].pci_address = bad;
    EXPECT_THAT(Messages(v),
                ElementsAre(std::string("spec.domain.devices.interfaces[1]."
                                        "pciAddress: interface sriov-net has "
                                        "malformed PCI address (") +
                            bad + ")."));
  }
}

TEST(AdmissionTest, Rule5GuestPciAddressUnique) {
  Vmi v = Base();
  v.interfaces[0].pci_address = "0000:20:00.0";
  v.interfaces[1].pci_address = "0000:20:00.0";
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].pciAddress: "
                          "interface sriov-net PCI address (0000:20:00.0) is "
                          "already used by interface default"));
}

TEST(AdmissionTest, Rule5BootOrderPositive) {
  Vmi v = Base();
  v.interfaces[1].boot_order = 0;
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].bootOrder: "
                          "spec.domain.devices.interfaces[1].bootOrder must "
                          "have a value greater than 0 (got 0)"));
}

TEST(AdmissionTest, Rule5BootOrderUniqueAcrossDisksAndInterfaces) {
  Vmi v = Base();
  v.disks.push_back({"root", 1});
  v.interfaces[1].boot_order = 1;
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].bootOrder: Boot "
                          "order for spec.domain.devices.interfaces[1]."
                          "bootOrder (1) already set for a different device "
                          "(spec.domain.devices.disks[0])."));
  Vmi ok = Base();
  ok.disks.push_back({"root", 1});
  ok.interfaces[1].boot_order = 2;
  EXPECT_THAT(Messages(ok), IsEmpty());
}

TEST(AdmissionTest, Rule6MasqueradeOnlyOnPodNetwork) {
  Vmi v = Base();
  v.interfaces[1].bindings = {"masquerade"};
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[1].masquerade: "
                          "Masquerade interface only implemented with pod "
                          "network (interface \"sriov-net\")"));
}

TEST(AdmissionTest, Rule6SriovNeverOnPodNetwork) {
  Vmi v = Base();
  v.interfaces[0].bindings = {"sriov"};
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.domain.devices.interfaces[0].sriov: SR-IOV "
                          "interface \"default\" is connected to the pod "
                          "network; SR-IOV needs a multus network whose "
                          "NetworkAttachmentDefinition names an SR-IOV "
                          "resource (k8s.v1.cni.cncf.io/resourceName)"));
}

TEST(AdmissionTest, Rule7ResourceClaimNeedsSriovOrPlugin) {
  Vmi v = Base();
  v.networks[1].multus = false;
  v.networks[1].resource_claim = true;
  EXPECT_THAT(Messages(v), IsEmpty());
  v.interfaces[1].bindings = {"bridge"};
  EXPECT_THAT(Messages(v),
              ElementsAre("spec.networks[1].resourceClaim: network "
                          "\"sriov-net\" with a resourceClaim source requires "
                          "an sriov or binding plugin interface"));
}

// The rules run as a table: VMI-wide rules in KubeVirt's order, and the
// per-interface rules (4-6) interface by interface; every rule's causes are
// kept (no rule stops the others).
TEST(AdmissionTest, CausesFromEveryRuleInTableOrder) {
  Vmi v = Base();
  v.interfaces[0].bindings.clear();           // rule 1 (interface 0)
  v.interfaces[0].mac_address = "zz";         // rule 5 (interface 0)
  v.interfaces[1].state = "sideways";         // rule 4 (interface 1)
  v.interfaces[1].pci_address = "0000:xx";    // rule 5 (interface 1)
  v.networks[1].multus_network_name.clear();  // rule 3
  Network extra;
  extra.name = "orphan";
  extra.pod = true;
  v.networks.push_back(extra);  // rules 2 and 3
  std::vector<std::string> fields;
  for (const Cause& c : ValidateVmi(v)) fields.push_back(c.field);
  EXPECT_THAT(fields,
              ElementsAre("spec.domain.devices.interfaces[0]",
                          "spec.networks[1].multus.networkName",
                          "spec.networks", "spec.networks[2].name",
                          "spec.domain.devices.interfaces[0].macAddress",
                          "spec.domain.devices.interfaces[1].state",
                          "spec.domain.devices.interfaces[1].pciAddress"));
}

TEST(AdmissionTest, VirtualMachineFieldsUseTemplatePath) {
  Vmi v = Base();
  v.source_kind = "VirtualMachine";
  v.interfaces[1].state = "up";
  EXPECT_THAT(Messages(v),
              ElementsAre(HasSubstr("spec.template.spec.domain.devices."
                                    "interfaces[1].state: ")));
}

TEST(AdmissionTest, AdmitJoinsAllCauses) {
  Vmi v = Base();
  v.interfaces[1].state = "up";
  v.interfaces[1].boot_order = -1;
  EXPECT_THAT(
      AdmitVmi(v),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "admission webhook "
               "\"virtualmachineinstances-create-validator.kubevirt.io\" "
               "denied the request: spec.domain.devices.interfaces[1].state: "
               "\"sriov-net\" interface's state \"up\" is not supported for "
               "SR-IOV NICs; spec.domain.devices.interfaces[1].bootOrder: "
               "spec.domain.devices.interfaces[1].bootOrder must have a value "
               "greater than 0 (got -1)"));
}

TEST(ParseVmiTest, DeeplyNestedInputIsRefusedNamingTheLimit) {
  EXPECT_THAT(ParseVmi(R"({"kind":"VirtualMachineInstance","spec":)" +
                       std::string(100000, '{') + "}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "VMI: JSON nested deeper than 64 levels at byte 103"));
  EXPECT_THAT(ParseVmi("kind: VirtualMachineInstance\nspec: " +
                       std::string(100000, '[')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested deeper than 64 levels")));
}

// Found by kubevirt_input_fuzzer: a network name with a byte that is not
// UTF-8 made render-pod throw while writing the networks annotation.
TEST(ParseVmiTest, InputThatIsNotUtf8IsRefusedNamingTheByte) {
  const std::string yaml =
      "kind: VirtualMachineInstance\nmetadata: {name: vm}\nspec:\n"
      "  networks:\n  - {name: \"n\x97\", multus: {networkName: a}}\n";
  EXPECT_THAT(ParseVmi(yaml), StatusIs(absl::StatusCode::kInvalidArgument,
                                       "VMI: not valid UTF-8 at byte " +
                                           std::to_string(yaml.find('\x97'))));
  // Overlong, surrogate, beyond U+10FFFF and truncated sequences too.
  for (std::string bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    EXPECT_THAT(ParseVmi("kind: VirtualMachineInstance # " + bad + "\n"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "VMI: not valid UTF-8 at byte 31"))
        << bad;
  }
  // Well-formed multi-byte text is fine.
  EXPECT_THAT(ParseVmi("kind: VirtualMachineInstance # \xc3\xa9 \xe2\x82\xac "
                       "\xf0\x9f\x98\x80\nmetadata: {name: vm}\n")
                  .status(),
              StatusIs(absl::StatusCode::kOk));
}

TEST(ParseVmiTest, LoadRefusesAFileOverFourMebibytes) {
  sk::testing::TempDir dir;
  const auto p = dir / "big.yaml";
  std::ofstream(p) << "kind: VirtualMachineInstance\n#"
                   << std::string(size_t{4} << 20, 'x') << "\n";
  EXPECT_THAT(LoadVmiFile(p),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       p.string() + ": larger than the 4194304-byte limit"));
}

TEST(ParseVmiTest, RejectsNamesThatAreNotKubernetesNames) {
  struct Case {
    std::string meta;
    std::string message;
  };
  const Case cases[] = {
      {R"(name: "vm\x01", namespace: lab)",
       R"(VMI: metadata.name: "vm\x01" is not a valid name: want a lowercase )"
       R"(RFC 1123 subdomain (a-z, 0-9, '-', '.'; starting and ending )"
       R"(with a letter or digit; at most 253 characters))"},
      {R"(name: Vm, namespace: lab)",
       R"(VMI: metadata.name: "Vm" is not a valid name: want a lowercase RFC )"
       R"(1123 subdomain (a-z, 0-9, '-', '.'; starting and ending with a )"
       R"(letter or digit; at most 253 characters))"},
      {R"(name: vm, namespace: "a.b")",
       R"(VMI: metadata.namespace: "a.b" is not a valid namespace: want a )"
       R"(lowercase RFC 1123 label (a-z, 0-9, '-'; starting and ending with )"
       R"(a letter or digit; at most 63 characters))"},
      {R"(namespace: lab)",
       R"(VMI: metadata.name: "" is not a valid name: want a lowercase RFC 1123 )"
       R"(subdomain (a-z, 0-9, '-', '.'; starting and ending with a letter )"
       R"(or digit; at most 253 characters))"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.meta);
    EXPECT_THAT(
        ParseVmi("kind: VirtualMachineInstance\nmetadata: {" + c.meta + "}\n"),
        StatusIs(absl::StatusCode::kInvalidArgument, c.message));
  }
  SK_ASSERT_OK_AND_ASSIGN(
      Vmi ok, ParseVmi("kind: VirtualMachineInstance\nmetadata: {name: "
                       "vm-1.a, namespace: ns-2}\n"));
  EXPECT_EQ(ok.name, "vm-1.a");
  EXPECT_THAT(ParseVmi("kind: VirtualMachineInstance\nmetadata: {name: " +
                       std::string(254, 'a') + "}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not a valid name")));
}

}  // namespace
}  // namespace sk::kubevirt
