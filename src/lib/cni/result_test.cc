#include "lib/cni/result.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/error.h"
#include "tests/testing/status_matchers.h"

namespace sk::cni {
namespace {

Result Sample() {
  Result r;
  r.interfaces = {
      {"net1", "ca:fe:c0:ff:ee:00", 1500, "/var/run/netns/x", "0000:af:06.0"}};
  r.ips = {{0, "10.56.217.2/24", "10.56.217.1"}, {0, "fd00::2/64", ""}};
  r.routes = {nlohmann::json{
      {"dst", "0.0.0.0/0"}, {"gw", "10.56.217.1"}, {"mtu", 1400}}};
  return r;
}

TEST(ResultTest, PerVersionShapes) {
  const struct {
    const char* version;
    const char* json;
  } cases[] = {
      {"0.3.1",
       R"({"cniVersion":"0.3.1","interfaces":[{"name":"net1","mac":"ca:fe:c0:ff:ee:00","sandbox":"/var/run/netns/x"}],"ips":[{"version":"4","interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"},{"version":"6","interface":0,"address":"fd00::2/64"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.56.217.1"}],"dns":{}})"},
      {"1.0.0",
       R"({"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"ca:fe:c0:ff:ee:00","mtu":1500,"sandbox":"/var/run/netns/x"}],"ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"},{"interface":0,"address":"fd00::2/64"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.56.217.1"}],"dns":{}})"},
      {"1.1.0",
       R"({"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"ca:fe:c0:ff:ee:00","mtu":1500,"sandbox":"/var/run/netns/x","pciID":"0000:af:06.0"}],"ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"},{"interface":0,"address":"fd00::2/64"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.56.217.1","mtu":1400}],"dns":{}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.version);
    EXPECT_EQ(ResultToJson(Sample(), c.version), std::string(c.json) + "\n");
  }
}

TEST(ResultTest, ParsesIpamOutputOfOldVersion) {
  SK_ASSERT_OK_AND_ASSIGN(
      Result r,
      ParseResultText(
          R"({"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.0.5/16","gateway":"10.1.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["1.1.1.1"]}})"));
  ASSERT_EQ(r.ips.size(), 1u);
  EXPECT_EQ(r.ips[0].address, "10.1.0.5/16");
  EXPECT_FALSE(r.ips[0].interface.has_value());
  EXPECT_EQ(r.dns["nameservers"][0], "1.1.1.1");
}

TEST(ResultTest, RejectsMalformed) {
  EXPECT_EQ(CniCodeOf(ParseResultText("[").status()), 6);
  EXPECT_EQ(CniCodeOf(ParseResultText(R"({"ips":{}})").status()), 6);
  auto bad_ip = ParseResultText(R"({"ips":[{"address":"10.1.0.5"}]})");
  EXPECT_EQ(CniCodeOf(bad_ip.status()), 7);
  EXPECT_EQ(std::string(bad_ip.status().message()),
            "result ip address \"10.1.0.5\" invalid");
}

TEST(ResultTest, DeeplyNestedIpamOutputIsADecodeErrorNotACrash) {
  const std::string text = R"({"cniVersion":"1.0.0","ips":)" +
                           std::string(80000, '[') + std::string(80000, ']') +
                           "}";
  absl::StatusOr<Result> r = ParseResultText(text);
  EXPECT_EQ(CniCodeOf(r.status()), kCniDecodeFailure);
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("nested deeper than 64 levels"));
}

}  // namespace
}  // namespace sk::cni
