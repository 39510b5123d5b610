#include "lib/netattach/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"

namespace sk::netattach {
namespace {

using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ShimConfigTest, DefaultsAsMultus) {
  absl::StatusOr<ShimConfig> c =
      ParseShimConfig(R"({"cniVersion":"1.0.0","name":"multus"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->conf_dir, "/etc/cni/multus/net.d");
  EXPECT_EQ(c->cni_dir, "/var/lib/cni/multus");
  EXPECT_THAT(c->bin_dirs, ElementsAre("/opt/cni/bin"));
  EXPECT_THAT(c->system_namespaces, ElementsAre("kube-system"));
  EXPECT_THAT(c->global_namespaces, ElementsAre("default"));
  EXPECT_EQ(c->multus_namespace, "kube-system");
  EXPECT_EQ(c->socket_dir, "/run/sriovkit/netattach");
  EXPECT_FALSE(c->namespace_isolation);
}

TEST(ShimConfigTest, ReadsEveryKey) {
  absl::StatusOr<ShimConfig> c = ParseShimConfig(R"({
    "cniVersion":"0.4.0","name":"n","type":"sriov-netattach",
    "kubeconfig":"/k","confDir":"/c","cniDir":"/d","binDir":"/b1:/b2",
    "clusterNetwork":"cbr0","defaultNetworks":["x","y"],
    "systemNamespaces":["a"],"multusNamespace":"m","logFile":"/l",
    "logLevel":"debug","logToStderr":true,"readinessindicatorfile":"/r",
    "namespaceIsolation":true,"globalNamespaces":"g1, g2",
    "socketDir":"/s","unknownKey":{"x":1}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kubeconfig, "/k");
  EXPECT_EQ(c->conf_dir, "/c");
  EXPECT_EQ(c->cni_dir, "/d");
  EXPECT_THAT(c->bin_dirs, ElementsAre("/b1", "/b2"));
  EXPECT_EQ(c->cluster_network, "cbr0");
  EXPECT_THAT(c->default_networks, ElementsAre("x", "y"));
  EXPECT_THAT(c->system_namespaces, ElementsAre("a"));
  EXPECT_EQ(c->multus_namespace, "m");
  EXPECT_EQ(c->log_file, "/l");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_TRUE(c->log_to_stderr);
  EXPECT_EQ(c->readiness_indicator_file, "/r");
  EXPECT_TRUE(c->namespace_isolation);
  EXPECT_THAT(c->global_namespaces, ElementsAre("g1", "g2"));
  EXPECT_EQ(c->socket_dir, "/s");
}

TEST(ShimConfigTest, GlobalNamespacesAsList) {
  absl::StatusOr<ShimConfig> c =
      ParseShimConfig(R"({"globalNamespaces":["a","b"]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->global_namespaces, ElementsAre("a", "b"));
}

TEST(ShimConfigTest, ErrorsNameKeyAndValue) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {R"({"confDir":5})", "shim config: confDir: expected a string, got 5"},
      {R"({"logToStderr":"yes"})",
       "shim config: logToStderr: expected true or false, got \"yes\""},
      {R"({"defaultNetworks":"a"})",
       "defaultNetworks: expected a list of strings, got \"a\""},
      {R"({"defaultNetworks":["a",1]})",
       "defaultNetworks[1]: expected a string, got 1"},
      {R"({"delegates":[{"type":"x"},7]})",
       "delegates[1]: expected an object, got 7"},
      {R"({"globalNamespaces":{}})",
       "globalNamespaces: expected a comma-separated string or a list of "
       "strings, got {}"},
      {R"({"logLevel":"loud"})",
       "logLevel: expected one of \"\", \"debug\", \"error\", \"panic\", "
       "\"verbose\", got \"loud\""},
      {R"({"cniDir":""})", "cniDir: expected a non-empty path, got \"\""},
      {R"({"binDir":":"})",
       "binDir: expected a ':'-separated list of directories, got \":\""},
      {R"([1])", "shim config: $: expected an object, got [1]"},
      {R"({"a":)", "not valid JSON at byte"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_THAT(
        ParseShimConfig(c.json).status(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
    // The same errors from the two steps.
    absl::StatusOr<nlohmann::json> j = ParseShimConfigJson(c.json);
    EXPECT_THAT(
        j.ok() ? ShimConfigFromJson(*j).status() : j.status(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(ShimConfigTest, TwoStepsReadWhatParseShimConfigReads) {
  const char* text =
      R"({"cniVersion":"1.0.0","clusterNetwork":"cbr0","binDir":"/a:/b"})";
  absl::StatusOr<nlohmann::json> j = ParseShimConfigJson(text);
  SK_ASSERT_OK(j.status());
  EXPECT_EQ((*j)["clusterNetwork"], "cbr0");
  absl::StatusOr<ShimConfig> c = ShimConfigFromJson(*j);
  SK_ASSERT_OK(c.status());
  EXPECT_EQ(c->cni_version, "1.0.0");
  EXPECT_EQ(c->cluster_network, "cbr0");
  EXPECT_THAT(c->bin_dirs, ElementsAre("/a", "/b"));
  EXPECT_THAT(ParseShimConfigJson(R"({"a":)").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("shim config: not valid JSON at byte")));

  absl::StatusOr<std::shared_ptr<const ParsedShimConfig>> p =
      ParsedShimConfigFrom(*j);
  SK_ASSERT_OK(p.status());
  EXPECT_EQ((*p)->json, *j);
  EXPECT_EQ((*p)->config.cluster_network, "cbr0");
  EXPECT_THAT(
      ParsedShimConfigFrom(ParseShimConfigJson(R"({"confDir":5})")).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "shim config: confDir: expected a string, got 5"));
  EXPECT_THAT(ParsedShimConfigFrom(absl::InvalidArgumentError("x")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "x"));
}

TEST(ShimConfigTest, RefusesOversizedInput) {
  std::string big =
      R"({"name":")" + std::string(kMaxShimConfigBytes, 'a') + "\"}";
  EXPECT_THAT(
      ParseShimConfig(big).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds")));
}

}  // namespace
}  // namespace sk::netattach
