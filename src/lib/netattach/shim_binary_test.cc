// The sriov-netattach binary end to end, as a container runtime runs it: a
// clean environment with CNI_* variables, the network config on stdin, the
// answer on stdout and in the exit code. The daemon is a SocketServer in
// this test process.
#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/json.h"
#include "lib/netattach/socket_server.h"
#include "tests/testing/fake_cni_handler.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::FakeCniHandler;
using ::sk::testing::IsOk;
using ::sk::testing::RunShell;
using ::sk::testing::ShellResult;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kShim[] = SK_NETATTACH_SHIM_BINARY;

class ShimBinaryTest : public ::testing::Test {
 protected:
  std::string Conf(const std::string& extra = "") const {
    return R"({"cniVersion":"1.0.0","name":"meta","socketDir":")" +
           (tmp_ / "s").string() + "\"" + extra + "}";
  }
  TempDir tmp_;
  FakeCniHandler handler_;
};

TEST_F(ShimBinaryTest, AddRoundTripThroughTheDaemon) {
  SocketServerOptions o;
  o.socket_dir = tmp_ / "s";
  auto srv = SocketServer::Start(o, &handler_);
  ASSERT_THAT(srv, IsOk());
  ShellResult r = RunShell(
      std::string("env -i CNI_COMMAND=ADD CNI_CONTAINERID=ctr "
                  "CNI_NETNS=/var/run/netns/x CNI_IFNAME=eth0 "
                  "'CNI_ARGS=K8S_POD_NAMESPACE=default;K8S_POD_NAME=vm' "
                  "CNI_PATH=/opt/cni/bin HOME=/root ") +
          kShim,
      Conf());
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  auto j = ParseJsonBounded(r.stdout_text);
  ASSERT_THAT(j, IsOk()) << r.stdout_text;
  EXPECT_EQ(
      (*j)["env"],
      nlohmann::json({{"CNI_COMMAND", "ADD"},
                      {"CNI_CONTAINERID", "ctr"},
                      {"CNI_NETNS", "/var/run/netns/x"},
                      {"CNI_IFNAME", "eth0"},
                      {"CNI_ARGS", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=vm"},
                      {"CNI_PATH", "/opt/cni/bin"}}));
  EXPECT_EQ((*j)["stdin"], Conf());
  EXPECT_EQ(handler_.calls(), 1);
}

TEST_F(ShimBinaryTest, VersionWithoutDaemon) {
  ShellResult r = RunShell(std::string("env -i CNI_COMMAND=VERSION ") + kShim,
                           R"({"cniVersion":"0.3.1"})");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text,
            "{\"cniVersion\":\"0.3.1\",\"supportedVersions\":[\"0.3.0\","
            "\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
}

TEST_F(ShimBinaryTest, NoDaemonIsCode11WithinTheConnectTimeout) {
  auto t0 = std::chrono::steady_clock::now();
  ShellResult r =
      RunShell(std::string("env -i CNI_COMMAND=DEL ") + kShim, Conf());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(r.exit_code, 1);
  auto j = ParseJsonBounded(r.stdout_text);
  ASSERT_THAT(j, IsOk()) << r.stdout_text;
  EXPECT_EQ((*j)["code"], 11);
  EXPECT_EQ((*j)["cniVersion"], "1.0.0");
  EXPECT_THAT((*j)["msg"].get<std::string>(),
              HasSubstr("sriovkit-netattachd unreachable at " +
                        (tmp_ / "s/netattach.sock").string()));
}

TEST_F(ShimBinaryTest, BadConfigAnsweredLocallyWithCode7) {
  SocketServerOptions o;
  o.socket_dir = tmp_ / "s";
  auto srv = SocketServer::Start(o, &handler_);
  ASSERT_THAT(srv, IsOk());
  // The daemon runs, but a config the shim refuses never reaches it.
  ShellResult r = RunShell(std::string("env -i CNI_COMMAND=ADD ") + kShim,
                           Conf(R"(,"daemonTimeoutSeconds":-1)"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_text, HasSubstr("\"code\":7"));
  EXPECT_THAT(r.stdout_text, HasSubstr("daemonTimeoutSeconds -1"));
  EXPECT_EQ(handler_.calls(), 0);
}

TEST_F(ShimBinaryTest, OversizedStdinRefused) {
  ShellResult r = RunShell(std::string("head -c 2000000 /dev/zero | env -i "
                                       "CNI_COMMAND=ADD ") +
                           kShim);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_text, HasSubstr("\"code\":7"));
  EXPECT_THAT(r.stdout_text, HasSubstr("more than 1048576 bytes"));
}

}  // namespace
}  // namespace sk::netattach
