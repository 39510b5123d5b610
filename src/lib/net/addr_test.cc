#include "lib/net/addr.h"

#include <sys/socket.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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
