// The sriov-device-plugin binary's command-line surface: --version, --help
// and flag errors (exit codes as in docs/exit-codes.md).
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/version/version.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/temp_dir.h"

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

TEST(DevicePluginBinaryTest, NonLoopbackOpsAddressIsAUsageError) {
  Out o = RunPlugin("--ops-address 0.0.0.0:9808");
  EXPECT_EQ(o.exit_code, 64);
  EXPECT_THAT(o.stderr_text,
              StartsWith("--ops-address: ops address \"0.0.0.0:9808\": not a "
                         "loopback address"));
}

// Upstream's glog-style flags (one dash, -v N, -v=N) are accepted as its
// DaemonSets pass them.
TEST(DevicePluginBinaryTest, GlogStyleFlagsAreAccepted) {
  sk::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "sys/bus/pci/devices");
  std::ofstream(dir.path() / "empty.json") << R"({"resourceList":[]})";
  const std::string rest = " --explain --sysfs-root " + dir.path().string() +
                           " --config-file " +
                           (dir.path() / "empty.json").string();
  for (const char* flags : {"-v=3 -logtostderr", "-v 3 -alsologtostderr",
                            "-stderrthreshold=INFO -v=10"}) {
    Out o = RunPlugin(flags + rest);
    EXPECT_EQ(o.exit_code, 0) << flags << ": " << o.stderr_text;
    EXPECT_EQ(o.stdout_text, "DEVICE  ID  DRIVER  PF  POOL  SELECTOR  REASON\n")
        << flags;
  }
  Out o = RunPlugin("-v=3 -v=4" + rest);
  EXPECT_EQ(o.exit_code, 64);
  EXPECT_THAT(o.stderr_text, HasSubstr("--log-level"));
}

TEST(DevicePluginBinaryTest, ExplainPrintsAndExitsWithoutServing) {
  sk::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "sys/bus/pci/devices");
  std::ofstream(dir.path() / "bad.json") << "{";
  std::ofstream(dir.path() / "empty.json") << R"({"resourceList":[]})";
  const std::string root = " --sysfs-root " + dir.path().string();
  Out o = RunPlugin("--explain" + root + " --config-file " +
                    (dir.path() / "bad.json").string());
  EXPECT_EQ(o.exit_code, 65);
  EXPECT_THAT(o.stderr_text,
              StartsWith("sriov-device-plugin: " +
                         (dir.path() / "bad.json").string() + ": "));
  o = RunPlugin("--explain" + root + " --config " +
                (dir.path() / "empty.json").string());
  EXPECT_EQ(o.exit_code, 0) << o.stderr_text;
  EXPECT_EQ(o.stdout_text, "DEVICE  ID  DRIVER  PF  POOL  SELECTOR  REASON\n");
  o = RunPlugin("--explain --json" + root + " --config " +
                (dir.path() / "empty.json").string());
  EXPECT_EQ(o.exit_code, 0) << o.stderr_text;
  EXPECT_EQ(o.stdout_text, "{\n  \"devices\": []\n}\n");
}

}  // namespace
