#include "lib/netlink/message.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"

namespace sk::netlink {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

Message BuildError(int errnum, const char* ext_msg, bool capped = true) {
  MessageBuilder b(NLMSG_ERROR,
                   static_cast<uint16_t>((ext_msg ? NLM_F_ACK_TLVS : 0) |
                                         (capped ? NLM_F_CAPPED : 0)));
  nlmsgerr err{};
  err.error = -errnum;
  err.msg.nlmsg_len = sizeof(nlmsghdr);
  err.msg.nlmsg_type = RTM_SETLINK;
  b.PutHeader(err);
  if (ext_msg) b.PutString(NLMSGERR_ATTR_MSG, ext_msg);
  return std::move(b).Build();
}

TEST(MessageTest, RoundTripsHeaderAndAttributes) {
  MessageBuilder b(RTM_NEWLINK, NLM_F_REQUEST);
  ifinfomsg ifi{};
  ifi.ifi_index = 7;
  ifi.ifi_flags = 0x1;
  b.PutHeader(ifi);
  b.PutString(IFLA_IFNAME, "eth3");
  b.PutU32(IFLA_MTU, 9000);
  size_t nest = b.BeginNested(IFLA_VFINFO_LIST);
  size_t info = b.BeginNested(IFLA_VF_INFO);
  ifla_vf_mac mac{};
  mac.vf = 2;
  mac.mac[0] = 0xaa;
  b.PutStruct(IFLA_VF_MAC, mac);
  b.EndNested(info);
  b.EndNested(nest);
  Message built = std::move(b).Build();

  SK_ASSERT_OK_AND_ASSIGN(Message m, Message::FromBytes(built.bytes()));
  EXPECT_EQ(m.type(), RTM_NEWLINK);
  SK_ASSERT_OK_AND_ASSIGN(ifinfomsg got, m.Header<ifinfomsg>());
  EXPECT_EQ(got.ifi_index, 7);
  SK_ASSERT_OK_AND_ASSIGN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  ASSERT_NE(attrs.Find(IFLA_IFNAME), nullptr);
  EXPECT_EQ(attrs.Find(IFLA_IFNAME)->AsString(), "eth3");
  EXPECT_THAT(attrs.Find(IFLA_MTU)->AsU32(), sk::testing::IsOkAndHolds(9000u));
  SK_ASSERT_OK_AND_ASSIGN(AttrList list,
                          attrs.Find(IFLA_VFINFO_LIST)->Nested());
  ASSERT_EQ(list.FindAll(IFLA_VF_INFO).size(), 1u);
  SK_ASSERT_OK_AND_ASSIGN(AttrList vf, list.Find(IFLA_VF_INFO)->Nested());
  SK_ASSERT_OK_AND_ASSIGN(ifla_vf_mac got_mac,
                          vf.Find(IFLA_VF_MAC)->As<ifla_vf_mac>());
  EXPECT_EQ(got_mac.vf, 2u);
  EXPECT_EQ(got_mac.mac[0], 0xaa);
  EXPECT_EQ(attrs.Find(IFLA_ADDRESS), nullptr);
}

TEST(MessageTest, NestedAttributeTypeMasksNestedFlag) {
  MessageBuilder b(RTM_NEWLINK, 0);
  b.PutHeader(ifinfomsg{});
  size_t n = b.BeginNested(IFLA_PROP_LIST);
  b.PutString(IFLA_ALT_IFNAME, "a");
  b.PutString(IFLA_ALT_IFNAME, "b");
  b.EndNested(n);
  Message m = std::move(b).Build();
  SK_ASSERT_OK_AND_ASSIGN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  const Attr* props = attrs.Find(IFLA_PROP_LIST);
  ASSERT_NE(props, nullptr);
  SK_ASSERT_OK_AND_ASSIGN(AttrList names, props->Nested());
  auto all = names.FindAll(IFLA_ALT_IFNAME);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]->AsString(), "b");
}

TEST(MessageTest, ShortStructPayloadIsInvalidArgument) {
  MessageBuilder b(RTM_NEWLINK, 0);
  b.PutHeader(ifinfomsg{});
  b.PutU16(IFLA_VF_MAC, 1);
  Message m = std::move(b).Build();
  SK_ASSERT_OK_AND_ASSIGN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  EXPECT_THAT(attrs.Find(IFLA_VF_MAC)->As<ifla_vf_mac>(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("want at least 36")));
  EXPECT_THAT(attrs.Find(IFLA_VF_MAC)->AsU32(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MessageTest, ParsesSeveralMessagesAndRejectsTruncation) {
  Message a = BuildError(0, nullptr);
  MessageBuilder b(NLMSG_DONE, NLM_F_MULTI);
  b.PutHeader(int{0});
  Message done = std::move(b).Build();
  std::vector<uint8_t> buf(a.bytes().begin(), a.bytes().end());
  buf.insert(buf.end(), done.bytes().begin(), done.bytes().end());
  SK_ASSERT_OK_AND_ASSIGN(auto msgs, ParseMessages(buf));
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type(), NLMSG_ERROR);
  EXPECT_EQ(msgs[1].type(), NLMSG_DONE);
  buf.pop_back();
  EXPECT_THAT(ParseMessages(buf), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("truncated message")));
}

TEST(MessageTest, RejectsAttributeRunningPastPayload) {
  MessageBuilder b(RTM_NEWLINK, 0);
  b.PutHeader(ifinfomsg{});
  b.PutU32(IFLA_MTU, 1500);
  Message m = std::move(b).Build();
  std::vector<uint8_t> bytes(m.bytes().begin(), m.bytes().end());
  // Corrupt nla_len of the attribute to claim more than is present.
  size_t attr_off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg));
  bytes[attr_off] = 64;
  SK_ASSERT_OK_AND_ASSIGN(Message bad, Message::FromBytes(bytes));
  EXPECT_THAT(bad.Attributes(sizeof(ifinfomsg)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("malformed attribute")));
}

TEST(MessageTest, FromBytesRejectsLengthMismatch) {
  Message a = BuildError(0, nullptr);
  std::vector<uint8_t> bytes(a.bytes().begin(), a.bytes().end());
  bytes.push_back(0);
  EXPECT_THAT(Message::FromBytes(bytes),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Message::FromBytes(std::span<const uint8_t>(bytes.data(), 3)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ErrorFromMessageTest, AckIsOk) {
  EXPECT_TRUE(ErrorFromMessage(BuildError(0, nullptr)).ok());
}

TEST(ErrorFromMessageTest, CarriesErrnoCodeAndExtAck) {
  absl::Status s =
      ErrorFromMessage(BuildError(EINVAL, "VF vlan protocol invalid"));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          "Invalid argument: VF vlan protocol invalid"));
  EXPECT_EQ(ErrnoOf(s), EINVAL);
  absl::Status busy = ErrorFromMessage(BuildError(EBUSY, nullptr));
  EXPECT_THAT(busy, StatusIs(absl::StatusCode::kUnavailable,
                             "Device or resource busy"));
  EXPECT_EQ(ErrnoOf(busy), EBUSY);
  EXPECT_EQ(ErrnoOf(absl::InternalError("x")), 0);
}

// Found by netlink_reply_fuzzer: negating INT_MIN is undefined behaviour.
TEST(ErrorFromMessageTest, ErrorValueThatIsNotAnErrnoIsEinvalWithTheValue) {
  for (int raw : {std::numeric_limits<int>::min(), -4096, 4096,
                  std::numeric_limits<int>::max()}) {
    SCOPED_TRACE(raw);
    MessageBuilder b(NLMSG_ERROR, 0);
    nlmsgerr err{};
    err.error = raw;
    err.msg.nlmsg_len = sizeof(nlmsghdr);
    b.PutHeader(err);
    absl::Status s = ErrorFromMessage(std::move(b).Build());
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                            absl::StrCat("Invalid argument: netlink error "
                                         "value ",
                                         raw, " is not an errno")));
    EXPECT_EQ(ErrnoOf(s), EINVAL);
  }
  // The largest errno the kernel can send still maps as before.
  EXPECT_EQ(ErrnoOf(ErrorFromMessage(BuildError(4095, nullptr))), 4095);
}

TEST(ErrorFromMessageTest, SkipsEchoedRequestWhenNotCapped) {
  MessageBuilder b(NLMSG_ERROR, NLM_F_ACK_TLVS);
  // nlmsgerr followed by the echoed request body (an ifinfomsg), then TLVs.
  struct {
    nlmsgerr err;
    ifinfomsg ifi;
  } body{};
  body.err.error = -EOPNOTSUPP;
  body.err.msg.nlmsg_len = sizeof(nlmsghdr) + sizeof(ifinfomsg);
  b.PutHeader(body);
  b.PutString(NLMSGERR_ATTR_MSG, "not supported by driver");
  absl::Status s = ErrorFromMessage(std::move(b).Build());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnimplemented,
                          "Operation not supported: not supported by driver"));
}

TEST(ErrorFromMessageTest, NonErrorMessageIsInvalidArgument) {
  MessageBuilder b(RTM_NEWLINK, 0);
  EXPECT_THAT(ErrorFromMessage(std::move(b).Build()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not NLMSG_ERROR")));
}

}  // namespace
}  // namespace sk::netlink
