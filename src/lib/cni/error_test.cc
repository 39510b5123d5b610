#include "lib/cni/error.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::cni {
namespace {

TEST(ParsePluginErrorTest, ReadsTheCniErrorObjectAPluginPrinted) {
  std::optional<PluginError> e = ParsePluginError(
      R"({"cniVersion":"1.0.0","code":11,"msg":"busy","details":"retry"})",
      1024);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 11);
  EXPECT_EQ(e->msg, "busy");
  EXPECT_EQ(e->details, "retry");
}

TEST(ParsePluginErrorTest, NonStringMsgOrDetailsAreEmpty) {
  std::optional<PluginError> e =
      ParsePluginError(R"({"code":7,"msg":[1],"details":{"a":1}})", 1024);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 7);
  EXPECT_EQ(e->msg, "");
  EXPECT_EQ(e->details, "");
}

TEST(ParsePluginErrorTest, AnythingElseIsNotAPluginError) {
  for (const std::string& out :
       {std::string(""), std::string("not json"), std::string("[1]"),
        std::string(R"({"msg":"no code"})"),
        std::string(R"({"code":"11","msg":"code as a string"})"),
        std::string(R"({"code":1.5})"),
        std::string(100000, '[') + std::string(100000, ']')}) {
    EXPECT_FALSE(ParsePluginError(out, 1 << 20).has_value())
        << out.substr(0, 40);
  }
  // Over the size bound: not parsed at all.
  EXPECT_FALSE(ParsePluginError(R"({"code":11,"msg":"x"})", 8).has_value());
}

}  // namespace
}  // namespace sk::cni
