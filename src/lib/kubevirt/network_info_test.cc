#include "lib/kubevirt/network_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace sk::kubevirt {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

const std::string kTestdata = SK_KUBEVIRT_TESTDATA;

std::string ReadTestdata(const std::string& name) {
  return ::sk::testing::ReadTestFile(kTestdata, name);
}

TEST(NetworkStatusTest, ParsesAnnotationArray) {
  SK_ASSERT_OK_AND_ASSIGN(
      auto st,
      ParseNetworkStatus(ReadTestdata("network-status-vm-two-sriov.json")));
  ASSERT_EQ(st.size(), 3u);
  EXPECT_TRUE(st[0].default_route);
  EXPECT_TRUE(st[0].device_info.is_null());
  EXPECT_EQ(st[1].name, "lab/sriov-plain");
  EXPECT_EQ(st[1].interface, "podee37c5ff5f1");
  EXPECT_EQ(st[1].mtu, 1500);
  EXPECT_EQ(st[1].device_info["pci"]["pci-address"], "0000:05:10.3");
}

TEST(NetworkStatusTest, ReadsAnnotationFromPodObject) {
  SK_ASSERT_OK_AND_ASSIGN(
      auto st,
      ParseNetworkStatus(ReadTestdata("pod-with-network-status.yaml")));
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[1].interface, "net1");
  EXPECT_EQ(DetectPodIfaceNaming(st), PodIfaceNaming::kOrdinal);
}

TEST(NetworkStatusTest, Errors) {
  EXPECT_THAT(ParseNetworkStatus("kind: Pod\nmetadata: {name: p}\n"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("pod has no metadata.annotations[\"k8s.v1."
                                 "cni.cncf.io/network-status\"]")));
  EXPECT_THAT(ParseNetworkStatus("[{"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-status: not valid JSON at byte 2: syntax "
                       "error while parsing object key - unexpected end of "
                       "input; expected string literal"));
  EXPECT_THAT(
      ParseNetworkStatus(R"([{"name":"a","interface":3}])"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "network-status: [0].interface: expected a string, got 3"));
  EXPECT_THAT(
      ParseNetworkStatus(R"([{"name":"a","mtu":"x"}])"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "network-status: [0].mtu: expected an integer, got \"x\""));
  EXPECT_THAT(
      ParseNetworkStatus(R"([{"name":"a","device-info":[]}])"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "network-status: [0].device-info: expected an object, got []"));
  EXPECT_THAT(ParseNetworkStatus(R"([1])"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-status: [0]: expected an object, got 1"));
}

TEST(NetworkInfoTest, BuildsGoldenAnnotationSortedByNetwork) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  SK_ASSERT_OK_AND_ASSIGN(
      auto st,
      ParseNetworkStatus(ReadTestdata("network-status-vm-two-sriov.json")));
  EXPECT_EQ(DetectPodIfaceNaming(st), PodIfaceNaming::kHashed);
  NetworkInfo info = BuildNetworkInfo(vmi, st);
  EXPECT_THAT(info.warnings, IsEmpty());
  EXPECT_EQ(info.annotation.dump() + "\n",
            ReadTestdata("network-info-vm-two-sriov.json"));
}

TEST(NetworkInfoTest, OrdinalPodMatchesNetN) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi, LoadVmiFile(kTestdata + "/vmi-sriov.yaml"));
  SK_ASSERT_OK_AND_ASSIGN(
      auto st,
      ParseNetworkStatus(ReadTestdata("pod-with-network-status.yaml")));
  NetworkInfo info = BuildNetworkInfo(vmi, st);
  EXPECT_EQ(
      info.annotation.dump(),
      R"({"interfaces":[{"network":"sriov-net","deviceInfo":{"type":"pci","version":"1.0.0","pci":{"pci-address":"0000:65:00.3"}},"mac":"de:ad:00:00:be:af"}]})");
}

TEST(NetworkInfoTest, MissingEntriesAndDeviceInfoBecomeWarnings) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  SK_ASSERT_OK_AND_ASSIGN(
      auto st,
      ParseNetworkStatus(
          R"([{"name":"lab/sriov-vlan100","interface":"pod1dc8e509362"}])"));
  NetworkInfo info = BuildNetworkInfo(vmi, st);
  EXPECT_EQ(info.annotation.dump(), R"({"interfaces":[]})");
  EXPECT_THAT(
      info.warnings,
      ElementsAre("network \"sriov-a\": network-status entry lab/sriov-vlan100 "
                  "(pod1dc8e509362) has no device-info; the CNI plugin or "
                  "Multus did not publish the VF's PCI address",
                  "network \"sriov-b\": pod interface podee37c5ff5f1 is not in "
                  "network-status (not attached yet?)"));
}

TEST(NetworkInfoPciTest, ParsesAndCanonicalises) {
  EXPECT_THAT(
      ParseNetworkInfoPci(ReadTestdata("network-info-vm-two-sriov.json")),
      IsOkAndHolds(ElementsAre(Pair("sriov-a", "0000:05:10.1"),
                               Pair("sriov-b", "0000:05:10.3"))));
  EXPECT_THAT(
      ParseNetworkInfoPci(
          R"({"interfaces":[{"network":"n","deviceInfo":{"type":"pci","pci":{"pci-address":"0000:3B:02.1"}}},
                            {"network":"vhost","deviceInfo":{"type":"vhost-user"}}]})"),
      IsOkAndHolds(ElementsAre(Pair("n", "0000:3b:02.1"))));
  EXPECT_THAT(ParseNetworkInfoPci("  \n"), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(ParseNetworkInfoPci("{}"), IsOkAndHolds(IsEmpty()));
}

TEST(NetworkInfoPciTest, Errors) {
  EXPECT_THAT(ParseNetworkInfoPci("{"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-info: not valid JSON at byte 1: syntax "
                       "error while parsing object key - unexpected end of "
                       "input; expected string literal"));
  EXPECT_THAT(ParseNetworkInfoPci("[]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-info: $: expected an object, got []"));
  EXPECT_THAT(ParseNetworkInfoPci(R"({"interfaces":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-info: interfaces: expected a list, got {}"));
  EXPECT_THAT(
      ParseNetworkInfoPci(R"({"interfaces":[{"deviceInfo":{}}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "network-info: interfaces[0].network: expected a string, got "
               "nothing"));
  EXPECT_THAT(
      ParseNetworkInfoPci(
          R"({"interfaces":[{"network":"n","deviceInfo":{"pci":{"pci-address":"zz"}}}]})"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("network-info: interfaces[0].deviceInfo.pci.pci-address: "
                    "(network \"n\"): invalid PCI address \"zz\"")));
  EXPECT_THAT(
      ParseNetworkInfoPci(
          R"({"interfaces":[{"network":"n","deviceInfo":{"pci":{"pci-address":"0000:01:00.1"}}},
                            {"network":"n","deviceInfo":{"pci":{"pci-address":"0000:01:00.2"}}}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "network-info: interfaces[1]: network \"n\" listed twice"));
}

TEST(NetworkStatusTest, DeeplyNestedInputIsRefusedNamingTheLimit) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(ParseNetworkStatus(deep),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-status: JSON nested deeper than 64 levels "
                       "at byte 64"));
  EXPECT_THAT(ParseNetworkStatus(R"({"kind":"Pod","metadata":{"annotations":)" +
                                 deep + "}}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("JSON nested deeper than 64 levels")));
  EXPECT_THAT(ParseNetworkInfoPci(R"({"interfaces":)" + deep + "}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network-info: JSON nested deeper than 64 levels at "
                       "byte 77"));
}

}  // namespace
}  // namespace sk::kubevirt
