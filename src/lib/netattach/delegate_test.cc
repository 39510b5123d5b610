#include "lib/netattach/delegate.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "lib/cni/error.h"
#include "tests/testing/netattach_fakes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::FakePluginCall;
using ::sk::testing::IsOk;
using ::sk::testing::ReadFakePluginCalls;
using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DelegateRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "bin");
    testing::WriteFakePlugin(dir_ / "bin", "first", log(), 1);
    testing::WriteFakePlugin(dir_ / "bin", "second", log(), 2);
  }
  std::filesystem::path log() { return dir_ / "calls.log"; }
  DelegateRunner Runner(
      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return DelegateRunner(
        {.bin_dirs = {(dir_ / "none").string(), (dir_ / "bin").string()},
         .cache_dir = dir_ / "cache",
         .timeout = timeout,
         .max_output_bytes = 64 << 10});
  }
  NetConfig Conf(const std::string& json) {
    absl::StatusOr<NetConfig> c = ParseNetConfig(json, "", "test");
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }
  RuntimeConf Rt() {
    RuntimeConf rt;
    rt.container_id = "cid1";
    rt.netns = "/run/netns/x";
    rt.ifname = "net1";
    rt.args = {{"IgnoreUnknown", "true"}, {"K8S_POD_NAME", "p"}};
    rt.capability_args = {{"mac", "02:aa:00:00:00:01"},
                          {"deviceID", "0000:03:02.0"}};
    return rt;
  }
  TempDir dir_;
};

TEST_F(DelegateRunnerTest, ConflistChainsPrevResultAndCaches) {
  NetConfig net = Conf(R"({"cniVersion":"1.0.0","name":"chain","plugins":[
      {"type":"first","capabilities":{"mac":true}},{"type":"second"}]})");
  DelegateRunner r = Runner();
  absl::StatusOr<nlohmann::json> res = r.Add(net, Rt());
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ((*res)["interfaces"][0]["mac"], "02:00:00:00:00:02");

  std::vector<FakePluginCall> calls = ReadFakePluginCalls(log());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].type, "first");
  EXPECT_EQ(calls[0].command, "ADD");
  EXPECT_EQ(calls[0].ifname, "net1");
  EXPECT_EQ(calls[0].netns, "/run/netns/x");
  EXPECT_EQ(calls[0].args, "IgnoreUnknown=true;K8S_POD_NAME=p");
  nlohmann::json in0 = nlohmann::json::parse(calls[0].stdin_json);
  EXPECT_EQ(in0["name"], "chain");
  EXPECT_EQ(in0["cniVersion"], "1.0.0");
  EXPECT_FALSE(in0.contains("prevResult"));
  // Only the declared capability reaches the plugin.
  EXPECT_EQ(in0["runtimeConfig"].dump(), R"({"mac":"02:aa:00:00:00:01"})");
  nlohmann::json in1 = nlohmann::json::parse(calls[1].stdin_json);
  EXPECT_EQ(in1["prevResult"]["interfaces"][0]["mac"], "02:00:00:00:00:01");
  EXPECT_FALSE(in1.contains("runtimeConfig"));

  // libcni's cache shape.
  absl::StatusOr<std::string> text =
      ReadFile(dir_ / "cache/results/chain-cid1-net1");
  ASSERT_TRUE(text.ok()) << text.status();
  // The exact bytes (libcni reads them back).
  EXPECT_EQ(*text,
            R"({"capabilityArgs":{"deviceID":"0000:03:02.0","mac":"02:aa:00)"
            R"(:00:00:01"},"cniArgs":[["IgnoreUnknown","true"],["K8S_POD_NA)"
            R"(ME","p"]],"config":"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoi)"
            R"(Y2hhaW4iLCJwbHVnaW5zIjpbeyJjYXBhYmlsaXRpZXMiOnsibWFjIjp0cnVl)"
            R"(fSwidHlwZSI6ImZpcnN0In0seyJ0eXBlIjoic2Vjb25kIn1dfQ==","conta)"
            R"(inerId":"cid1","ifName":"net1","kind":"cniCacheV1","netns":")"
            R"(/run/netns/x","networkName":"chain","result":{"cniVersion":")"
            R"(1.0.0","dns":{"nameservers":["10.0.2.53"]},"interfaces":[{"m)"
            R"(ac":"02:00:00:00:00:02","mtu":1400,"name":"net1","sandbox":")"
            R"(/run/netns/x"}],"ips":[{"address":"10.0.2.2/24","gateway":"1)"
            R"(0.0.2.1","interface":0}],"routes":[{"dst":"0.0.0.0/0","gw":")"
            R"(10.0.2.1"}]}})");
  nlohmann::json cache = nlohmann::json::parse(*text);
  EXPECT_EQ(cache["kind"], "cniCacheV1");
  EXPECT_EQ(cache["containerId"], "cid1");
  EXPECT_EQ(cache["ifName"], "net1");
  EXPECT_EQ(cache["networkName"], "chain");
  EXPECT_EQ(cache["cniArgs"].dump(),
            R"([["IgnoreUnknown","true"],["K8S_POD_NAME","p"]])");
  EXPECT_EQ(cache["capabilityArgs"]["deviceID"], "0000:03:02.0");
  EXPECT_EQ(cache["result"], *res);
  std::string conf_bytes;
  ASSERT_TRUE(
      absl::Base64Unescape(cache["config"].get<std::string>(), &conf_bytes));
  EXPECT_EQ(nlohmann::json::parse(conf_bytes), net.json);

  // CHECK in order with the cached result, DEL in reverse, cache removed.
  ASSERT_THAT(r.Check(net, Rt()), IsOk());
  ASSERT_THAT(r.Del(net, Rt()), IsOk());
  calls = ReadFakePluginCalls(log());
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[2].command + calls[2].type, "CHECKfirst");
  EXPECT_EQ(calls[3].command + calls[3].type, "CHECKsecond");
  EXPECT_EQ(nlohmann::json::parse(calls[2].stdin_json)["prevResult"], *res);
  EXPECT_EQ(calls[4].command + calls[4].type, "DELsecond");
  EXPECT_EQ(calls[5].command + calls[5].type, "DELfirst");
  EXPECT_EQ(nlohmann::json::parse(calls[5].stdin_json)["prevResult"], *res);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache/results/chain-cid1-net1"));
  // A second DEL still runs (no prevResult) and succeeds.
  ASSERT_THAT(r.Del(net, Rt()), IsOk());
  calls = ReadFakePluginCalls(log());
  EXPECT_FALSE(
      nlohmann::json::parse(calls.back().stdin_json).contains("prevResult"));
}

TEST_F(DelegateRunnerTest, PluginErrorKeepsCodeAndNamesPlugin) {
  testing::WriteFailingPlugin(dir_ / "bin", "bad", log(), "ADD", 7,
                              "vlan id invalid");
  absl::StatusOr<nlohmann::json> res = Runner().Add(
      Conf(R"({"cniVersion":"1.0.0","name":"n","type":"bad"})"), Rt());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(cni::CniCodeOf(res.status()), 7);
  EXPECT_THAT(res.status().message(),
              HasSubstr("plugin type=\"bad\" (add) failed: vlan id invalid; "
                        "more"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache/results/n-cid1-net1"));
}

TEST_F(DelegateRunnerTest, MissingAndInvalidPlugins) {
  absl::StatusOr<nlohmann::json> res = Runner().Add(
      Conf(R"({"cniVersion":"1.0.0","name":"n","type":"absent"})"), Rt());
  EXPECT_EQ(cni::CniCodeOf(res.status()), 7);
  EXPECT_THAT(res.status().message(),
              HasSubstr("failed to find plugin \"absent\" in path"));
  NetConfig ok = Conf(R"({"name":"n","type":"first"})");
  EXPECT_THAT(Runner().PluginsExist(ok), IsOk());
  ok.plugin_types[0] = "..";
  EXPECT_THAT(Runner().PluginsExist(ok).message(),
              HasSubstr("invalid plugin type \"..\""));
}

TEST_F(DelegateRunnerTest, TimeoutKillsThePlugin) {
  testing::WriteFakePlugin(dir_ / "bin", "slow", log(), 3, "sleep 30");
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<nlohmann::json> res =
      Runner(std::chrono::milliseconds(300))
          .Add(Conf(R"({"name":"n","type":"slow"})"), Rt());
  EXPECT_EQ(cni::CniCodeOf(res.status()), 11);
  EXPECT_THAT(res.status().message(),
              HasSubstr("no answer within 300 ms; killed"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// Whether `pid` has exited (gone, or a zombie nobody reaped yet), waiting
// up to `timeout` for it.
bool ExitsWithin(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && line.size() > paren + 2 &&
        line[paren + 2] == 'Z')
      return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

pid_t ReadPid(const std::filesystem::path& file) {
  pid_t pid = 0;
  std::ifstream(file) >> pid;
  return pid;
}

TEST_F(DelegateRunnerTest, PluginExitEndsTheCallWhileItsChildHoldsStdout) {
  // The plugin answers and exits; the process it left behind keeps stdout
  // open for 30 s. The call ends with the plugin, not with its child.
  const std::filesystem::path pid_file = dir_ / "child.pid";
  testing::WriteFakePlugin(dir_ / "bin", "forks", log(), 3,
                           "sleep 30 & echo $! > " + pid_file.string());
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<nlohmann::json> res =
      Runner().Add(Conf(R"({"name":"n","type":"forks"})"), Rt());
  auto took = std::chrono::steady_clock::now() - start;
  pid_t child = ReadPid(pid_file);
  ASSERT_GT(child, 0);
  EXPECT_FALSE(ExitsWithin(child, std::chrono::milliseconds(0)))
      << "the child was meant to outlive the plugin";
  ::kill(child, SIGKILL);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ((*res)["interfaces"][0]["mac"], "02:00:00:00:00:03");
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(DelegateRunnerTest, PluginThatClosesStdoutIsStillBoundedByTheTimeout) {
  // Stdout closed (EOF) but the plugin still running: the timeout, not
  // the plugin, ends the call, and the plugin is killed. (1 s, not less:
  // the script must have written its pid file by then, even under load.)
  const std::filesystem::path pid_file = dir_ / "plugin.pid";
  testing::WriteFakePlugin(
      dir_ / "bin", "hangs", log(), 3,
      "echo $$ > " + pid_file.string() + "; exec >&-; sleep 30");
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<nlohmann::json> res =
      Runner(std::chrono::milliseconds(1000))
          .Add(Conf(R"({"name":"n","type":"hangs"})"), Rt());
  EXPECT_EQ(cni::CniCodeOf(res.status()), 11);
  EXPECT_THAT(res.status().message(),
              HasSubstr("no answer within 1000 ms; killed"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  pid_t plugin = ReadPid(pid_file);
  ASSERT_GT(plugin, 0);
  EXPECT_TRUE(ExitsWithin(plugin, std::chrono::seconds(5)));
}

TEST_F(DelegateRunnerTest, TimeoutKillsWhatThePluginStarted) {
  // The plugin's process group goes with it.
  const std::filesystem::path pid_file = dir_ / "child.pid";
  testing::WriteFakePlugin(
      dir_ / "bin", "slowforks", log(), 3,
      "sleep 30 & echo $! > " + pid_file.string() + "; wait");
  absl::StatusOr<nlohmann::json> res =
      Runner(std::chrono::milliseconds(1000))
          .Add(Conf(R"({"name":"n","type":"slowforks"})"), Rt());
  EXPECT_EQ(cni::CniCodeOf(res.status()), 11);
  pid_t child = ReadPid(pid_file);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(ExitsWithin(child, std::chrono::seconds(5)));
}

TEST_F(DelegateRunnerTest, OversizedOutputRefused) {
  testing::WriteFakePlugin(dir_ / "bin", "chatty", log(), 3,
                           "head -c 200000 /dev/zero | tr '\\\\0' a; exit 0");
  absl::StatusOr<nlohmann::json> res =
      Runner().Add(Conf(R"({"name":"n","type":"chatty"})"), Rt());
  EXPECT_THAT(res.status().message(),
              HasSubstr("output exceeds the 65536-byte limit"));
}

TEST_F(DelegateRunnerTest, CheckNeedsVersion040) {
  EXPECT_EQ(
      cni::CniCodeOf(Runner().Check(
          Conf(R"({"cniVersion":"0.3.1","name":"n","type":"first"})"), Rt())),
      1);
}

TEST_F(DelegateRunnerTest, RefusesUnsafeNamesForTheCache) {
  absl::StatusOr<nlohmann::json> res =
      Runner().Add(Conf(R"({"name":"../x","type":"first"})"), Rt());
  EXPECT_THAT(res.status().message(),
              HasSubstr("is not a valid cache file name"));
}

// The pattern of containernetworking/cni pkg/utils, checked without a regex.
TEST(ValidCacheComponentTest, MatchesLibcnisPattern) {
  const std::regex re("^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
  std::vector<std::string> cases = {"a",    "Z9",          "0abc_def.ghi-jkl",
                                    "cid1", "net-a.b_c",   "",
                                    "-a",   ".a",          "_a",
                                    "a/b",  "../x",        "a b",
                                    "a\n",  "\na",         "a$",
                                    "a:b",  "caf\xc3\xa9", "\xc3\xa9",
                                    "ABC-", "a.."};
  cases.push_back(std::string(1024, 'x'));
  cases.push_back(std::string(1025, 'x'));
  cases.push_back(std::string("a\0b", 3));
  for (const std::string& s : cases) {
    SCOPED_TRACE(s);
    EXPECT_EQ(ValidCacheComponent(s),
              s.size() <= 1024 && std::regex_match(s, re));
  }
}

TEST(FormatCniArgsTest, JoinsPairs) {
  EXPECT_EQ(FormatCniArgs({{"A", "1"}, {"B", "x=y"}}), "A=1;B=x=y");
  EXPECT_EQ(FormatCniArgs({}), "");
}

}  // namespace
}  // namespace sk::netattach
