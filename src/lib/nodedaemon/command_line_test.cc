#include "lib/nodedaemon/command_line.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/version/version.h"
#include "tests/testing/status_matchers.h"

namespace sk::nodedaemon {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The two flags the daemon mode requires.
const std::vector<std::string> kDaemonFlags = {
    "--device-plugin-config", "/etc/pcidp/config.json", "--state-dir",
    "/var/lib/sriovkit"};

absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                  std::string node = "node-a") {
  return ParseCommandLine("sriovkit-node", args, std::move(node));
}

TEST(NodeCommandLineTest, Defaults) {
  auto cl = Parse(kDaemonFlags);
  ASSERT_THAT(cl, IsOk());
  const DaemonOptions& o = cl->options;
  EXPECT_EQ(o.node_name, "node-a");
  EXPECT_EQ(o.namespace_name, "sriov-network-operator");
  EXPECT_EQ(o.device_plugin_config, "/etc/pcidp/config.json");
  EXPECT_EQ(o.state_dir, "/var/lib/sriovkit");
  EXPECT_EQ(o.cni_state_dir, "/var/lib/cni/sriov");
  EXPECT_EQ(o.sysfs_root, "/");
  EXPECT_EQ(o.proc_root, "/");
  EXPECT_FALSE(o.allow_drain);
  EXPECT_FALSE(o.force);
  EXPECT_EQ(o.configured_file, "/run/sriovkit/node-configured");
  // Left for the caller.
  EXPECT_FALSE(o.log);
  EXPECT_EQ(o.kernel, nullptr);
  EXPECT_EQ(o.rebooter, nullptr);
  EXPECT_EQ(cl->kubeconfig, "");
  EXPECT_FALSE(cl->controller);
  EXPECT_FALSE(cl->once);
  EXPECT_FALSE(cl->manage_kernel_args);
  EXPECT_EQ(cl->root, "/");
  EXPECT_FALSE(cl->exit_early);
  EXPECT_EQ(cl->output, "");
}

TEST(NodeCommandLineTest, EveryFlag) {
  auto cl = Parse({"--kubeconfig",
                   "/k/config",
                   "--node-name=node-b",
                   "--namespace",
                   "ns1",
                   "--device-plugin-config",
                   "/dp.json",
                   "--state-dir",
                   "/st",
                   "--cni-state-dir",
                   "/cni",
                   "--sysfs-root",
                   "/s",
                   "--proc-root",
                   "/p",
                   "--allow-drain",
                   "--force",
                   "--configured-file",
                   "/run/c",
                   "--manage-kernel-args",
                   "--root",
                   "/host",
                   "--once"});
  ASSERT_THAT(cl, IsOk());
  const DaemonOptions& o = cl->options;
  EXPECT_EQ(cl->kubeconfig, "/k/config");
  EXPECT_EQ(o.node_name, "node-b");
  EXPECT_EQ(o.namespace_name, "ns1");
  EXPECT_EQ(o.device_plugin_config, "/dp.json");
  EXPECT_EQ(o.state_dir, "/st");
  EXPECT_EQ(o.cni_state_dir, "/cni");
  EXPECT_EQ(o.sysfs_root, "/s");
  EXPECT_EQ(o.proc_root, "/p");
  EXPECT_TRUE(o.allow_drain);
  EXPECT_TRUE(o.force);
  EXPECT_EQ(o.configured_file, "/run/c");
  EXPECT_TRUE(cl->manage_kernel_args);
  EXPECT_EQ(cl->root, "/host");
  EXPECT_TRUE(cl->once);
  EXPECT_FALSE(cl->controller);
}

TEST(NodeCommandLineTest, EmptyConfiguredFileDisablesIt) {
  std::vector<std::string> args = kDaemonFlags;
  args.insert(args.end(), {"--configured-file", ""});
  auto cl = Parse(args);
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.configured_file, "");
}

TEST(NodeCommandLineTest, ControllerNeedsNoDaemonPaths) {
  auto cl = Parse({"--controller", "--namespace", "ops"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_TRUE(cl->controller);
  EXPECT_EQ(cl->options.namespace_name, "ops");
}

TEST(NodeCommandLineTest, DaemonNeedsBothPaths) {
  const std::string msg =
      "sriovkit-node: --device-plugin-config and --state-dir are required "
      "without --controller";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {},
           {"--device-plugin-config", "/dp.json"},
           {"--state-dir", "/st"},
           {"--device-plugin-config", "", "--state-dir", "/st"}}) {
    SCOPED_TRACE(args.size());
    EXPECT_THAT(Parse(args), StatusIs(absl::StatusCode::kInvalidArgument, msg));
  }
  // Given, even as "", --state-dir counts.
  EXPECT_THAT(Parse({"--device-plugin-config", "/dp.json", "--state-dir", ""}),
              IsOk());
}

TEST(NodeCommandLineTest, EmptyNodeName) {
  const std::string msg =
      "sriovkit-node: --node-name: no node name ($NODE_NAME unset and no "
      "host name)";
  EXPECT_THAT(Parse(kDaemonFlags, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, msg));
  std::vector<std::string> args = kDaemonFlags;
  args.insert(args.end(), {"--node-name", ""});
  EXPECT_THAT(Parse(args), StatusIs(absl::StatusCode::kInvalidArgument, msg));
  // --node-name fills in for a missing default.
  args.back() = "node-c";
  auto cl = Parse(args, "");
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.node_name, "node-c");
}

TEST(NodeCommandLineTest, UsageErrorsAreCli11Text) {
  struct Case {
    std::vector<std::string> args;
    std::string first_line;
  };
  for (const Case& c : std::vector<Case>{
           {{"--bogus"}, "The following argument was not expected: --bogus"},
           {{"--node-name"}, "--node-name: 1 required TEXT missing"},
           {{"--controller=maybe"}, "Could not convert: --controller = maybe"},
           {{"extra"}, "The following argument was not expected: extra"},
       }) {
    SCOPED_TRACE(c.args.front());
    auto cl = Parse(c.args);
    ASSERT_THAT(cl, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_EQ(std::string(cl.status().message()),
              c.first_line + "\nRun with --help for more information.");
  }
}

TEST(NodeCommandLineTest, HelpNamesTheProgramAndEveryFlag) {
  auto cl = ParseCommandLine("/usr/bin/sriovkit-node", {"--help"}, "");
  ASSERT_THAT(cl, IsOk());
  EXPECT_TRUE(cl->exit_early);
  EXPECT_THAT(cl->output, StartsWith("sriovkit-node: applies "));
  EXPECT_THAT(cl->output, HasSubstr("Usage: /usr/bin/sriovkit-node [OPTIONS]"));
  for (const char* flag :
       {"--kubeconfig", "--node-name", "--namespace", "--controller",
        "--device-plugin-config", "--state-dir", "--cni-state-dir",
        "--sysfs-root", "--proc-root", "--allow-drain", "--force",
        "--configured-file", "--manage-kernel-args", "--root", "--once",
        "--version"}) {
    EXPECT_THAT(cl->output, HasSubstr(flag));
  }
  auto h = Parse({"-h"});
  ASSERT_THAT(h, IsOk());
  EXPECT_TRUE(h->exit_early);
}

TEST(NodeCommandLineTest, Version) {
  auto cl = Parse({"--version"}, "");
  ASSERT_THAT(cl, IsOk());
  EXPECT_TRUE(cl->exit_early);
  EXPECT_EQ(cl->output, sk::version::VersionLine("sriovkit-node") + "\n");
}

TEST(NodeCommandLineTest, DefaultNodeName) {
  const char* saved = getenv("NODE_NAME");
  const std::string old = saved == nullptr ? "" : saved;
  ASSERT_EQ(setenv("NODE_NAME", "from-env", 1), 0);
  EXPECT_EQ(DefaultNodeName(), "from-env");
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  ASSERT_EQ(setenv("NODE_NAME", "", 1), 0);
  EXPECT_EQ(DefaultNodeName(), host);
  ASSERT_EQ(unsetenv("NODE_NAME"), 0);
  EXPECT_EQ(DefaultNodeName(), host);
  if (saved != nullptr) setenv("NODE_NAME", old.c_str(), 1);
}

TEST(NodeCommandLineTest, ControllerSettings) {
  auto cl = Parse({"--controller", "--namespace", "ops"});
  ASSERT_THAT(cl, IsOk());
  std::vector<std::string> lines;
  cl->options.log = [&lines](std::string_view l) { lines.emplace_back(l); };
  ControllerSettings s = ControllerSettingsFor(*cl, "host-1", 4242);
  EXPECT_EQ(s.options.namespace_name, "ops");
  ASSERT_TRUE(s.options.log);
  s.options.log("hello");
  EXPECT_THAT(lines, ::testing::ElementsAre("hello"));
  EXPECT_EQ(s.election.lease.identity, "host-1_4242");
  EXPECT_EQ(s.election.lease.duration, std::chrono::seconds(15));
}

}  // namespace
}  // namespace sk::nodedaemon
