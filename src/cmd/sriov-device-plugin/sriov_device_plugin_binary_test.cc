// The sriov-device-plugin binary's command-line surface: --version, --help
// and flag errors (exit codes as in docs/exit-codes.md).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/version/version.h"
#include "tests/testing/run_shell.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using Out = sk::testing::ShellResult;

Out RunPlugin(const std::string& args) {
  // `timeout`: a regression that starts the daemon must not hang the test.
  return sk::testing::RunShell("timeout 10 " SK_DP_BINARY " " + args);
}

TEST(DevicePluginBinaryTest, VersionPrintsTheProjectVersion) {
  Out o = RunPlugin("--version");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_text,
            sk::version::VersionLine("sriov-device-plugin") + "\n");
}

TEST(DevicePluginBinaryTest, HelpNamesTheProgram) {
  Out o = RunPlugin("--help");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_THAT(o.stdout_text, HasSubstr("Usage: sriov-device-plugin [OPTIONS]"));
  EXPECT_THAT(o.stdout_text, HasSubstr("--version"));
}

TEST(DevicePluginBinaryTest, BadResourcePrefixIsAUsageError) {
  Out o = RunPlugin("--resource-prefix=../x");
  EXPECT_EQ(o.exit_code, 64);
  EXPECT_THAT(o.stderr_text,
              StartsWith("--resource-prefix: \"../x\" is not a DNS subdomain: "
                         "empty label"));
}

}  // namespace
