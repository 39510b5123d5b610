#include "lib/cni/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/strings.h"
#include "lib/cni/error.h"
#include "tests/testing/status_matchers.h"

namespace sk::cni {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

std::string Conf(const std::string& extra) {
  return R"({"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":"0000:af:06.0")" +
         extra + "}";
}

TEST(NetConfTest, ParsesUpstreamExample) {
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf c,
      ParseNetConf(
          Conf(
              R"(,"vlan":1000,"vlanQoS":4,"vlanProto":"802.1AD","spoofchk":"off",
        "trust":"on","link_state":"enable","min_tx_rate":100,"max_tx_rate":200,
        "mac":"CA:FE:C0:FF:EE:00","ipam":{"type":"host-local","subnet":"10.56.217.0/24"},
        "runtimeConfig":{"mac":"02:00:00:00:00:01","CNIDeviceInfoFile":"/run/d/x"},"vf":0,"mtu":1400)"),
          Strictness::kFull));
  EXPECT_EQ(c.device_id, "0000:af:06.0");
  EXPECT_EQ(c.vlan, 1000u);
  EXPECT_EQ(c.vlan_qos, 4u);
  EXPECT_EQ(c.vlan_proto, "802.1ad");
  EXPECT_EQ(c.vlan_proto_ethertype(), 0x88a8);
  EXPECT_EQ(c.spoofchk, false);
  EXPECT_EQ(c.trust, true);
  EXPECT_EQ(c.link_state_value(), 1u);
  EXPECT_EQ(c.min_tx_rate, 100u);
  EXPECT_EQ(c.mac, "ca:fe:c0:ff:ee:00");
  EXPECT_EQ(c.ipam_type, "host-local");
  EXPECT_EQ(c.runtime_mac, "02:00:00:00:00:01");
  EXPECT_EQ(c.device_info_file, "/run/d/x");
  EXPECT_EQ(c.mtu, 1400u);
}

TEST(NetConfTest, AbsentVlanIsUntouchedAndNullIsAbsent) {
  SK_ASSERT_OK_AND_ASSIGN(NetConf a, ParseNetConf(Conf(""), Strictness::kFull));
  EXPECT_FALSE(a.vlan.has_value());
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf b, ParseNetConf(Conf(R"(,"vlan":null)"), Strictness::kFull));
  EXPECT_FALSE(b.vlan.has_value());
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf z, ParseNetConf(Conf(R"(,"vlan":0)"), Strictness::kFull));
  EXPECT_EQ(z.vlan, 0u);
}

struct BadCase {
  const char* extra;
  int code;
  const char* msg;
};

TEST(NetConfTest, RejectsInvalidFieldsWithCodeAndMessage) {
  const BadCase cases[] = {
      {R"(,"vlan":4095)", 7,
       "vlan id 4095 invalid: value must be in the range 0-4094"},
      {R"(,"vlan":-1)", 7,
       "network config: vlan: expected an integer in 0..4294967295, got -1"},
      {R"(,"vlan":"5")", 7,
       "network config: vlan: expected an integer in 0..4294967295, got \"5\""},
      {R"(,"vlan":1,"vlanQoS":8)", 7,
       "vlan QoS PCP 8 invalid: value must be in the range 0-7"},
      {R"(,"vlanQoS":1)", 7,
       "vlan id must be configured to set vlan QoS to a non-nil value"},
      {R"(,"vlan":0,"vlanQoS":1)", 7,
       "non-zero vlan id must be configured to set vlan QoS to a non-zero "
       "value"},
      {R"(,"vlanProto":"802.1q")", 7,
       "vlan id must be configured to set vlan proto to a non-nil value"},
      {R"(,"vlan":0,"vlanProto":"802.1ad")", 7,
       "non-zero vlan id must be configured to set vlan proto 802.1ad"},
      {R"(,"vlan":3,"vlanProto":"qinq")", 7,
       "vlan Proto qinq invalid: value must be '802.1Q' or '802.1ad'"},
      {R"(,"spoofchk":"yes")", 7,
       "spoofchk \"yes\" invalid: value must be \"on\" or \"off\""},
      {R"(,"trust":"ON")", 7,
       "trust \"ON\" invalid: value must be \"on\" or \"off\""},
      {R"(,"link_state":"up")", 7, "invalid link_state value: up"},
      {R"(,"min_tx_rate":300,"max_tx_rate":200)", 7,
       "min_tx_rate 300 invalid: greater than max_tx_rate 200"},
      {R"(,"mac":"01:00:5e:00:00:01")", 7,
       "mac \"01:00:5e:00:00:01\" invalid: multicast address"},
      {R"(,"mac":"00:00:00:00:00:00")", 7,
       "mac \"00:00:00:00:00:00\" invalid: all zeros"},
      {R"(,"mac":"zz")", 7, "mac \"zz\" invalid: not a MAC address"},
      {R"(,"mtu":10)", 7,
       "mtu 10 invalid: value must be in the range 68-65535"},
      {R"(,"ipam":"host-local")", 7,
       "network config: ipam: expected an object, got \"host-local\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.extra);
    auto r = ParseNetConf(Conf(c.extra), Strictness::kFull);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(CniCodeOf(r.status()), c.code);
    EXPECT_EQ(std::string(r.status().message()), c.msg);
  }
}

TEST(NetConfTest, MinRateWithZeroMaxMeansUnlimited) {
  EXPECT_THAT(ParseNetConf(Conf(R"(,"min_tx_rate":300,"max_tx_rate":0)"),
                           Strictness::kFull),
              sk::testing::IsOk());
}

TEST(NetConfTest, DeviceIdRequiredAndMustBeBdf) {
  auto missing =
      ParseNetConf(R"({"cniVersion":"1.0.0","name":"n"})", Strictness::kFull);
  EXPECT_EQ(CniCodeOf(missing.status()), 7);
  EXPECT_EQ(std::string(missing.status().message()),
            "LoadConf(): VF pci addr is required");
  for (const char* bad : {"af:06.0", "0000:af:06", "0000:af:06.9", "eth0"}) {
    SCOPED_TRACE(bad);
    auto r = ParseNetConf(
        std::string(R"({"cniVersion":"1.0.0","name":"n","deviceID":")") + bad +
            "\"}",
        Strictness::kFull);
    EXPECT_EQ(CniCodeOf(r.status()), 7);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr(std::string("deviceID \"") + bad + "\" invalid"));
  }
}

TEST(NetConfTest, DecodeNameAndVersionErrors) {
  auto not_json = ParseNetConf("{", Strictness::kLenient);
  EXPECT_EQ(CniCodeOf(not_json.status()), 6);
  auto no_name =
      ParseNetConf(R"({"cniVersion":"1.0.0"})", Strictness::kLenient);
  EXPECT_EQ(CniCodeOf(no_name.status()), 7);
  EXPECT_EQ(std::string(no_name.status().message()), "missing network name");
  auto bad_name = ParseNetConf(R"({"cniVersion":"1.0.0","name":"-x"})",
                               Strictness::kLenient);
  EXPECT_EQ(std::string(bad_name.status().message()),
            "invalid characters found in network name");
  auto version = ParseNetConf(R"({"cniVersion":"0.2.0","name":"n"})",
                              Strictness::kLenient);
  EXPECT_EQ(CniCodeOf(version.status()), 1);
  EXPECT_EQ(std::string(version.status().message()),
            "incompatible CNI versions");
  EXPECT_THAT(CniDetailsOf(version.status()), HasSubstr("config is \"0.2.0\""));
}

TEST(NetConfTest, LenientAcceptsUpstreamLooseValues) {
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf c,
      ParseNetConf(R"({"cniVersion":"1.0.0","name":"n","spoofchk":"yes"})",
                   Strictness::kLenient));
  EXPECT_EQ(c.spoofchk, false);
}

TEST(NetConfTest, GcAttachmentsAcceptBothKeys) {
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf a,
      ParseNetConf(
          R"({"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"net1"}]})",
          Strictness::kLenient));
  ASSERT_TRUE(a.valid_attachments.has_value());
  EXPECT_EQ(a.valid_attachments->at(0),
            std::make_pair(std::string("c1"), std::string("net1")));
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf b,
      ParseNetConf(
          R"({"cniVersion":"1.1.0","name":"n","cni.dev/attachments":[{"containerID":"c2","ifname":"net2"}]})",
          Strictness::kLenient));
  EXPECT_EQ(b.valid_attachments->at(0).first, "c2");
  SK_ASSERT_OK_AND_ASSIGN(NetConf none,
                          ParseNetConf(R"({"cniVersion":"1.1.0","name":"n"})",
                                       Strictness::kLenient));
  EXPECT_FALSE(none.valid_attachments.has_value());
}

TEST(EffectiveMacTest, PrecedenceConfigThenArgsThenRuntime) {
  SK_ASSERT_OK_AND_ASSIGN(
      NetConf c,
      ParseNetConf(Conf(R"(,"mac":"02:00:00:00:00:01")"), Strictness::kFull));
  std::map<std::string, std::string> args;
  EXPECT_THAT(EffectiveMac(c, args),
              sk::testing::IsOkAndHolds(
                  std::optional<std::string>("02:00:00:00:00:01")));
  args["MAC"] = "02:00:00:00:00:0A";
  EXPECT_THAT(EffectiveMac(c, args),
              sk::testing::IsOkAndHolds(
                  std::optional<std::string>("02:00:00:00:00:0a")));
  c.runtime_mac = "02:00:00:00:00:03";
  EXPECT_THAT(EffectiveMac(c, args),
              sk::testing::IsOkAndHolds(
                  std::optional<std::string>("02:00:00:00:00:03")));
  c.runtime_mac = "ff:ff:ff:ff:ff:ff";
  auto bad = EffectiveMac(c, args);
  EXPECT_EQ(CniCodeOf(bad.status()), 7);
  EXPECT_EQ(
      std::string(bad.status().message()),
      "runtimeConfig.mac \"ff:ff:ff:ff:ff:ff\" invalid: multicast address");
}

// ~80,000 levels under a typed key overflowed the stack of the plugin.
TEST(NetConfTest, DeeplyNestedValueIsADecodeErrorNotACrash) {
  const std::string deep =
      std::string(80000, '[') + "1" + std::string(80000, ']');
  for (const char* key : {"vlan", "prevResult", "ipam"}) {
    SCOPED_TRACE(key);
    absl::StatusOr<NetConf> c = ParseNetConf(
        Conf(sk::StrCat(",\"", key, "\":", deep)), Strictness::kFull);
    EXPECT_EQ(CniCodeOf(c.status()), kCniDecodeFailure);
    EXPECT_THAT(c.status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("nested deeper than 64 levels at byte")));
  }
}

TEST(NetConfTest, ConfigOverOneMebibyteIsRefused) {
  const std::string big =
      Conf(",\"x\":\"" + std::string(size_t{1} << 20, 'a') + "\"");
  absl::StatusOr<NetConf> c = ParseNetConf(big, Strictness::kFull);
  EXPECT_EQ(CniCodeOf(c.status()), kCniInvalidConfig);
  EXPECT_THAT(c.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the 1048576-byte limit")));
}

}  // namespace
}  // namespace sk::cni
