#include "lib/cni/command_line.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/config.h"
#include "lib/cni/error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

GetEnvFn From(std::map<std::string, std::string> m) {
  return [m](const char* n) -> std::optional<std::string> {
    auto it = m.find(n);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(StartActionTest, Table) {
  struct Case {
    std::string cni_command;
    std::string first_arg;
    StartAction want;
  };
  for (const Case& c : std::vector<Case>{
           {"", "", StartAction::kUsageThenRun},
           {"", "--bogus", StartAction::kUsageThenRun},
           {"", "-v", StartAction::kUsageThenRun},
           {"", "--help", StartAction::kUsageOnly},
           {"", "-h", StartAction::kUsageOnly},
           {"", "help", StartAction::kUsageOnly},
           {"", "--version", StartAction::kVersion},
           {"", "version", StartAction::kVersion},
           // Under a runtime the arguments do not matter.
           {"ADD", "", StartAction::kRun},
           {"VERSION", "--help", StartAction::kRun},
           {"DEL", "--version", StartAction::kRun},
           {"BOGUS", "", StartAction::kRun},
       }) {
    SCOPED_TRACE(c.cni_command + " " + c.first_arg);
    EXPECT_EQ(ChooseStartAction(c.cni_command, c.first_arg), c.want);
  }
}

TEST(UsageTextTest, ReferencePluginLinesThenHowToRun) {
  EXPECT_EQ(
      UsageText("1.2.3", "abc123"),
      "CNI sriov plugin (sriovkit 1.2.3, git abc123)\n"
      "CNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n"
      "\n"
      "A container runtime runs this plugin, one command per run:\n"
      "  CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION CNI_CONTAINERID=<id> \\\n"
      "  CNI_NETNS=<path> CNI_IFNAME=<name> CNI_PATH=<dirs> sriov < <network "
      "config JSON>\n"
      "The result, or a CNI error as JSON, goes to stdout. Also read: "
      "SRIOVKIT_SYSFS_ROOT\n"
      "(default /), SRIOVKIT_CNI_STATE_DIR (default /var/lib/cni/sriov).\n");
}

// Writes `text` to a file and opens it for reading (a pipe would block on
// more than its buffer).
int OpenWith(const sk::testing::TempDir& dir, const std::string& text) {
  const std::string path = dir / "stdin";
  int w = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  EXPECT_GE(w, 0);
  EXPECT_EQ(::write(w, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  ::close(w);
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

TEST(ReadNetConfTest, ReadsToEof) {
  sk::testing::TempDir dir;
  int fd = OpenWith(dir, R"({"cniVersion":"1.0.0"})");
  ASSERT_GE(fd, 0);
  absl::StatusOr<std::string> got = ReadNetConf(fd);
  ::close(fd);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, R"({"cniVersion":"1.0.0"})");
  int empty = OpenWith(dir, "");
  got = ReadNetConf(empty);
  ::close(empty);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, "");
}

TEST(ReadNetConfTest, TooLargeIsInvalidConfig) {
  sk::testing::TempDir dir;
  std::string big(kMaxNetConfBytes, ' ');
  int fd = OpenWith(dir, big);
  ASSERT_GE(fd, 0);
  EXPECT_THAT(ReadNetConf(fd), IsOk());  // exactly the limit
  ::close(fd);
  fd = OpenWith(dir, big + " ");
  ASSERT_GE(fd, 0);
  absl::StatusOr<std::string> got = ReadNetConf(fd);
  ::close(fd);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(CniCodeOf(got.status()), kCniInvalidConfig);
  EXPECT_EQ(got.status().message(),
            "network config on stdin: more than 1048576 bytes");
}

TEST(ReadNetConfTest, ReadFailureIsIoFailure) {
  absl::StatusOr<std::string> got = ReadNetConf(-1);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(CniCodeOf(got.status()), kCniIoFailure);
  EXPECT_THAT(got.status().message(), HasSubstr("network config on stdin"));
}

TEST(HostSettingsTest, Defaults) {
  HostSettings s = HostSettingsFromEnv(From({}));
  EXPECT_EQ(s.sysfs_root, "/");
  EXPECT_EQ(s.plugin.state_dir, "/var/lib/cni/sriov");
  EXPECT_FALSE(s.plugin.warn);
}

TEST(HostSettingsTest, FromEnv) {
  HostSettings s = HostSettingsFromEnv(From(
      {{"SRIOVKIT_SYSFS_ROOT", "/fake"}, {"SRIOVKIT_CNI_STATE_DIR", "/st"}}));
  EXPECT_EQ(s.sysfs_root, "/fake");
  EXPECT_EQ(s.plugin.state_dir, "/st");
  // Set but empty: the sysfs root stays "", the state dir its default.
  s = HostSettingsFromEnv(
      From({{"SRIOVKIT_SYSFS_ROOT", ""}, {"SRIOVKIT_CNI_STATE_DIR", ""}}));
  EXPECT_EQ(s.sysfs_root, "");
  EXPECT_EQ(s.plugin.state_dir, "/var/lib/cni/sriov");
}

TEST(FailureOutputTest, KeepsTheConfigsCniVersion) {
  absl::Status st = CniError(kCniInvalidEnv, "required env variables missing");
  EXPECT_EQ(FailureOutput(st, R"({"cniVersion":"1.0.0","name":"n"})"),
            "{\"cniVersion\":\"1.0.0\",\"code\":4,\"msg\":\"required env "
            "variables missing\"}\n");
  // No version to keep: not JSON, not an object, no or a non-string
  // cniVersion.
  for (const char* input :
       {"", "not json", "[1]", "{}", R"({"cniVersion":1})"}) {
    SCOPED_TRACE(input);
    EXPECT_EQ(FailureOutput(st, input),
              "{\"code\":4,\"msg\":\"required env variables missing\"}\n");
  }
}

}  // namespace
}  // namespace sk::cni
