#include "lib/deviceplugin/command_line.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/version/version.h"
#include "tests/testing/status_matchers.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(CommandLineTest, Defaults) {
  auto cl = ParseCommandLine({});
  ASSERT_THAT(cl, IsOk());
  const DaemonOptions& o = cl->options;
  EXPECT_FALSE(cl->exit_early);
  EXPECT_EQ(cl->output, "");
  EXPECT_EQ(o.config_file, "/etc/pcidp/config.json");
  EXPECT_EQ(o.resource_prefix, "intel.com");
  EXPECT_EQ(o.sysfs_root, "/");
  EXPECT_TRUE(o.exclude_default_route);
  EXPECT_FALSE(o.server.service.use_cdi);
  EXPECT_EQ(o.server.device_plugin_dir, "/var/lib/kubelet/device-plugins");
  EXPECT_EQ(o.server.plugins_registry_dir, "/var/lib/kubelet/plugins_registry");
  EXPECT_EQ(o.server.service.devinfo_dir,
            "/var/run/k8s.cni.cncf.io/devinfo/dp");
  EXPECT_EQ(o.server.service.cdi_dir, "/var/run/cdi");
  EXPECT_EQ(o.wait_node_configured, "");
  EXPECT_EQ(o.rescan_interval, absl::Seconds(600));
  // The sources are the caller's to open.
  EXPECT_EQ(o.events, nullptr);
  EXPECT_EQ(o.ddp, nullptr);
  EXPECT_EQ(o.metrics, nullptr);
  EXPECT_EQ(cl->log_level, 0);
  EXPECT_EQ(cl->log_file, "");
  EXPECT_EQ(cl->ops_address, "");
  EXPECT_EQ(cl->ddptool.program, "ddptool");
  EXPECT_FALSE(cl->explain);
  EXPECT_FALSE(cl->json);
  EXPECT_TRUE(cl->kernel_events);
  EXPECT_EQ(cl->rescan_seconds, 600);
  EXPECT_FALSE(cl->rescan_given);
}

TEST(CommandLineTest, EveryFlag) {
  auto cl = ParseCommandLine({"--config-file",
                              "/c/config.json",
                              "--resource-prefix=example.org",
                              "--use-cdi",
                              "--log-level",
                              "6",
                              "--log-dir=/l",
                              "--sysfs-root",
                              "/s",
                              "--device-plugin-path",
                              "/dp",
                              "--plugins-registry-path",
                              "/pr",
                              "--devinfo-dir",
                              "/di",
                              "--cdi-dir",
                              "/cdi",
                              "--exclude-default-route=false",
                              "--rescan-interval",
                              "30",
                              "--no-kernel-events",
                              "--ops-address",
                              "127.0.0.1:9808",
                              "--wait-node-configured",
                              "/run/configured",
                              "--ddptool",
                              "/usr/bin/ddptool",
                              "--explain",
                              "--json"});
  ASSERT_THAT(cl, IsOk());
  const DaemonOptions& o = cl->options;
  EXPECT_EQ(o.config_file, "/c/config.json");
  EXPECT_EQ(o.resource_prefix, "example.org");
  EXPECT_TRUE(o.server.service.use_cdi);
  EXPECT_EQ(cl->log_level, 6);
  EXPECT_EQ(cl->log_file, "/l/sriov-device-plugin.log");
  EXPECT_EQ(o.sysfs_root, "/s");
  EXPECT_EQ(o.server.device_plugin_dir, "/dp");
  EXPECT_EQ(o.server.plugins_registry_dir, "/pr");
  EXPECT_EQ(o.server.service.devinfo_dir, "/di");
  EXPECT_EQ(o.server.service.cdi_dir, "/cdi");
  EXPECT_FALSE(o.exclude_default_route);
  EXPECT_EQ(cl->rescan_seconds, 30);
  EXPECT_TRUE(cl->rescan_given);
  EXPECT_EQ(o.rescan_interval, absl::Seconds(30));
  EXPECT_FALSE(cl->kernel_events);
  EXPECT_EQ(cl->ops_address, "127.0.0.1:9808");
  EXPECT_EQ(o.wait_node_configured, "/run/configured");
  EXPECT_EQ(cl->ddptool.program, "/usr/bin/ddptool");
  EXPECT_TRUE(cl->explain);
  EXPECT_TRUE(cl->json);
  EXPECT_FALSE(cl->exit_early);
}

TEST(CommandLineTest, Aliases) {
  auto cl = ParseCommandLine({"--config", "/x.json", "--log_dir", "/l"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.config_file, "/x.json");
  EXPECT_EQ(cl->log_file, "/l/sriov-device-plugin.log");
}

TEST(CommandLineTest, RelativeLogDirIsUnderVarLog) {
  auto cl = ParseCommandLine({"--log-dir", "sriovdp"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->log_file, "/var/log/sriovdp/sriov-device-plugin.log");
}

// Upstream's DaemonSets pass Go `flag` / glog spellings.
TEST(CommandLineTest, GoAndGlogSpellings) {
  struct Case {
    std::vector<std::string> args;
    int log_level;
  };
  for (const Case& c : std::vector<Case>{
           {{"-v=3", "-logtostderr"}, 3},
           {{"-v", "4", "-alsologtostderr"}, 4},
           {{"-stderrthreshold=INFO", "-v=10"}, 10},
           {{"-log-level=7"}, 7},
           {{"--log-level", "2"}, 2},
       }) {
    SCOPED_TRACE(c.args.front());
    auto cl = ParseCommandLine(c.args);
    ASSERT_THAT(cl, IsOk());
    EXPECT_EQ(cl->log_level, c.log_level);
  }
  auto cl = ParseCommandLine(
      {"-config-file=/c.json", "-resource-prefix", "example.org", "-use-cdi"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.config_file, "/c.json");
  EXPECT_EQ(cl->options.resource_prefix, "example.org");
  EXPECT_TRUE(cl->options.server.service.use_cdi);
}

TEST(CommandLineTest, LogLevelTwiceIsAUsageError) {
  EXPECT_THAT(
      ParseCommandLine({"-v=3", "-v=4"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--log-level")));
}

TEST(CommandLineTest, UsageErrorsCarryCli11sTextAndTheHelpHint) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--no-such-flag"},
           {"--log-level", "many"},
           {"--rescan-interval", "86401"},
           {"--rescan-interval=-1"},
           {"--config-file"},
       }) {
    SCOPED_TRACE(args.front());
    auto cl = ParseCommandLine(args);
    EXPECT_THAT(cl,
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Run with --help for more information.")));
    EXPECT_THAT(std::string(cl.status().message()),
                ::testing::Not(::testing::EndsWith("\n")));
  }
  EXPECT_THAT(ParseCommandLine({"--no-such-flag"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--no-such-flag")));
  EXPECT_THAT(ParseCommandLine({"--rescan-interval", "86401"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--rescan-interval")));
}

TEST(CommandLineTest, RescanIntervalBounds) {
  auto cl = ParseCommandLine({"--rescan-interval=0"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.rescan_interval, absl::ZeroDuration());  // off
  cl = ParseCommandLine({"--rescan-interval=86400"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.rescan_interval, absl::Hours(24));
}

TEST(CommandLineTest, BadResourcePrefixNamesFlagAndValue) {
  auto cl = ParseCommandLine({"--resource-prefix=../x"});
  EXPECT_THAT(cl, StatusIs(absl::StatusCode::kInvalidArgument,
                           StartsWith("--resource-prefix: \"../x\" is not a "
                                      "DNS subdomain: empty label")));
  EXPECT_THAT(ParseCommandLine({"--resource-prefix", "Intel.com"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("--resource-prefix: \"Intel.com\"")));
}

TEST(CommandLineTest, OpsAddressMustBeLoopback) {
  EXPECT_THAT(ParseCommandLine({"--ops-address", "0.0.0.0:9808"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("--ops-address: ops address "
                                  "\"0.0.0.0:9808\": not a loopback address")));
  EXPECT_THAT(ParseCommandLine({"--ops-address=localhost:9808"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("--ops-address: ")));
  for (const char* good : {"127.0.0.1:9808", "[::1]:0"}) {
    auto cl = ParseCommandLine({"--ops-address", good});
    ASSERT_THAT(cl, IsOk()) << good;
    EXPECT_EQ(cl->ops_address, good);
  }
  // --explain serves nothing, so it does not look at --ops-address.
  EXPECT_THAT(ParseCommandLine({"--explain", "--ops-address", "0.0.0.0:9808"}),
              IsOk());
}

// The rule: given wins; not given, 600 s with kernel events and 60 s without
// (--no-kernel-events, or they could not be opened).
TEST(CommandLineTest, RescanIntervalRule) {
  struct Case {
    std::vector<std::string> args;
    bool events_open;
    absl::Duration want;
  };
  for (const Case& c : std::vector<Case>{
           // Not given.
           {{}, true, absl::Seconds(600)},
           {{}, false, absl::Seconds(60)},  // events could not be opened
           {{"--no-kernel-events"}, false, absl::Seconds(60)},
           // Given.
           {{"--rescan-interval=900"}, true, absl::Seconds(900)},
           {{"--rescan-interval=900"}, false, absl::Seconds(900)},
           {{"--rescan-interval=900", "--no-kernel-events"},
            false,
            absl::Seconds(900)},
           // Given as the default value still counts as given.
           {{"--rescan-interval=600", "--no-kernel-events"},
            false,
            absl::Seconds(600)},
           {{"--rescan-interval=0"}, false, absl::ZeroDuration()},
       }) {
    SCOPED_TRACE(::testing::PrintToString(c.args) +
                 (c.events_open ? " open" : " not open"));
    auto cl = ParseCommandLine(c.args);
    ASSERT_THAT(cl, IsOk());
    EXPECT_EQ(RescanInterval(*cl, c.events_open), c.want);
  }
  // ParseCommandLine fills options.rescan_interval as if kernel events,
  // when wanted, open.
  auto cl = ParseCommandLine({"--no-kernel-events"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.rescan_interval, absl::Seconds(60));
  cl = ParseCommandLine({});
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.rescan_interval, absl::Seconds(600));
}

TEST(CommandLineTest, HelpListsTheFlags) {
  for (const char* flag : {"--help", "-h", "-help"}) {
    SCOPED_TRACE(flag);
    auto cl = ParseCommandLine({flag});
    ASSERT_THAT(cl, IsOk());
    EXPECT_TRUE(cl->exit_early);
    EXPECT_THAT(cl->output, HasSubstr("Usage: sriov-device-plugin [OPTIONS]"));
    for (const char* listed :
         {"--version", "--config-file", "--resource-prefix", "--use-cdi",
          "--log-level", "--log-dir", "--sysfs-root", "--device-plugin-path",
          "--plugins-registry-path", "--devinfo-dir", "--cdi-dir",
          "--exclude-default-route", "--rescan-interval", "--no-kernel-events",
          "--ops-address", "--wait-node-configured", "--ddptool", "--explain",
          "--json"}) {
      EXPECT_THAT(cl->output, HasSubstr(listed));
    }
  }
}

TEST(CommandLineTest, VersionIsTheVersionLine) {
  auto cl = ParseCommandLine({"--version"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_TRUE(cl->exit_early);
  EXPECT_EQ(cl->output, sk::version::VersionLine("sriov-device-plugin") + "\n");
  // Before any check: a bad flag value beside it does not matter.
  cl = ParseCommandLine({"--resource-prefix=../x", "--version"});
  ASSERT_THAT(cl, IsOk());
  EXPECT_TRUE(cl->exit_early);
}

}  // namespace
}  // namespace sk::deviceplugin
