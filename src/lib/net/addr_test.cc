#include "lib/net/addr.h"

#include <sys/socket.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/net/hw_addr.h"
#include "tests/testing/status_matchers.h"

namespace sk::net {
namespace {

using ::sk::testing::StatusIs;

TEST(MacTest, ParsesAndFormats) {
  SK_ASSERT_OK_AND_ASSIGN(MacAddress m, ParseMac("AA:bb:0c:dd:ee:0F"));
  EXPECT_EQ(MacToString(m), "aa:bb:0c:dd:ee:0f");
  EXPECT_FALSE(IsMulticastMac(m) && false);
  EXPECT_TRUE(IsMulticastMac(*ParseMac("01:00:5e:00:00:01")));
  EXPECT_TRUE(IsZeroMac(*ParseMac("00:00:00:00:00:00")));
}

TEST(MacTest, RejectsMalformed) {
  for (const char* bad :
       {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:fg", "aa-bb-cc-dd-ee-ff",
        "aa:bb:cc:dd:ee:ff:00", "+a:bb:cc:dd:ee:ff"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseMac(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         std::string("invalid MAC address \"") + bad + "\""));
  }
}

TEST(MacTest, HardwareAddrGrammarIsGoParseMac) {
  struct Case {
    const char* text;
    size_t octets;  // 0: rejected
  };
  for (const Case& c : std::initializer_list<Case>{
           {"02:00:00:00:00:01", 6},
           {"02-00-5E-00-00-01", 6},
           {"0200.5e00.0001", 6},
           {"00:11:22:33:44:55:66:77", 8},
           {"0011.2233.4455.6677", 8},
           {"00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13", 20},
           {"", 0},
           {"02:00:00:00:00", 0},
           {"02:00-00:00:00:01", 0},
           {"02.00.00.00.00.01", 0},
           {"0200.0000.000g", 0},
           {"0200:0000:0001", 0},
           {"020000000001", 0},
           {"00:11:22:33:44:55:66", 0},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<std::vector<uint8_t>> got = ParseHardwareAddr(c.text);
    if (c.octets == 0) {
      EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         std::string("invalid MAC address \"") +
                                             c.text + "\""));
    } else {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->size(), c.octets);
    }
  }
  SK_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> dotted,
                          ParseHardwareAddr("0200.5e10.20ff"));
  EXPECT_EQ(dotted, (std::vector<uint8_t>{0x02, 0x00, 0x5e, 0x10, 0x20, 0xff}));
}

TEST(IpTest, ParsesPrefixes) {
  SK_ASSERT_OK_AND_ASSIGN(IpPrefix p, ParseIpPrefix("10.1.2.3/24"));
  EXPECT_EQ(p.addr.family, AF_INET);
  EXPECT_EQ(p.prefix_len, 24);
  EXPECT_EQ(PrefixToString(p), "10.1.2.3/24");
  SK_ASSERT_OK_AND_ASSIGN(IpPrefix v6, ParseIpPrefix("fd00::1/64"));
  EXPECT_EQ(v6.addr.family, AF_INET6);
  EXPECT_EQ(PrefixToString(v6), "fd00::1/64");
  for (const char* bad :
       {"10.1.2.3", "10.1.2.3/33", "fd00::1/129", "x/1", "10.1.2.3/a"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseIpPrefix(bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace sk::net
