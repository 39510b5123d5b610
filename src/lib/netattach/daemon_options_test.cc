#include "lib/netattach/daemon_options.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/run_shell.h"
#include "tests/testing/status_matchers.h"

namespace sk::netattach {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

DaemonEnvironment Env(
    std::map<std::string, std::string> vars,
    absl::StatusOr<std::string> host = std::string("Host-1")) {
  DaemonEnvironment e;
  e.getenv = [vars](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  e.hostname = [host] { return host; };
  return e;
}

TEST(DaemonOptionsTest, Defaults) {
  auto cl = ParseDaemonCommandLine({}, Env({}));
  ASSERT_THAT(cl, IsOk());
  const DaemonOptions& o = cl->options;
  EXPECT_FALSE(cl->exit_early);
  EXPECT_EQ(o.kubeconfig, "");       // in-cluster
  EXPECT_EQ(o.node_name, "host-1");  // the host name, lowercased
  EXPECT_EQ(o.socket_dir, "/run/sriovkit/netattach");
  EXPECT_EQ(o.config_file, "");
  EXPECT_EQ(o.pod_resources_socket,
            "/var/lib/kubelet/pod-resources/kubelet.sock");
  EXPECT_EQ(o.kubelet_checkpoint,
            "/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint");
  EXPECT_EQ(o.cni_bin_dir, "/opt/cni/bin");
  EXPECT_EQ(o.cni_conf_dir, "/etc/cni/net.d");
  EXPECT_EQ(o.cache_dir, "/var/lib/cni/sriovkit-netattach");
  EXPECT_EQ(o.devinfo_dir, "/var/run/k8s.cni.cncf.io/devinfo");
}

TEST(DaemonOptionsTest, EveryFlag) {
  auto cl = ParseDaemonCommandLine({"--kubeconfig",
                                    "/k/config",
                                    "--node-name=worker-0.lab",
                                    "--socket-dir",
                                    "/tmp/s",
                                    "--config",
                                    "/etc/x.json",
                                    "--pod-resources-socket",
                                    "/tmp/pr.sock",
                                    "--kubelet-checkpoint",
                                    "/tmp/cp",
                                    "--cni-bin-dir",
                                    "/b",
                                    "--cni-conf-dir",
                                    "/c",
                                    "--cache-dir",
                                    "/d",
                                    "--devinfo-dir",
                                    "/e",
                                    "--allowed-uid",
                                    "1000",
                                    "--allowed-uid=1001"},
                                   Env({{"NODE_NAME", "from-env"}}));
  ASSERT_THAT(cl, IsOk());
  const DaemonOptions& o = cl->options;
  EXPECT_EQ(o.kubeconfig, "/k/config");
  EXPECT_EQ(o.node_name, "worker-0.lab");  // the flag wins over NODE_NAME
  EXPECT_EQ(o.socket_dir, "/tmp/s");
  EXPECT_EQ(o.config_file, "/etc/x.json");
  EXPECT_EQ(o.pod_resources_socket, "/tmp/pr.sock");
  EXPECT_EQ(o.kubelet_checkpoint, "/tmp/cp");
  EXPECT_EQ(o.cni_bin_dir, "/b");
  EXPECT_EQ(o.cni_conf_dir, "/c");
  EXPECT_EQ(o.cache_dir, "/d");
  EXPECT_EQ(o.devinfo_dir, "/e");
  EXPECT_THAT(o.allowed_uids, ::testing::UnorderedElementsAre(1000u, 1001u));
  EXPECT_FALSE(ParseDaemonCommandLine({"--allowed-uid", "root"}, Env({})).ok());
}

TEST(DaemonOptionsTest, NodeNameFromEnvThenHostname) {
  auto cl = ParseDaemonCommandLine({}, Env({{"NODE_NAME", "node-a"}}));
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.node_name, "node-a");
  // An empty NODE_NAME is as good as unset.
  cl = ParseDaemonCommandLine({}, Env({{"NODE_NAME", ""}}));
  ASSERT_THAT(cl, IsOk());
  EXPECT_EQ(cl->options.node_name, "host-1");
  EXPECT_THAT(ParseDaemonCommandLine({}, Env({}, absl::UnavailableError("no"))),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("--node-name")));
  // NODE_NAME is used as given: a bad one is named as such.
  EXPECT_THAT(ParseDaemonCommandLine({}, Env({{"NODE_NAME", "Node_A"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$NODE_NAME \"Node_A\"")));
}

TEST(DaemonOptionsTest, BadValuesNameTheFlagAndValue) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"--bogus"}, "--bogus"},
      {{"--node-name"}, "--node-name"},
      {{"--node-name", "UPPER"}, "--node-name \"UPPER\": character 'U' at 0"},
      {{"--node-name", "-a"}, "a label starts or ends with '-'"},
      {{"--node-name", "a..b"}, "--node-name \"a..b\": has an empty label"},
      {{"--node-name", std::string(254, 'a')}, "longer than 253"},
      {{"--socket-dir", "run/x"}, "--socket-dir \"run/x\": not an absolute"},
      {{"--socket-dir", ""}, "--socket-dir: empty path"},
      {{"--socket-dir", "/" + std::string(95, 's')},
       "over the 107-byte unix socket limit"},
      {{"--kubeconfig", "kc"}, "--kubeconfig \"kc\""},
      {{"--config", "c.json"}, "--config \"c.json\""},
      {{"--pod-resources-socket", "x.sock"},
       "--pod-resources-socket \"x.sock\""},
      {{"--pod-resources-socket", "/" + std::string(110, 'p')},
       "--pod-resources-socket"},
      {{"--kubelet-checkpoint", "cp"}, "--kubelet-checkpoint \"cp\""},
      {{"--cni-bin-dir", "bin"}, "--cni-bin-dir \"bin\""},
      {{"--cni-conf-dir", "."}, "--cni-conf-dir \".\""},
      {{"--cache-dir", "cache"}, "--cache-dir \"cache\""},
      {{"extra"}, "extra"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0]);
    EXPECT_THAT(
        ParseDaemonCommandLine(c.args, Env({})),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(DaemonOptionsTest, HelpListsEveryFlag) {
  auto cl = ParseDaemonCommandLine({"--help"}, Env({}));
  ASSERT_THAT(cl, IsOk());
  EXPECT_TRUE(cl->exit_early);
  for (const char* flag :
       {"--kubeconfig", "--node-name", "--socket-dir", "--config",
        "--pod-resources-socket", "--kubelet-checkpoint", "--cni-bin-dir",
        "--cni-conf-dir", "--cache-dir", "--devinfo-dir", "--allowed-uid"}) {
    EXPECT_THAT(cl->output, HasSubstr(flag));
  }
}

// The daemon binary: usage errors exit 64; with the handler not wired yet
// it refuses to start (78) and says so, never pretending to serve.
TEST(DaemonBinaryTest, ExitCodes) {
  const std::string bin = SK_NETATTACHD_BINARY;
  auto r = ::sk::testing::RunShell(bin + " --bogus");
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_THAT(r.stderr_text, HasSubstr("--bogus"));
  r = ::sk::testing::RunShell(bin + " --node-name n --socket-dir rel");
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_THAT(r.stderr_text, HasSubstr("--socket-dir \"rel\""));
  r = ::sk::testing::RunShell(bin + " --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr("--pod-resources-socket"));
  // No --kubeconfig and not in a pod: it cannot reach the API and says why.
  r = ::sk::testing::RunShell("env -i NODE_NAME=n " + bin +
                              " --socket-dir /tmp/sk-netattachd-unused");
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_THAT(
      r.stderr_text,
      HasSubstr("in-cluster config: KUBERNETES_SERVICE_HOST is not set"));
  EXPECT_FALSE(std::filesystem::exists("/tmp/sk-netattachd-unused"));
}

}  // namespace
}  // namespace sk::netattach
