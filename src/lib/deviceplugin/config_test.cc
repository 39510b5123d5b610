#include "lib/deviceplugin/config.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

absl::StatusOr<Config> Parse(const std::string& text) {
  return ParseConfig(text, "config.json", "intel.com");
}

TEST(ConfigTest, ParsesReferenceExampleWithListAndObjectSelectors) {
  SK_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"({
    "resourceList": [
      {"resourceName": "sriov_netdev",
       "selectors": [{"vendors": ["8086"], "devices": ["154c","1889"],
                      "drivers": ["iavf"], "pfNames": ["ens1f0#0-7"]}]},
      {"resourceName": "sriov_dpdk", "resourcePrefix": "example.com",
       "excludeTopology": true,
       "selectors": {"drivers": ["vfio-pci"],
                     "rootDevices": ["0000:86:00.0#8-15"],
                     "needVhostNet": true},
       "additionalInfo": {"*": {"token": "abc"},
                          "0000:86:02.0": {"token": "special"}}},
      {"resourceName": "fec", "deviceType": "accelerator",
       "selectors": [{"vendors": ["8086"], "devices": ["0d5c"]}]}
    ]})"));
  ASSERT_THAT(c.resources, SizeIs(3));
  EXPECT_THAT(c.pool_errors, IsEmpty());
  const ResourceConfig& a = c.resources[0];
  EXPECT_EQ(a.FullName(), "intel.com/sriov_netdev");
  EXPECT_EQ(a.device_type, DeviceType::kNetDevice);
  ASSERT_THAT(a.selectors, SizeIs(1));
  EXPECT_THAT(a.selectors[0].devices, ElementsAre("154c", "1889"));
  ASSERT_THAT(a.selectors[0].pf_names, SizeIs(1));
  EXPECT_EQ(a.selectors[0].pf_names[0].pf, "ens1f0");
  EXPECT_THAT(a.selectors[0].pf_names[0].ranges, ElementsAre(Pair(0, 7)));
  const ResourceConfig& b = c.resources[1];
  EXPECT_EQ(b.FullName(), "example.com/sriov_dpdk");
  EXPECT_TRUE(b.exclude_topology);
  ASSERT_THAT(b.selectors, SizeIs(1));
  EXPECT_TRUE(b.selectors[0].need_vhost_net);
  EXPECT_EQ(b.additional_info.at("0000:86:02.0").at("token"), "special");
  EXPECT_EQ(c.resources[2].device_type, DeviceType::kAccelerator);
}

TEST(ConfigTest, KeysMatchCaseInsensitivelyAsTheOperatorEmitsThem) {
  SK_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"({"ResourceList": [
    {"ResourceName": "x", "SelectorObj": null,
     "Selectors": [{"IsRdma": true, "NeedVhostNet": true, "VENDORS": ["15b3"]}],
     "AdditionalInfo": {"0000:01:00.1": {"MyKey": "v"}}}]})"));
  ASSERT_THAT(c.resources, SizeIs(1));
  const Selector& s = c.resources[0].selectors[0];
  EXPECT_TRUE(s.is_rdma);
  EXPECT_TRUE(s.need_vhost_net);
  EXPECT_THAT(s.vendors, ElementsAre("15b3"));
  // Map keys keep their case.
  EXPECT_EQ(c.resources[0].additional_info.at("0000:01:00.1").at("MyKey"), "v");
  EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(ConfigTest, ExactKeyWinsOverCaseInsensitiveMatch) {
  SK_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"({"resourceList": [
    {"RESOURCENAME": "upper", "resourceName": "exact", "selectors": {}}]})"));
  ASSERT_THAT(c.resources, SizeIs(1));
  EXPECT_EQ(c.resources[0].resource_name, "exact");
}

TEST(ConfigTest, UnknownKeysAreIgnoredWithAWarningNamingThePath) {
  SK_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"({"resourceList": [
    {"resourceName": "a", "sriovMode": true,
     "selectors": [{"vendor": ["8086"]}]}]})"));
  ASSERT_THAT(c.resources, SizeIs(1));
  EXPECT_THAT(c.warnings,
              ElementsAre("config.json: resourceList[0].sriovMode: unknown "
                          "key ignored",
                          "config.json: resourceList[0].selectors[0].vendor: "
                          "unknown key ignored"));
}

TEST(ConfigTest, OneBadEntryIsDroppedAndTheOthersSurvive) {
  SK_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"({"resourceList": [
    {"resourceName": "bad name!", "selectors": {}},
    {"resourceName": "good", "selectors": {}},
    {"resourceName": "good", "selectors": {}},
    {"resourceName": "t", "deviceType": "gpu", "selectors": {}},
    {"resourceName": "v", "selectors": [{"vendors": "8086"}]},
    {"resourceName": "e", "selectors": []},
    {"resourceName": "n"},
    {"resourceName": "r", "selectors": [{"pfNames": ["ens1#3-1"]}]},
    {"resourceName": "u", "selectors": [{"vdpaType": "vhost-user"}]},
    {"resourceName": "aux", "deviceType": "auxNetDevice", "selectors": {}}
  ]})"));
  ASSERT_THAT(c.resources, SizeIs(1));
  EXPECT_EQ(c.resources[0].resource_name, "good");
  ASSERT_THAT(c.pool_errors, SizeIs(9));
  const char* want[] = {
      "config.json: resourceList[0].resourceName: \"bad name!\" is not a "
      "Kubernetes resource name: byte \" \" not allowed (1-63 bytes of "
      "letters, digits, '-', '_' and '.', starting and ending with a letter "
      "or digit)",
      "config.json: resourceList[2].resourceName: duplicate resource "
      "\"intel.com/good\"; entry dropped",
      "config.json: resourceList[3].deviceType: expected netDevice, "
      "accelerator or auxNetDevice, got \"gpu\"",
      "config.json: resourceList[4].selectors[0].vendors: expected a list "
      "of strings, got \"8086\"",
      "config.json: resourceList[5].selectors: empty list",
      "config.json: resourceList[6].selectors: expected an object or a list "
      "of objects, got nothing",
      "config.json: resourceList[7].selectors[0].pfNames[0]: invalid value "
      "\"ens1#3-1\": VF range \"3-1\" is reversed",
      "config.json: resourceList[8].selectors[0].vdpaType: expected vhost or "
      "virtio, got \"vhost-user\"",
      "config.json: resourceList[9].selectors.auxTypes: missing or empty: an "
      "auxNetDevice selector needs auxTypes ([\"sf\"])",
  };
  for (size_t i = 0; i < c.pool_errors.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_THAT(c.pool_errors[i],
                StatusIs(absl::StatusCode::kInvalidArgument, want[i]));
  }
}

constexpr char kDnsRule[] =
    " (RFC 1123: lower-case letters, digits, '-' and '.'; labels of 1-63 "
    "bytes that start and end with a letter or digit; at most 253 bytes)";
constexpr char kNameRule[] =
    " (1-63 bytes of letters, digits, '-', '_' and '.', starting and ending "
    "with a letter or digit)";

// Prefix and name become the socket's file name and kubelet's resource
// name: "../x" once put the socket outside the device-plugin directory.
TEST(ConfigTest, PrefixAndNameFollowKubernetesNameRules) {
  const std::string long_name(64, 'n');
  SK_ASSERT_OK_AND_ASSIGN(Config c, Parse(R"({"resourceList": [
    {"resourceName": "ok", "resourcePrefix": "example.com", "selectors": {}},
    {"resourceName": "x", "resourcePrefix": "../x", "selectors": {}},
    {"resourceName": "y", "resourcePrefix": "Example.com", "selectors": {}},
    {"resourceName": "../../etc/evil", "selectors": {}},
    {"resourceName": "_lead", "selectors": {}},
    {"resourceName": ")" + long_name + R"(", "selectors": {}},
    {"resourceName": "z", "resourcePrefix": "kubernetes.io", "selectors": {}},
    {"resourceName": "w", "resourcePrefix": "a-.example.com", "selectors": {}},
    {"resourceName": "dots.ok_1", "resourcePrefix": "a-b.example.com",
     "selectors": {}}
  ]})"));
  ASSERT_THAT(c.resources, SizeIs(2));
  EXPECT_EQ(c.resources[0].FullName(), "example.com/ok");
  EXPECT_EQ(c.resources[1].FullName(), "a-b.example.com/dots.ok_1");
  const std::string want[] = {
      std::string("config.json: resourceList[1].resourcePrefix: \"../x\" is "
                  "not a DNS subdomain: empty label") +
          kDnsRule,
      std::string("config.json: resourceList[2].resourcePrefix: "
                  "\"Example.com\" is not a DNS subdomain: byte \"E\" not "
                  "allowed") +
          kDnsRule,
      std::string("config.json: resourceList[3].resourceName: "
                  "\"../../etc/evil\" is not a Kubernetes resource name: byte "
                  "\"/\" not allowed") +
          kNameRule,
      std::string("config.json: resourceList[4].resourceName: \"_lead\" is "
                  "not a Kubernetes resource name: must start and end with a "
                  "letter or digit") +
          kNameRule,
      "config.json: resourceList[5].resourceName: \"" + long_name +
          "\" is not a Kubernetes resource name: 64 bytes, more than 63" +
          kNameRule,
      "config.json: resourceList[6]: \"kubernetes.io/z\" is not an extended "
      "resource name: the kubernetes.io namespace is reserved for native "
      "resources",
      std::string("config.json: resourceList[7].resourcePrefix: "
                  "\"a-.example.com\" is not a DNS subdomain: label \"a-\" "
                  "starts or ends with '-'") +
          kDnsRule,
  };
  ASSERT_THAT(c.pool_errors, SizeIs(std::size(want)));
  for (size_t i = 0; i < std::size(want); ++i) {
    SCOPED_TRACE(i);
    EXPECT_THAT(c.pool_errors[i],
                StatusIs(absl::StatusCode::kInvalidArgument, want[i]));
  }
}

TEST(ConfigTest, InvalidDefaultPrefixDropsOnlyTheEntriesThatUseIt) {
  SK_ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"({"resourceList": [
    {"resourceName": "a", "selectors": {}},
    {"resourceName": "b", "resourcePrefix": "example.com", "selectors": {}}
  ]})",
                                                "config.json", "../evil"));
  ASSERT_THAT(c.resources, SizeIs(1));
  EXPECT_EQ(c.resources[0].FullName(), "example.com/b");
  ASSERT_THAT(c.pool_errors, SizeIs(1));
  EXPECT_THAT(c.pool_errors[0],
              StatusIs(absl::StatusCode::kInvalidArgument,
                       std::string("config.json: resourceList[0]."
                                   "resourcePrefix: --resource-prefix "
                                   "\"../evil\" is not a DNS subdomain: empty "
                                   "label") +
                           kDnsRule));
}

TEST(ConfigTest, WholeFileErrorsNameTheFile) {
  EXPECT_THAT(Parse("{\"resourceList\": [],}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("config.json: not valid JSON at byte")));
  EXPECT_THAT(Parse("[]"), StatusIs(absl::StatusCode::kInvalidArgument,
                                    "config.json: $: expected a JSON object, "
                                    "got []"));
  EXPECT_THAT(Parse(R"({"resourceList": {}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "config.json: resourceList: expected an array, got {}"));
}

TEST(ConfigTest, EmptyOrMissingResourceListIsAnIdleConfig) {
  SK_ASSERT_OK_AND_ASSIGN(Config a, Parse("{}"));
  EXPECT_THAT(a.resources, IsEmpty());
  SK_ASSERT_OK_AND_ASSIGN(Config b, Parse(R"({"resourceList": []})"));
  EXPECT_THAT(b.resources, IsEmpty());
}

TEST(ConfigTest, LoadConfigFileReportsMissingFileWithPath) {
  sk::testing::TempDir dir;
  std::string path = (dir / "config.json").string();
  EXPECT_THAT(LoadConfigFile(path, "intel.com"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
  std::ofstream(path) << R"({"resourceList":[{"resourceName":"a",
      "selectors":{"drivers":["vfio-pci"]}}]})";
  SK_ASSERT_OK_AND_ASSIGN(Config c, LoadConfigFile(path, "example.org"));
  ASSERT_THAT(c.resources, SizeIs(1));
  EXPECT_EQ(c.resources[0].FullName(), "example.org/a");
}

TEST(PfSelectorTest, ParsesRangeSyntax) {
  struct Case {
    const char* text;
    const char* pf;
    std::vector<std::pair<int, int>> ranges;
  } cases[] = {
      {"ens1f0", "ens1f0", {}},
      {"ens1f0#0-3", "ens1f0", {{0, 3}}},
      {"netpf0#0,2-7,9", "netpf0", {{0, 0}, {2, 7}, {9, 9}}},
      {"0000:86:00.0#0-1,3,4", "0000:86:00.0", {{0, 1}, {3, 3}, {4, 4}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    SK_ASSERT_OK_AND_ASSIGN(PfSelector p, PfSelector::Parse(c.text));
    EXPECT_EQ(p.pf, c.pf);
    EXPECT_EQ(p.ranges, c.ranges);
  }
}

TEST(PfSelectorTest, RejectsMalformedRanges) {
  for (const char* bad : {"#1", "p#", "p#a", "p#1-", "p#-1", "p#1-2-3",
                          "p#1,,2", "p# 1", "p#5-2"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(PfSelector::Parse(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::string("\"") + bad + "\"")));
  }
}

TEST(PfSelectorTest, ContainsHonoursInclusiveRanges) {
  SK_ASSERT_OK_AND_ASSIGN(PfSelector p, PfSelector::Parse("p#0,2-3"));
  EXPECT_TRUE(p.Contains(0));
  EXPECT_FALSE(p.Contains(1));
  EXPECT_TRUE(p.Contains(2));
  EXPECT_TRUE(p.Contains(3));
  EXPECT_FALSE(p.Contains(4));
  SK_ASSERT_OK_AND_ASSIGN(PfSelector all, PfSelector::Parse("p"));
  EXPECT_TRUE(all.Contains(63));
}

// A 200 kB file of nested arrays crash-looped the plugin (stack overflow).
TEST(ConfigTest, DeeplyNestedConfigIsRefusedNotACrash) {
  const std::string text = R"({"resourceList":[{"resourceName":"a","x":)" +
                           std::string(100000, '[') + std::string(100000, ']') +
                           "}]}";
  EXPECT_THAT(Parse(text),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "config.json: JSON nested deeper than 64 levels at "
                       "byte 102"));
}

TEST(ConfigTest, FileOverFourMebibytesIsRefused) {
  sk::testing::TempDir dir;
  const std::string path = (dir / "config.json").string();
  std::ofstream(path) << R"({"resourceList":[], "pad":")"
                      << std::string(size_t{4} << 20, ' ') << "\"}";
  EXPECT_THAT(LoadConfigFile(path, "intel.com"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       path + ": larger than the 4194304-byte limit"));
}

}  // namespace
}  // namespace sk::deviceplugin
