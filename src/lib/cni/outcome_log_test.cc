#include "lib/cni/outcome_log.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/error.h"

namespace sk::cni {
namespace {

GetEnvFn From(std::map<std::string, std::string> m) {
  return [m](const char* n) -> std::optional<std::string> {
    auto it = m.find(n);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

GetEnvFn AddEnv() {
  return From({{"CNI_COMMAND", "ADD"},
               {"CNI_CONTAINERID", "c1"},
               {"CNI_NETNS", "/proc/1/ns/net"},
               {"CNI_IFNAME", "net1"}});
}

// 2026-12-01T06:52:00Z
constexpr std::time_t kNow = 1796107920;

TEST(OutcomeLogTest, SuccessLine) {
  auto log = FormatOutcomeLog(R"({"logFile":"/var/log/sriov.log"})",
                              absl::OkStatus(), {}, AddEnv(), kNow);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->path, "/var/log/sriov.log");
  EXPECT_EQ(log->text,
            "time=\"2026-12-01T06:52:00Z\" level=info msg=\"done\" "
            "cniName=sriov-cni command=ADD containerID=c1 "
            "netns=/proc/1/ns/net ifname=net1\n");
}

TEST(OutcomeLogTest, WarningsThenErrorWithJsonQuotedMessage) {
  auto log =
      FormatOutcomeLog(R"({"logFile":"/l","logLevel":"debug"})",
                       CniError(kCniInvalidConfig, "vlan \"5000\" invalid"),
                       {"garp not sent", "bad\xff utf8"}, From({}), kNow);
  ASSERT_TRUE(log.has_value());
  const std::string tail =
      " cniName=sriov-cni command= containerID= netns= ifname=\n";
  EXPECT_EQ(
      log->text,
      "time=\"2026-12-01T06:52:00Z\" level=warning msg=\"garp not "
      "sent\"" +
          tail +
          "time=\"2026-12-01T06:52:00Z\" level=warning msg=\"bad\xEF\xBF\xBD "
          "utf8\"" +
          tail +
          "time=\"2026-12-01T06:52:00Z\" level=error msg=\"vlan "
          "\\\"5000\\\" invalid\"" +
          tail);
}

TEST(OutcomeLogTest, ErrorLevelLogsFailuresOnlyWithoutWarnings) {
  const std::string config = R"({"logFile":"/l","logLevel":"error"})";
  EXPECT_FALSE(
      FormatOutcomeLog(config, absl::OkStatus(), {"w"}, AddEnv(), kNow));
  auto log = FormatOutcomeLog(config, absl::InternalError("boom"), {"w"},
                              AddEnv(), kNow);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->text,
            "time=\"2026-12-01T06:52:00Z\" level=error msg=\"boom\" "
            "cniName=sriov-cni command=ADD containerID=c1 "
            "netns=/proc/1/ns/net ifname=net1\n");
}

// A logLevel that is not a string is a config error the plugin reports; its
// log line is written at the default level (it used to abort the plugin
// before the error was printed).
TEST(OutcomeLogTest, NonStringLogLevelReadsAsTheDefault) {
  auto log = FormatOutcomeLog(R"({"logFile":"/l","logLevel":5})",
                              CniError(kCniInvalidConfig, "logLevel: bad"), {},
                              AddEnv(), kNow);
  ASSERT_TRUE(log.has_value());
  EXPECT_THAT(log->text,
              ::testing::HasSubstr("level=error msg=\"logLevel: bad\""));
}

TEST(OutcomeLogTest, NothingLogged) {
  for (const char* config : {"", "not json", "[]", "{}", R"({"logFile":5})",
                             R"({"logFile":"/l","logLevel":"panic"})"}) {
    SCOPED_TRACE(config);
    EXPECT_FALSE(FormatOutcomeLog(config, absl::InternalError("x"), {"w"},
                                  AddEnv(), kNow));
  }
}

}  // namespace
}  // namespace sk::cni
