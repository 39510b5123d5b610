#include "lib/netattach/gateway.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::netattach {
namespace {

using ::testing::HasSubstr;

TEST(PlanGatewaysTest, NoRequestMarksNothing) {
  std::vector<GatewayPlan> plans(3);
  ASSERT_TRUE(PlanGateways(plans).ok());
  for (const auto& p : plans) {
    EXPECT_FALSE(p.filter_v4);
    EXPECT_FALSE(p.filter_v6);
    EXPECT_TRUE(GatewayEditFor(p).empty());
  }
}

TEST(PlanGatewaysTest, RequestFiltersEveryOtherDelegate) {
  std::vector<GatewayPlan> plans(3);
  plans[1].request = std::vector<std::string>{"10.0.2.1"};
  ASSERT_TRUE(PlanGateways(plans).ok());
  EXPECT_TRUE(plans[0].filter_v4);
  EXPECT_TRUE(plans[0].filter_v6);
  EXPECT_FALSE(plans[1].filter_v4);
  EXPECT_TRUE(plans[1].filter_v6);
  EXPECT_TRUE(plans[2].filter_v4);

  GatewayEdit cluster = GatewayEditFor(plans[0]);
  EXPECT_TRUE(cluster.delete_kernel_defaults);
  EXPECT_TRUE(cluster.drop_v4 && cluster.drop_v6);
  EXPECT_TRUE(cluster.add.empty());
  GatewayEdit claimed = GatewayEditFor(plans[1]);
  EXPECT_TRUE(claimed.delete_kernel_defaults);
  EXPECT_EQ(claimed.add, std::vector<std::string>{"10.0.2.1"});
}

TEST(PlanGatewaysTest, EmptyRequestStillFiltersAll) {
  // multus-cni: a non-nil GatewayRequest, even empty, turns filtering on.
  std::vector<GatewayPlan> plans(2);
  plans[1].request = std::vector<std::string>{};
  ASSERT_TRUE(PlanGateways(plans).ok());
  EXPECT_TRUE(plans[0].filter_v4);
  EXPECT_TRUE(plans[1].filter_v4);
  EXPECT_TRUE(GatewayEditFor(plans[1]).add.empty());
}

TEST(PlanGatewaysTest, OneGatewayPerFamilyAcrossDelegates) {
  std::vector<GatewayPlan> plans(2);
  plans[0].request = std::vector<std::string>{"10.0.0.1"};
  plans[1].request = std::vector<std::string>{"fd00::1"};
  ASSERT_TRUE(PlanGateways(plans).ok());
  EXPECT_FALSE(plans[0].filter_v4);
  EXPECT_TRUE(plans[0].filter_v6);
  EXPECT_TRUE(plans[1].filter_v4);
  EXPECT_FALSE(plans[1].filter_v6);

  plans[1].request = std::vector<std::string>{"10.0.1.1"};
  absl::Status s = PlanGateways(plans);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("ECMP"));
}

TEST(PlanGatewaysTest, BadAddressNamed) {
  std::vector<GatewayPlan> plans(1);
  plans[0].request = std::vector<std::string>{"10.0.0.300"};
  absl::Status s = PlanGateways(plans);
  EXPECT_THAT(s.message(), HasSubstr("\"10.0.0.300\""));
}

TEST(GatewayResultTest, DropAndAddDefaultRoutes) {
  nlohmann::json r = nlohmann::json::parse(R"({"routes":[
      {"dst":"0.0.0.0/0","gw":"10.0.0.1"},{"dst":"10.9.0.0/16"},
      {"dst":"::/0","gw":"fd00::1"}]})");
  DropDefaultRoutes(r, true, false);
  EXPECT_EQ(r["routes"], nlohmann::json::parse(
                             R"([{"dst":"10.9.0.0/16"},
                                 {"dst":"::/0","gw":"fd00::1"}])"));
  DropDefaultRoutes(r, false, true);
  EXPECT_EQ(r["routes"], nlohmann::json::parse(R"([{"dst":"10.9.0.0/16"}])"));
  AddDefaultRoutes(r, {"10.0.2.1", "fd00::2"});
  EXPECT_EQ(r["routes"], nlohmann::json::parse(R"([{"dst":"10.9.0.0/16"},
      {"dst":"0.0.0.0/0","gw":"10.0.2.1"},{"dst":"::/0","gw":"fd00::2"}])"));
  nlohmann::json only = nlohmann::json::parse(
      R"({"routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"}]})");
  DropDefaultRoutes(only, true, true);
  EXPECT_FALSE(only.contains("routes"));
}

}  // namespace
}  // namespace sk::netattach
