#include "lib/cni/env.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/error.h"
#include "lib/cni/version.h"
#include "tests/testing/status_matchers.h"

namespace sk::cni {
namespace {

GetEnvFn From(std::map<std::string, std::string> m) {
  return [m](const char* n) -> std::optional<std::string> {
    auto it = m.find(n);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

std::map<std::string, std::string> Good() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "abc-1"},
          {"CNI_NETNS", "/run/netns/x"},
          {"CNI_IFNAME", "net1"},
          {"CNI_PATH", "/opt/cni/bin:/usr/lib/cni"},
          {"CNI_ARGS", "IgnoreUnknown=1"}};
}

TEST(CniEnvTest, ParsesAdd) {
  SK_ASSERT_OK_AND_ASSIGN(CniEnv env, ParseEnv(From(Good())));
  EXPECT_EQ(env.command, Command::kAdd);
  EXPECT_EQ(env.path,
            (std::vector<std::string>{"/opt/cni/bin", "/usr/lib/cni"}));
}

TEST(CniEnvTest, ValidationTable) {
  struct Case {
    const char* var;
    const char* value;  // nullptr: unset
    int code;
    const char* msg;
  } cases[] = {
      {"CNI_COMMAND", nullptr, 4,
       "required env variables [CNI_COMMAND] missing"},
      {"CNI_COMMAND", "FOO", 4, "unknown CNI_COMMAND: FOO"},
      {"CNI_NETNS", nullptr, 4, "required env variables [CNI_NETNS] missing"},
      {"CNI_PATH", nullptr, 4, "required env variables [CNI_PATH] missing"},
      {"CNI_CONTAINERID", "-bad", 4, "invalid characters in containerID"},
      {"CNI_IFNAME", "averyveryverylongname", 4, "interface name is too long"},
      {"CNI_IFNAME", "a/b", 4,
       "interface name contains / or : or whitespace characters"},
      {"CNI_IFNAME", "..", 4, "interface name is . or .."},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.var) + "=" + (c.value ? c.value : "<unset>"));
    auto m = Good();
    if (c.value) {
      m[c.var] = c.value;
    } else {
      m.erase(c.var);
    }
    auto r = ParseEnv(From(m));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(CniCodeOf(r.status()), c.code);
    EXPECT_EQ(std::string(r.status().message()), c.msg);
  }
}

TEST(CniEnvTest, DelDoesNotNeedNetnsAndVersionNeedsNothing) {
  auto m = Good();
  m["CNI_COMMAND"] = "DEL";
  m.erase("CNI_NETNS");
  EXPECT_THAT(ParseEnv(From(m)), sk::testing::IsOk());
  EXPECT_THAT(ParseEnv(From({{"CNI_COMMAND", "VERSION"}})),
              sk::testing::IsOk());
  EXPECT_THAT(ParseEnv(From({{"CNI_COMMAND", "STATUS"}})), sk::testing::IsOk());
}

TEST(CniArgsTest, ParsesAndRejects) {
  SK_ASSERT_OK_AND_ASSIGN(
      auto a,
      ParseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=p;MAC=02:00:00:00:00:01"));
  EXPECT_EQ(a["MAC"], "02:00:00:00:00:01");
  auto unknown = ParseCniArgs("K8S_POD_NAME=p;FOO=1");
  EXPECT_EQ(CniCodeOf(unknown.status()), 4);
  EXPECT_EQ(std::string(unknown.status().message()),
            "ARGS: unknown args [FOO K8S_POD_NAME]");
  auto pair = ParseCniArgs("IgnoreUnknown=1;A=b=c");
  EXPECT_EQ(std::string(pair.status().message()),
            "ARGS: invalid pair \"A=b=c\"");
  EXPECT_THAT(ParseCniArgs("MAC=02:00:00:00:00:01"), sk::testing::IsOk());
}

TEST(VersionTest, OrdersAndReports) {
  EXPECT_LT(CompareVersions("0.4.0", "1.0.0"), 0);
  EXPECT_GT(CompareVersions("1.1.0", "1.0.0"), 0);
  EXPECT_EQ(CompareVersions("0.3.1", "0.3.1"), 0);
  EXPECT_TRUE(IsSupportedVersion("0.3.0"));
  EXPECT_FALSE(IsSupportedVersion("0.2.0"));
  EXPECT_EQ(VersionJson("0.4.0"),
            "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.3.0\",\"0.3."
            "1\",\"0.4.0\","
            "\"1.0.0\",\"1.1.0\"]}\n");
}

TEST(ErrorJsonTest, CodesAndFallbacks) {
  EXPECT_EQ(ErrorJson(CniError(7, "bad", "why"), "1.0.0"),
            "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"bad\",\"details\":"
            "\"why\"}\n");
  EXPECT_EQ(CniCodeOf(absl::UnavailableError("busy")), 11);
  EXPECT_EQ(CniCodeOf(absl::InvalidArgumentError("x")), 7);
  EXPECT_EQ(CniCodeOf(absl::InternalError("x")), 999);
  EXPECT_EQ(CniCodeOf(WithCniCode(absl::InternalError("x"), 50)), 50);
}

}  // namespace
}  // namespace sk::cni
