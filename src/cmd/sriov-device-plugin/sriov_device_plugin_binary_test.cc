// The sriov-device-plugin binary's command-line surface: --version, --help
// and flag errors (exit codes as in README.md "Exit codes").
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/temp_dir.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Out {
  int exit_code;
  std::string stdout_text;
  std::string stderr_text;
};

Out RunPlugin(const std::string& args) {
  sk::testing::TempDir tmp;
  std::string err = (tmp / "err").string();
  // `timeout`: a regression that starts the daemon must not hang the test.
  std::string cmd =
      "timeout 10 " SK_DP_BINARY " " + args + " </dev/null 2>" + err;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
    out.append(buf, n);
  int status = ::pclose(p);
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, ss.str()};
}

TEST(DevicePluginBinaryTest, VersionPrintsTheProjectVersion) {
  Out o = RunPlugin("--version");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_text, "sriov-device-plugin " SK_VERSION "\n");
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
