#include "lib/cni/announce.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"

namespace sk::cni {
namespace {

std::string Hex(const std::vector<uint8_t>& b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

TEST(AnnounceTest, GratuitousArpIsRequestWithSenderEqualTargetIp) {
  SK_ASSERT_OK_AND_ASSIGN(net::MacAddress mac,
                          net::ParseMac("02:00:5e:10:20:30"));
  SK_ASSERT_OK_AND_ASSIGN(net::IpAddress ip, net::ParseIp("10.56.217.2"));
  EXPECT_EQ(Hex(EncodeGratuitousArp(mac, ip)),
            "0001"  // htype Ethernet
            "0800"  // ptype IPv4
            "06"
            "04"            // hlen, plen
            "0001"          // op request
            "02005e102030"  // sender MAC
            "0a38d902"      // sender IP
            "ffffffffffff"  // target MAC (broadcast, as upstream)
            "0a38d902");    // target IP = sender IP
}

TEST(AnnounceTest, UnsolicitedNaHasOverrideFlagAndTargetLinkLayerOption) {
  SK_ASSERT_OK_AND_ASSIGN(net::MacAddress mac,
                          net::ParseMac("02:00:5e:10:20:30"));
  SK_ASSERT_OK_AND_ASSIGN(net::IpAddress ip, net::ParseIp("fd00:56::2"));
  EXPECT_EQ(Hex(EncodeUnsolicitedNa(mac, ip)),
            "88"
            "00"
            "0000"                              // type 136, code, checksum
            "20000000"                          // R=0 S=0 O=1
            "fd000056000000000000000000000002"  // target
            "02"
            "01"
            "02005e102030");  // TLLA option, 8 bytes
}

TEST(AnnounceTest, EncodersTakeTheMacAndAddressGiven) {
  SK_ASSERT_OK_AND_ASSIGN(net::MacAddress mac,
                          net::ParseMac("aa:bb:cc:dd:ee:01"));
  SK_ASSERT_OK_AND_ASSIGN(net::IpAddress v4, net::ParseIp("192.168.1.254"));
  SK_ASSERT_OK_AND_ASSIGN(net::IpAddress v6, net::ParseIp("2001:db8::ff"));
  std::vector<uint8_t> arp = EncodeGratuitousArp(mac, v4);
  ASSERT_EQ(arp.size(), 28u);
  EXPECT_EQ(Hex({arp.begin() + 8, arp.begin() + 18}), "aabbccddee01c0a801fe");
  EXPECT_EQ(Hex({arp.begin() + 24, arp.end()}), "c0a801fe");
  std::vector<uint8_t> na = EncodeUnsolicitedNa(mac, v6);
  ASSERT_EQ(na.size(), 32u);
  EXPECT_EQ(Hex({na.begin() + 8, na.begin() + 24}),
            "20010db80000000000000000000000ff");
  EXPECT_EQ(Hex({na.begin() + 26, na.end()}), "aabbccddee01");
}

}  // namespace
}  // namespace sk::cni
