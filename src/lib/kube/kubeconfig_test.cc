#include "lib/kube/kubeconfig.h"

#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::kube {
namespace {

using ::sk::testing::FakeClock;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCa[] =
    "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
constexpr char kCert[] =
    "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
constexpr char kKey[] =
    "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

void Write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::string B64(const std::string& s) { return absl::Base64Escape(s); }

// A kubeconfig with one context "ctx" -> cluster "c" and user "u"; the
// placeholders CLUSTER and USER are replaced by each case's fields.
std::string Kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& extra = "") {
  return absl::StrReplaceAll(
      R"(apiVersion: v1
kind: Config
current-context: ctx
contexts:
- name: ctx
  context:
    cluster: c
    user: u
    namespace: team-a
- name: other
  context:
    cluster: missing-cluster
    user: u
clusters:
- name: c
  cluster:
CLUSTER
users:
- name: u
  user:
USER
EXTRA)",
      {{"CLUSTER", cluster}, {"USER", user}, {"EXTRA", extra}});
}

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(dir_ / "ca.crt", kCa);
    Write(dir_ / "client.crt", kCert);
    Write(dir_ / "client.key", kKey);
    Write(dir_ / "token", "file-token\n");
  }
  absl::StatusOr<RestConfig> Load(const std::string& text,
                                  KubeconfigOptions o = {}) {
    Write(dir_ / "config", text);
    return LoadKubeconfig(dir_ / "config", o);
  }
  TempDir dir_;
};

TEST_F(KubeconfigTest, EachAuthKindAndEncoding) {
  const std::string server = "    server: https://10.0.0.1:6443/\n";
  struct Case {
    std::string name, cluster, user;
    std::string want_token, want_token_file, want_cert, want_key;
  };
  std::vector<Case> cases = {
      {"token + CA file", server + "    certificate-authority: ca.crt",
       "    token: static-token", "static-token", "", "", ""},
      {"tokenFile + CA data",
       server + "    certificate-authority-data: " + B64(kCa),
       "    tokenFile: token", "", "token", "", ""},
      {"client cert files",
       server + "    certificate-authority: " + (dir_ / "ca.crt").string(),
       "    client-certificate: client.crt\n    client-key: client.key", "", "",
       kCert, kKey},
      {"client cert data",
       server + "    certificate-authority-data: " + B64(kCa),
       "    client-certificate-data: " + B64(kCert) +
           "\n    client-key-data: " + B64(kKey),
       "", "", kCert, kKey},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = Load(Kubeconfig(c.cluster, c.user));
    ASSERT_THAT(cfg.status(), IsOk());
    EXPECT_EQ(cfg->server, "https://10.0.0.1:6443");
    EXPECT_EQ(cfg->ca_pem, kCa);
    EXPECT_EQ(cfg->token, c.want_token);
    EXPECT_EQ(cfg->token_file, c.want_token_file.empty()
                                   ? std::filesystem::path()
                                   : dir_ / c.want_token_file);
    EXPECT_EQ(cfg->client_cert_pem, c.want_cert);
    EXPECT_EQ(cfg->client_key_pem, c.want_key);
    EXPECT_EQ(cfg->default_namespace, "team-a");
    EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  }
}

TEST_F(KubeconfigTest, ErrorsNameTheirField) {
  const std::string ok_cluster =
      "    server: https://h:1\n    certificate-authority: ca.crt";
  const std::string ok_user = "    token: secret-value-123";
  struct Case {
    std::string name, text;
    absl::StatusCode code;
    std::string want;
    KubeconfigOptions options{};
  };
  std::vector<Case> cases = {
      {"no server", Kubeconfig("    certificate-authority: ca.crt", ok_user),
       absl::StatusCode::kInvalidArgument, "cluster \"c\": server: missing"},
      {"not a URL", Kubeconfig("    server: h:1", ok_user),
       absl::StatusCode::kInvalidArgument,
       "server: \"h:1\" is not an http(s) URL"},
      {"missing CA file",
       Kubeconfig(
           "    server: https://h:1\n    certificate-authority: nope.crt",
           ok_user),
       absl::StatusCode::kNotFound, "cluster \"c\": certificate-authority: "},
      {"bad base64",
       Kubeconfig(
           "    server: https://h:1\n    certificate-authority-data: '%%%'",
           ok_user),
       absl::StatusCode::kInvalidArgument,
       "certificate-authority-data: not valid base64"},
      {"file and data",
       Kubeconfig(ok_cluster + "\n    certificate-authority-data: " + B64(kCa),
                  ok_user),
       absl::StatusCode::kInvalidArgument,
       "both certificate-authority and certificate-authority-data"},
      {"insecure without the flag",
       Kubeconfig("    server: https://h:1\n    insecure-skip-tls-verify: true",
                  ok_user),
       absl::StatusCode::kFailedPrecondition, "insecure-skip-tls-verify"},
      {"insecure with a CA",
       Kubeconfig(ok_cluster + "\n    insecure-skip-tls-verify: true", ok_user),
       absl::StatusCode::kInvalidArgument,
       "together with a certificate authority",
       {.context = "", .allow_insecure = true}},
      {"missing context",
       Kubeconfig(ok_cluster, ok_user),
       absl::StatusCode::kNotFound,
       "context \"nope\" (the requested context) not found in contexts",
       {.context = "nope"}},
      {"missing cluster",
       Kubeconfig(ok_cluster, ok_user),
       absl::StatusCode::kNotFound,
       "cluster \"missing-cluster\" (context \"other\") not found in clusters",
       {.context = "other"}},
      {"cert without key",
       Kubeconfig(ok_cluster, "    client-certificate: client.crt"),
       absl::StatusCode::kInvalidArgument, "user \"u\": client-key: missing"},
      {"token and tokenFile",
       Kubeconfig(ok_cluster, ok_user + "\n    tokenFile: token"),
       absl::StatusCode::kInvalidArgument, "both token and tokenFile"},
      {"missing tokenFile", Kubeconfig(ok_cluster, "    tokenFile: gone"),
       absl::StatusCode::kNotFound, "tokenFile: "},
      {"exec plugin", Kubeconfig(ok_cluster, "    exec:\n      command: aws"),
       absl::StatusCode::kUnimplemented, "user \"u\": exec: not supported"},
      {"no current-context", "apiVersion: v1\nclusters: []\n",
       absl::StatusCode::kInvalidArgument, "current-context: missing"},
      {"not YAML", "a: [", absl::StatusCode::kInvalidArgument,
       "not valid YAML at line"},
      {"not a mapping", "- 1\n- 2\n", absl::StatusCode::kInvalidArgument,
       "not a YAML mapping"},
      {"deep nesting", std::string(100, '[') + std::string(100, ']'),
       absl::StatusCode::kInvalidArgument, "nested deeper than 32 levels"},
      {"alias", "a: &x {b: 1}\nc: *x\n", absl::StatusCode::kInvalidArgument,
       "are not accepted"},
      {"bad boolean",
       Kubeconfig(
           "    server: https://h:1\n    insecure-skip-tls-verify: maybe",
           ok_user),
       absl::StatusCode::kInvalidArgument,
       "insecure-skip-tls-verify: not a boolean"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = Load(c.text, c.options);
    EXPECT_THAT(cfg.status(), StatusIs(c.code, HasSubstr(c.want)));
    EXPECT_THAT(std::string(cfg.status().message()),
                HasSubstr((dir_ / "config").string()));
    EXPECT_THAT(std::string(cfg.status().message()),
                Not(HasSubstr("secret-value-123")));
  }
}

TEST_F(KubeconfigTest, InsecureWithTheFlagAndAnExplicitContext) {
  std::string extra = R"(- name: second
  context:
    cluster: c
    user: u
)";
  std::string text =
      Kubeconfig("    server: https://h:1\n    insecure-skip-tls-verify: true",
                 "    token: t");
  // Append a third context to the contexts list.
  text = absl::StrReplaceAll(text, {{"clusters:\n", extra + "clusters:\n"}});
  auto cfg = Load(text, {.context = "second", .allow_insecure = true});
  ASSERT_THAT(cfg.status(), IsOk());
  EXPECT_TRUE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->default_namespace, "default");
}

TEST_F(KubeconfigTest, SizeBounded) {
  auto cfg = Load(std::string(2000, '#'), {.max_bytes = 1000});
  EXPECT_THAT(cfg.status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1000")));
}

class InClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(dir_ / "token", "sa-token\n");
    Write(dir_ / "ca.crt", kCa);
    Write(dir_ / "namespace", "kube-system\n");
  }
  InClusterOptions Options() {
    InClusterOptions o;
    o.service_account_dir = dir_.path();
    o.getenv = [this](const std::string& k) -> std::optional<std::string> {
      auto it = env_.find(k);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }
  TempDir dir_;
  std::map<std::string, std::string> env_ = {
      {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
      {"KUBERNETES_SERVICE_PORT", "443"}};
};

TEST_F(InClusterTest, ReadsTheServiceAccount) {
  auto cfg = InClusterConfig(Options());
  ASSERT_THAT(cfg.status(), IsOk());
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->ca_pem, kCa);
  EXPECT_EQ(cfg->token_file, dir_ / "token");
  EXPECT_EQ(cfg->default_namespace, "kube-system");
}

TEST_F(InClusterTest, Ipv6HostIsBracketed) {
  env_["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  auto cfg = InClusterConfig(Options());
  ASSERT_THAT(cfg.status(), IsOk());
  EXPECT_EQ(cfg->server, "https://[fd00::1]:443");
}

TEST_F(InClusterTest, MissingEnvAndFilesAreNamed) {
  env_.erase("KUBERNETES_SERVICE_PORT");
  EXPECT_THAT(InClusterConfig(Options()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("KUBERNETES_SERVICE_PORT")));
  env_["KUBERNETES_SERVICE_PORT"] = "443";
  std::filesystem::remove(dir_ / "ca.crt");
  EXPECT_THAT(InClusterConfig(Options()).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ca.crt")));
  Write(dir_ / "ca.crt", kCa);
  std::filesystem::remove(dir_ / "namespace");
  auto cfg = InClusterConfig(Options());
  ASSERT_THAT(cfg.status(), IsOk());
  EXPECT_EQ(cfg->default_namespace, "default");
}

TEST(BearerTokenTest, StaticToken) {
  BearerToken t("abc", "");
  EXPECT_EQ(*t.Get(), "abc");
}

TEST(BearerTokenTest, FileIsReReadWhenItChangesOrAMinutePasses) {
  TempDir dir;
  auto path = dir / "token";
  Write(path, "one\n");
  FakeClock clock;
  BearerToken t("", path, clock);
  EXPECT_EQ(*t.Get(), "one");
  // Rewritten with the same mtime (coarse timestamps): cached until a minute.
  auto mtime = std::filesystem::last_write_time(path);
  Write(path, "two\n");
  std::filesystem::last_write_time(path, mtime);
  EXPECT_EQ(*t.Get(), "one");
  clock.Advance(std::chrono::seconds(59));
  EXPECT_EQ(*t.Get(), "one");
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(*t.Get(), "two");
  // A new mtime is picked up at once.
  Write(path, "three\n");
  std::filesystem::last_write_time(path, mtime + std::chrono::seconds(5));
  EXPECT_EQ(*t.Get(), "three");
  // A vanished file keeps the last good token.
  std::filesystem::remove(path);
  clock.Advance(std::chrono::minutes(2));
  EXPECT_EQ(*t.Get(), "three");
}

TEST(BearerTokenTest, MissingFileFirstTimeNamesThePath) {
  BearerToken t("", "/nonexistent/sk/token");
  EXPECT_THAT(t.Get().status(), StatusIs(absl::StatusCode::kNotFound,
                                         HasSubstr("/nonexistent/sk/token")));
}

}  // namespace
}  // namespace sk::kube
