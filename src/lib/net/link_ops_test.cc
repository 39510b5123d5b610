#include "lib/net/link_ops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/status_matchers.h"

namespace sk::net {
namespace {

using netlink::AttrList;
using netlink::Message;
using ::sk::testing::FakeNetlinkSocket;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

Message Error(int errnum, const char* text) {
  netlink::MessageBuilder b(NLMSG_ERROR, NLM_F_ACK_TLVS | NLM_F_CAPPED);
  nlmsgerr e{};
  e.error = -errnum;
  b.PutHeader(e);
  b.PutString(NLMSGERR_ATTR_MSG, text);
  return std::move(b).Build();
}

LinkInfo SamplePf() {
  LinkInfo pf;
  pf.index = 4;
  pf.name = "enp175s0f1";
  pf.mac = *ParseMac("3c:fd:fe:00:00:01");
  pf.mtu = 9000;
  pf.flags = IFF_UP;
  pf.altnames = {"enxabc"};
  pf.num_vf = 2;
  VfInfo vf0;
  vf0.id = 0;
  vf0.mac = *ParseMac("00:00:00:00:00:00");
  vf0.spoofchk = true;
  VfInfo vf1;
  vf1.id = 1;
  vf1.mac = *ParseMac("02:00:00:00:00:11");
  vf1.vlan = 1234;
  vf1.qos = 3;
  vf1.vlan_proto = kEthP8021AD;
  vf1.min_tx_rate = 100;
  vf1.max_tx_rate = 200;
  vf1.trust = true;
  vf1.link_state = IFLA_VF_LINK_STATE_DISABLE;
  pf.vfs = {vf0, vf1};
  return pf;
}

TEST(LinkCodecTest, EncodeParseRoundTripWithVfs) {
  LinkInfo pf = SamplePf();
  SK_ASSERT_OK_AND_ASSIGN(LinkInfo got, ParseLink(EncodeLink(pf, true)));
  EXPECT_EQ(got, pf);
  SK_ASSERT_OK_AND_ASSIGN(LinkInfo no_vfs, ParseLink(EncodeLink(pf, false)));
  EXPECT_TRUE(no_vfs.vfs.empty());
  EXPECT_EQ(no_vfs.name, "enp175s0f1");
}

TEST(LinkCodecTest, SetVfRoundTripsEveryField) {
  VfInfo v = SamplePf().vfs[1];
  for (VfField f : {VfField::kVlan, VfField::kMac, VfField::kRate,
                    VfField::kSpoofchk, VfField::kTrust, VfField::kLinkState}) {
    SCOPED_TRACE(VfFieldName(f));
    SK_ASSERT_OK_AND_ASSIGN(SetVfRequest r, ParseSetVf(BuildSetVf(4, f, v)));
    EXPECT_EQ(r.pf_index, 4);
    EXPECT_EQ(r.field, f);
    EXPECT_EQ(r.values.id, 1u);
  }
  SK_ASSERT_OK_AND_ASSIGN(SetVfRequest r,
                          ParseSetVf(BuildSetVf(4, VfField::kRate, v)));
  EXPECT_EQ(r.values.min_tx_rate, 100u);
  EXPECT_EQ(r.values.max_tx_rate, 200u);
}

TEST(LinkCodecTest, SetVfsCarriesEveryFieldInOneVfInfoInTheGivenOrder) {
  VfInfo v = SamplePf().vfs[1];
  std::vector<VfField> fields = {VfField::kVlan,  VfField::kMac,
                                 VfField::kRate,  VfField::kSpoofchk,
                                 VfField::kTrust, VfField::kLinkState};
  Message m = BuildSetVfs(9, fields, v);
  SK_ASSERT_OK_AND_ASSIGN(SetVfsRequest r, ParseSetVfs(m));
  EXPECT_EQ(r.pf_index, 9);
  EXPECT_EQ(r.fields, fields);
  EXPECT_EQ(r.values, v);
  // One IFLA_VFINFO_LIST, one IFLA_VF_INFO, six attributes in that order.
  SK_ASSERT_OK_AND_ASSIGN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  ASSERT_EQ(attrs.all().size(), 1u);
  SK_ASSERT_OK_AND_ASSIGN(AttrList list, attrs.all()[0].Nested());
  ASSERT_EQ(list.all().size(), 1u);
  SK_ASSERT_OK_AND_ASSIGN(AttrList info, list.all()[0].Nested());
  std::vector<uint16_t> types;
  for (const auto& a : info.all()) types.push_back(a.type);
  EXPECT_EQ(types, (std::vector<uint16_t>{IFLA_VF_VLAN_LIST, IFLA_VF_MAC,
                                          IFLA_VF_RATE, IFLA_VF_SPOOFCHK,
                                          IFLA_VF_TRUST, IFLA_VF_LINK_STATE}));
  // A multi-field request is not a single-field one.
  EXPECT_THAT(ParseSetVf(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("single-field")));
  // A field twice is refused, naming it.
  EXPECT_THAT(ParseSetVfs(BuildSetVfs(9, {VfField::kMac, VfField::kMac}, v)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sets mac twice")));
}

TEST(LinkOpsTest, SetVfsErrorNamesTheFields) {
  FakeNetlinkSocket sock;
  sock.PushError(absl::InvalidArgumentError("Invalid argument"));
  LinkOps ops(sock);
  VfInfo v;
  v.id = 3;
  EXPECT_THAT(ops.SetVfs({4, "eth3"}, {VfField::kVlan, VfField::kTrust}, v),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("eth3 vf 3: set vlan,trust: ")));
  EXPECT_EQ(sock.requests().size(), 1u);
}

TEST(LinkCodecTest, VlanInfoIsSixteenBytesWithProtoInNetworkOrder) {
  VfInfo v;
  v.id = 3;
  v.vlan = 100;
  v.qos = 5;
  v.vlan_proto = kEthP8021AD;
  Message m = BuildSetVf(9, VfField::kVlan, v);
  SK_ASSERT_OK_AND_ASSIGN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  SK_ASSERT_OK_AND_ASSIGN(AttrList list,
                          attrs.Find(IFLA_VFINFO_LIST)->Nested());
  SK_ASSERT_OK_AND_ASSIGN(AttrList info, list.Find(IFLA_VF_INFO)->Nested());
  SK_ASSERT_OK_AND_ASSIGN(AttrList vl, info.Find(IFLA_VF_VLAN_LIST)->Nested());
  const netlink::Attr* vi = vl.Find(IFLA_VF_VLAN_INFO);
  ASSERT_NE(vi, nullptr);
  ASSERT_EQ(vi->payload.size(), 16u);
  // Byte layout: vf, vlan, qos as host u32; then the ethertype big-endian.
  uint32_t words[3];
  std::memcpy(words, vi->payload.data(), 12);
  EXPECT_EQ(words[0], 3u);
  EXPECT_EQ(words[1], 100u);
  EXPECT_EQ(words[2], 5u);
  EXPECT_EQ(vi->payload[12], 0x88);
  EXPECT_EQ(vi->payload[13], 0xa8);
}

TEST(LinkCodecTest, ParseLinkRejectsTruncatedVfMac) {
  netlink::MessageBuilder b(RTM_NEWLINK, 0);
  b.PutHeader(ifinfomsg{});
  size_t l = b.BeginNested(IFLA_VFINFO_LIST);
  size_t i = b.BeginNested(IFLA_VF_INFO);
  b.PutU32(IFLA_VF_MAC, 0);
  b.EndNested(i);
  b.EndNested(l);
  EXPECT_THAT(ParseLink(std::move(b).Build()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("want at least 36")));
}

TEST(LinkOpsTest, GetLinkWithVfsRequestsFilterAndParsesReply) {
  FakeNetlinkSocket sock;
  sock.PushReply({EncodeLink(SamplePf(), true)});
  LinkOps ops(sock);
  SK_ASSERT_OK_AND_ASSIGN(LinkInfo pf, ops.GetLink("enp175s0f1", true));
  EXPECT_EQ(pf.vfs.size(), 2u);
  ASSERT_EQ(sock.requests().size(), 1u);
  const Message& req = sock.requests()[0];
  EXPECT_EQ(req.type(), RTM_GETLINK);
  SK_ASSERT_OK_AND_ASSIGN(AttrList attrs, req.Attributes(sizeof(ifinfomsg)));
  EXPECT_EQ(attrs.Find(IFLA_IFNAME)->AsString(), "enp175s0f1");
  EXPECT_THAT(attrs.Find(IFLA_EXT_MASK)->AsU32(),
              sk::testing::IsOkAndHolds(RTEXT_FILTER_VF));
}

TEST(LinkOpsTest, ErrorsCarryLinkVfOpAndExtAck) {
  FakeNetlinkSocket sock;
  sock.set_handler([](const Message&) -> FakeNetlinkSocket::Reply {
    return netlink::ErrorFromMessage(Error(EINVAL, "vlan proto not supported"));
  });
  LinkOps ops(sock);
  EXPECT_THAT(
      ops.SetVfVlan({4, "eth3"}, 2, 10, 0, kEthP8021AD),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          "eth3 vf 2: set vlan: Invalid argument: vlan proto not supported"));
  EXPECT_THAT(ops.SetName({7, "eth9"}, "net1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("eth9: rename to net1: ")));
  EXPECT_THAT(ops.GetLink("nope"), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("get link nope: ")));
}

TEST(LinkOpsTest, LinkRequestsCarryExpectedAttributes) {
  FakeNetlinkSocket sock;
  LinkOps ops(sock);
  SK_ASSERT_OK(ops.SetUp({5, "x"}, true));
  SK_ASSERT_OK(ops.SetMtu({5, "x"}, 1400));
  SK_ASSERT_OK(ops.SetNetns({5, "x"}, 17));
  SK_ASSERT_OK(ops.DeleteAltName({5, "x"}, "enp1s0"));
  SK_ASSERT_OK(ops.AddAddress({5, "x"}, *ParseIpPrefix("10.0.0.2/24")));
  ASSERT_EQ(sock.requests().size(), 5u);
  SK_ASSERT_OK_AND_ASSIGN(ifinfomsg up, sock.requests()[0].Header<ifinfomsg>());
  EXPECT_EQ(up.ifi_index, 5);
  EXPECT_EQ(up.ifi_flags & IFF_UP, static_cast<unsigned>(IFF_UP));
  EXPECT_EQ(up.ifi_change, static_cast<unsigned>(IFF_UP));
  SK_ASSERT_OK_AND_ASSIGN(AttrList mtu,
                          sock.requests()[1].Attributes(sizeof(ifinfomsg)));
  EXPECT_THAT(mtu.Find(IFLA_MTU)->AsU32(), sk::testing::IsOkAndHolds(1400u));
  SK_ASSERT_OK_AND_ASSIGN(AttrList ns,
                          sock.requests()[2].Attributes(sizeof(ifinfomsg)));
  EXPECT_THAT(ns.Find(IFLA_NET_NS_FD)->AsU32(), sk::testing::IsOkAndHolds(17u));
  EXPECT_EQ(sock.requests()[3].type(), RTM_DELLINKPROP);
  SK_ASSERT_OK_AND_ASSIGN(AttrList prop,
                          sock.requests()[3].Attributes(sizeof(ifinfomsg)));
  SK_ASSERT_OK_AND_ASSIGN(AttrList names, prop.Find(IFLA_PROP_LIST)->Nested());
  EXPECT_EQ(names.Find(IFLA_ALT_IFNAME)->AsString(), "enp1s0");
  EXPECT_EQ(sock.requests()[4].type(), RTM_NEWADDR);
}

Message NewAddr(int index, const char* ip, int len, uint8_t ifa_flags,
                std::optional<uint32_t> flags_attr) {
  auto p = ParseIp(ip);
  netlink::MessageBuilder b(RTM_NEWADDR, NLM_F_MULTI);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(p->family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(len);
  ifa.ifa_flags = ifa_flags;
  ifa.ifa_index = static_cast<uint32_t>(index);
  b.PutHeader(ifa);
  b.PutAttr(IFA_ADDRESS, p->bytes.data(), p->size());
  if (flags_attr) b.PutU32(IFA_FLAGS, *flags_attr);
  return std::move(b).Build();
}

TEST(LinkOpsTest, ListAddressInfoReportsFlagsOfTheLinkOnly) {
  FakeNetlinkSocket sock;
  std::vector<Message> dump;
  dump.push_back(NewAddr(7, "10.0.0.2", 24, 0x80 /*PERMANENT*/, std::nullopt));
  dump.push_back(
      NewAddr(7, "fd00::5", 64, 0x40 /*TENTATIVE*/, 0x40 | 0x08 /*DADFAILED*/));
  dump.push_back(NewAddr(9, "fd00::6", 64, 0, 0x40));
  sock.PushReply(std::move(dump));
  LinkOps ops(sock);
  SK_ASSERT_OK_AND_ASSIGN(auto addrs, ops.ListAddressInfo({7, "net1"}));
  ASSERT_EQ(addrs.size(), 2u);
  EXPECT_EQ(PrefixToString(addrs[0].prefix), "10.0.0.2/24");
  EXPECT_EQ(addrs[0].flags, 0x80u);
  EXPECT_EQ(PrefixToString(addrs[1].prefix), "fd00::5/64");
  EXPECT_EQ(addrs[1].flags, 0x48u);  // IFA_FLAGS wins over the 8-bit field
  ASSERT_EQ(sock.requests().size(), 1u);
  EXPECT_EQ(sock.requests()[0].type(), RTM_GETADDR);
}

}  // namespace
}  // namespace sk::net
