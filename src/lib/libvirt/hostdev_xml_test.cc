#include "lib/libvirt/hostdev_xml.h"

#include "pugixml.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/libvirt_tools_for_test.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/testdata.h"

namespace sk::libvirt {
namespace {

using ::sk::sysfs::PciAddress;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

std::string Golden(const std::string& name) {
  return ::sk::testing::ReadTestFile(SK_LIBVIRT_TESTDATA, name);
}

PciAddress Addr(const char* s) { return PciAddress::Parse(s).value(); }

// Two SR-IOV interfaces as in kubevirt/kubevirt
// pkg/virt-launcher/virtwrap/device/hostdevice/sriov/hostdev_test.go: one with
// bootOrder and pciAddress, one bare (and a non-zero domain to check the hex
// widths).
std::vector<HostdevSpec> A5Specs() {
  HostdevSpec a;
  a.source = Addr("0000:81:01.0");
  a.boot_order = 2;
  a.guest_address = Addr("0000:20:00.0");
  a.alias = SriovAlias("sriov-net");
  HostdevSpec b;
  b.source = Addr("0001:3B:1f.7");
  b.alias = SriovAlias("sriov-net2");
  return {a, b};
}

TEST(HostdevXmlTest, AliasIsUserPrefixPlusSriovPrefix) {
  EXPECT_EQ(SriovAlias("sriov-net"), "ua-sriov-sriov-net");
}

TEST(HostdevXmlTest, HexFormattingMatchesKubevirt) {
  PciAddress a = Addr("000a:0B:1c.3");
  EXPECT_EQ(HexDomain(a), "0x000a");
  EXPECT_EQ(HexBus(a), "0x0b");
  EXPECT_EQ(HexSlot(a), "0x1c");
  EXPECT_EQ(HexFunction(a), "0x3");
}

TEST(HostdevXmlTest, FragmentMatchesGolden) {
  EXPECT_THAT(HostdevsXml(A5Specs()),
              ::sk::testing::IsOkAndHolds(Golden("hostdevs_a5.xml")));
}

TEST(HostdevXmlTest, DomainMatchesGolden) {
  DomainOptions o;
  o.name = "default_vmi-sriov";
  o.memory_kib = 2 * 1024 * 1024;
  o.vcpus = 2;
  EXPECT_THAT(DomainXml(o, A5Specs()),
              ::sk::testing::IsOkAndHolds(Golden("domain_a5.xml")));
}

// ACPI is on unless turned off (KubeVirt's default); off, no <features>.
TEST(HostdevXmlTest, DomainAcpiFeatureFollowsOption) {
  DomainOptions o;
  auto on = DomainXml(o, A5Specs());
  ASSERT_THAT(on, IsOk());
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(on->c_str()));
  EXPECT_TRUE(doc.child("domain").child("features").child("acpi"));
  o.acpi = false;
  auto off = DomainXml(o, A5Specs());
  ASSERT_THAT(off, IsOk());
  ASSERT_TRUE(doc.load_string(off->c_str()));
  EXPECT_FALSE(doc.child("domain").child("features"));
}

TEST(HostdevXmlTest, ElementOrderIsSourceBootAddressAlias) {
  auto xml = HostdevsXml(A5Specs());
  ASSERT_THAT(xml, IsOk());
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str()));
  pugi::xml_node h = doc.child("devices").child("hostdev");
  std::vector<std::string> names;
  for (pugi::xml_node c : h.children()) names.push_back(c.name());
  EXPECT_THAT(names,
              ::testing::ElementsAre("source", "boot", "address", "alias"));
  EXPECT_FALSE(h.child("source").child("address").attribute("type"));
  EXPECT_STREQ(h.child("address").attribute("type").value(), "pci");
  EXPECT_STREQ(h.attribute("managed").value(), "no");
}

TEST(HostdevXmlTest, EmptyListGivesEmptyDevices) {
  EXPECT_THAT(HostdevsXml({}), ::sk::testing::IsOkAndHolds("<devices />\n"));
}

TEST(HostdevXmlTest, AliasIsXmlEscaped) {
  HostdevSpec a;
  a.source = Addr("0000:81:01.0");
  a.alias = "ua-sriov-a\"<&>";
  auto xml = HostdevsXml({a});
  ASSERT_THAT(xml, IsOk());
  EXPECT_THAT(*xml, HasSubstr("name=\"ua-sriov-a&quot;&lt;&amp;>\""));
}

TEST(HostdevXmlTest, RejectsBadSpecs) {
  struct Case {
    const char* trace;
    std::vector<HostdevSpec> specs;
    const char* message;
  };
  std::vector<HostdevSpec> dup_src = A5Specs();
  dup_src[1].source = dup_src[0].source;
  std::vector<HostdevSpec> dup_alias = A5Specs();
  dup_alias[1].alias = dup_alias[0].alias;
  std::vector<HostdevSpec> zero_boot = A5Specs();
  zero_boot[0].boot_order = 0;
  std::vector<HostdevSpec> no_alias = A5Specs();
  no_alias[1].alias = "";
  const Case cases[] = {
      {"dup source", dup_src,
       "hostdev ua-sriov-sriov-net2: host PCI address 0000:81:01.0 is used by "
       "another hostdev"},
      {"dup alias", dup_alias,
       "hostdev alias \"ua-sriov-sriov-net\" is not unique"},
      {"zero boot", zero_boot,
       "hostdev ua-sriov-sriov-net: boot order must be greater than 0"},
      {"no alias", no_alias, "hostdev 1 (0001:3b:1f.7): alias is empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.trace);
    EXPECT_THAT(HostdevsXml(c.specs),
                StatusIs(absl::StatusCode::kInvalidArgument, c.message));
    EXPECT_THAT(DomainXml(DomainOptions{}, c.specs),
                StatusIs(absl::StatusCode::kInvalidArgument, c.message));
  }
}

TEST(HostdevXmlTest, RejectsBadDomainOptions) {
  DomainOptions no_name;
  no_name.name = "";
  EXPECT_THAT(
      DomainXml(no_name, A5Specs()),
      StatusIs(absl::StatusCode::kInvalidArgument, "domain name is empty"));
  DomainOptions no_mem;
  no_mem.memory_kib = 0;
  EXPECT_THAT(DomainXml(no_mem, A5Specs()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "domain sriovkit: memory must be greater than 0"));
  DomainOptions no_cpu;
  no_cpu.vcpus = 0;
  EXPECT_THAT(DomainXml(no_cpu, A5Specs()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "domain sriovkit: vcpus must be greater than 0"));
}

// libvirt's own schema and parser accept what we generate.
class LibvirtToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"virt-xml-validate", "virsh"}) {
      if (ToolPathForTest(tool).empty()) {
        GTEST_SKIP() << tool
                     << " not on PATH: install Debian libvirt-clients "
                        "(scripts/deps.sh)";
      }
    }
  }
  sk::testing::TempDir dir_;
};

TEST_F(LibvirtToolsTest, GeneratedDomainValidatesAndDefines) {
  DomainOptions o;
  o.name = "default_vmi-sriov";
  auto xml = DomainXml(o, A5Specs());
  ASSERT_THAT(xml, IsOk());
  auto file = WriteXmlForTest(dir_.path(), "d.xml", *xml);
  ToolRunForTest v = VirtXmlValidateForTest(file);
  EXPECT_EQ(v.exit_code, 0) << v.output;
  ToolRunForTest d = VirshDefineForTest(file);
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_THAT(d.output, HasSubstr("Domain 'default_vmi-sriov' defined"));
}

TEST_F(LibvirtToolsTest, DomainWithoutOptionalElementsValidates) {
  HostdevSpec a;
  a.source = Addr("0000:05:10.1");
  a.alias = SriovAlias("net1");
  auto xml = DomainXml(DomainOptions{}, {a});
  ASSERT_THAT(xml, IsOk());
  auto file = WriteXmlForTest(dir_.path(), "d.xml", *xml);
  ToolRunForTest v = VirtXmlValidateForTest(file);
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_EQ(VirshDefineForTest(file).exit_code, 0);
}

// The check has teeth: the schema rejects a type attribute on the source
// address (the reason we omit it), so the validator is really consulted.
TEST_F(LibvirtToolsTest, ValidatorRejectsTypedSourceAddress) {
  auto xml = DomainXml(DomainOptions{}, A5Specs());
  ASSERT_THAT(xml, IsOk());
  std::string bad = *xml;
  const std::string from = "<source>\n        <address ";
  size_t pos = bad.find(from);
  ASSERT_NE(pos, std::string::npos);
  bad.insert(pos + from.size(), "type=\"pci\" ");
  auto file = WriteXmlForTest(dir_.path(), "bad.xml", bad);
  ToolRunForTest v = VirtXmlValidateForTest(file);
  EXPECT_NE(v.exit_code, 0) << v.output;
  EXPECT_THAT(v.output, HasSubstr("fails to validate"));
}

// ...and virsh's parser is really consulted: libvirt rejects duplicate
// aliases (which HostdevsXml refuses to emit; forged here by editing text).
TEST_F(LibvirtToolsTest, VirshRejectsDuplicateAlias) {
  auto xml = DomainXml(DomainOptions{}, A5Specs());
  ASSERT_THAT(xml, IsOk());
  std::string bad = *xml;
  const std::string from = "ua-sriov-sriov-net2";
  size_t pos = bad.find(from);
  ASSERT_NE(pos, std::string::npos);
  bad.replace(pos, from.size(), "ua-sriov-sriov-net");
  auto file = WriteXmlForTest(dir_.path(), "bad.xml", bad);
  ToolRunForTest d = VirshDefineForTest(file);
  EXPECT_NE(d.exit_code, 0) << d.output;
  EXPECT_THAT(d.output, HasSubstr("non unique alias detected"));
}

TEST(DomainXmlTest, RefusesControlCharactersXmlCannotCarry) {
  DomainOptions o;
  o.name = "lab_vm\x01";
  EXPECT_THAT(DomainXml(o, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "domain name \"lab_vm\\x01\": contains a control "
                       "character XML 1.0 cannot carry"));
  HostdevSpec h;
  h.source = Addr("0000:01:10.2");
  h.alias = "ua-sriov-a\x1f";
  EXPECT_THAT(HostdevsXml({h}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "hostdev alias \"ua-sriov-a\\x1f\": contains a control "
                       "character XML 1.0 cannot carry"));
  o.name = "tab\tok";
  EXPECT_TRUE(DomainXml(o, {}).ok());
}

}  // namespace
}  // namespace sk::libvirt
