// The `sriov` binary end to end for what needs no kernel SR-IOV: VERSION,
// env and config errors as CNI error JSON with exit 1, the logFile line, and
// the usage a person running it by hand sees.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/version/version.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/temp_dir.h"

namespace {

using Out = sk::testing::ShellResult;

Out RunSriov(const std::string& env, const std::string& stdin_text,
             const std::string& args = "") {
  return sk::testing::RunShell("env -i " + env + " " SK_SRIOV_BINARY " " + args,
                               stdin_text);
}

// The reference plugins' first two lines (skel's "about" text).
::testing::Matcher<const std::string&> StartsWithAbout() {
  return ::testing::ContainsRegex(
      "^CNI sriov plugin \\(sriovkit [0-9]+\\.[0-9]+\\.[0-9]+, git "
      "[0-9a-z-]+\\)\n"
      "CNI protocol versions supported: 0\\.3\\.0, 0\\.3\\.1, "
      "0\\.4\\.0, 1\\.0\\.0, 1\\.1\\.0\n");
}

// Run by hand (no CNI_COMMAND): the usage on stderr, and still the protocol's
// error on stdout with exit 1, as the reference plugins' skel does.
TEST(SriovBinaryTest, WithoutCniCommandPrintsUsageOnStderr) {
  Out o = RunSriov("", "");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.stdout_text,
            "{\"code\":4,\"msg\":\"required env variables [CNI_COMMAND] "
            "missing\"}\n");
  EXPECT_THAT(o.stderr_text, StartsWithAbout());
  EXPECT_THAT(o.stderr_text,
              ::testing::HasSubstr("CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|"
                                   "VERSION CNI_CONTAINERID=<id>"));
  // With a config on stdin the error keeps its cniVersion, as before.
  Out conf = RunSriov("", R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(conf.exit_code, 1);
  EXPECT_EQ(conf.stdout_text,
            "{\"cniVersion\":\"1.0.0\",\"code\":4,\"msg\":\"required env "
            "variables [CNI_COMMAND] missing\"}\n");
}

TEST(SriovBinaryTest, HelpPrintsOnlyTheUsage) {
  for (const char* arg : {"--help", "-h"}) {
    SCOPED_TRACE(arg);
    Out o = RunSriov("", "", arg);
    EXPECT_EQ(o.exit_code, 0);
    EXPECT_EQ(o.stdout_text, "");
    EXPECT_THAT(o.stderr_text, StartsWithAbout());
  }
}

// By hand, --version is the one line every sriovkit executable prints.
TEST(SriovBinaryTest, VersionFlagPrintsVersionAndRevision) {
  Out o = RunSriov("", "", "--version");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_text, sk::version::VersionLine("sriov") + "\n");
  EXPECT_EQ(o.stderr_text, "");
}

// A runtime sets CNI_COMMAND: nothing on stderr, whatever the arguments.
TEST(SriovBinaryTest, UnderARuntimeStderrStaysQuiet) {
  Out o =
      RunSriov("CNI_COMMAND=VERSION", R"({"cniVersion":"0.4.0"})", "--help");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_THAT(o.stdout_text, ::testing::HasSubstr("supportedVersions"));
  EXPECT_EQ(o.stderr_text, "");
}

TEST(SriovBinaryTest, Version) {
  Out o = RunSriov("CNI_COMMAND=VERSION", R"({"cniVersion":"0.4.0"})");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_text,
            "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.3.0\",\"0.3."
            "1\",\"0.4.0\","
            "\"1.0.0\",\"1.1.0\"]}\n");
}

TEST(SriovBinaryTest, ErrorsAreCniJsonWithExit1) {
  Out env = RunSriov("CNI_COMMAND=ADD", "{}");
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_EQ(env.stdout_text,
            "{\"code\":4,\"msg\":\"required env variables "
            "[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing\"}\n");
  sk::testing::TempDir tmp;
  std::string log = (tmp / "sriov.log").string();
  Out conf = RunSriov(
      "CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/x "
      "CNI_IFNAME=net1 CNI_PATH=/x",
      R"({"cniVersion":"1.0.0","name":"n","deviceID":"0000:af:06.0","trust":"yes","logFile":")" +
          log + "\"}");
  EXPECT_EQ(conf.exit_code, 1);
  EXPECT_EQ(conf.stdout_text,
            "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"trust \\\"yes\\\" "
            "invalid: value must "
            "be \\\"on\\\" or \\\"off\\\"\"}\n");
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_THAT(
      ss.str(),
      ::testing::HasSubstr(
          "level=error msg=\"trust \\\"yes\\\" invalid: value must be "
          "\\\"on\\\" "
          "or \\\"off\\\"\" cniName=sriov-cni command=ADD containerID=c1 "
          "netns=/run/netns/x ifname=net1\n"));
  Out decode = RunSriov(
      "CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/x "
      "CNI_IFNAME=net1 CNI_PATH=/x",
      "not json");
  EXPECT_EQ(decode.exit_code, 1);
  EXPECT_EQ(decode.stdout_text,
            "{\"code\":6,\"msg\":\"error unmarshall network config: not "
            "valid JSON at byte 1: syntax error while parsing value - invalid "
            "literal; last read: 'no'\"}\n");
}

constexpr char kAddEnv[] =
    "CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/x "
    "CNI_IFNAME=net1 CNI_PATH=/x";

TEST(SriovBinaryTest, StdinOverOneMebibyteIsRefusedWithCode7) {
  std::string big = R"({"cniVersion":"1.0.0","name":"n","x":")" +
                    std::string(size_t{2} << 20, 'a') + "\"}";
  Out o = RunSriov(kAddEnv, big);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.stdout_text,
            "{\"code\":7,\"msg\":\"network config on stdin: more than 1048576 "
            "bytes\"}\n");
}

// ~80,000 levels under a typed key crashed the binary (stack overflow), for
// ADD, for VERSION and while writing logFile.
TEST(SriovBinaryTest, DeeplyNestedStdinIsADecodeErrorNotACrash) {
  sk::testing::TempDir tmp;
  const std::string log = (tmp / "sriov.log").string();
  const std::string deep = R"({"cniVersion":"1.0.0","name":"n","logFile":")" +
                           log + R"(","vlan":)" + std::string(80000, '[') +
                           std::string(80000, ']') + "}";
  Out add = RunSriov(kAddEnv, deep);
  EXPECT_EQ(add.exit_code, 1);
  EXPECT_THAT(add.stdout_text,
              ::testing::StartsWith(
                  "{\"code\":6,\"msg\":\"error unmarshall network config: JSON "
                  "nested deeper than 64 levels at byte "));
  Out version = RunSriov("CNI_COMMAND=VERSION", deep);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.stdout_text, ::testing::HasSubstr("supportedVersions"));
}

}  // namespace
