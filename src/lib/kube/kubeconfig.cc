#include "lib/kube/kubeconfig.h"

#include <cstdlib>
#include <exception>
#include <sstream>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"

namespace sk::kube {
namespace {

constexpr size_t kMaxPemBytes = size_t{1} << 20;
constexpr size_t kMaxTokenBytes = size_t{64} << 10;

// One named entry of `clusters`, `users` or `contexts`, and how errors name it.
struct Entry {
  YAML::Node body;
  std::string where;  // e.g. `kubeconfig /x: user "alice"`
};

absl::StatusOr<Entry> FindNamed(const YAML::Node& root, const std::string& list,
                                const std::string& inner,
                                const std::string& name,
                                const std::string& origin,
                                const std::string& referrer) {
  std::string singular(absl::StripSuffix(list, "s"));
  YAML::Node seq = root[list];
  if (seq && !seq.IsSequence()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", origin, ": ", list, ": not a list"));
  }
  if (seq) {
    for (const YAML::Node& item : seq) {
      if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) continue;
      if (item["name"].as<std::string>() != name) continue;
      YAML::Node body = item[inner];
      std::string where = absl::StrCat("kubeconfig ", origin, ": ", singular,
                                       " \"", name, "\"");
      if (!body || !body.IsMap()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", inner, ": missing"));
      }
      return Entry{body, where};
    }
  }
  return absl::NotFoundError(absl::StrCat("kubeconfig ", origin, ": ", singular,
                                          " \"", name, "\" (", referrer,
                                          ") not found in ", list));
}

absl::StatusOr<std::string> Scalar(const Entry& e, const char* field) {
  YAML::Node n = e.body[field];
  if (!n) return std::string();
  if (!n.IsScalar()) {
    return absl::InvalidArgumentError(
        absl::StrCat(e.where, ": ", field, ": not a string"));
  }
  return n.as<std::string>();
}

absl::StatusOr<bool> Bool(const Entry& e, const char* field) {
  YAML::Node n = e.body[field];
  if (!n) return false;
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(e.where, ": ", field, ": not a boolean"));
  }
  return v;
}

std::filesystem::path Resolve(const std::filesystem::path& origin,
                              const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative()) return origin.parent_path() / path;
  return path;
}

// `<field>-data` (base64) or `<field>` (a file), never both.
absl::StatusOr<std::string> PemFrom(const Entry& e,
                                    const std::filesystem::path& origin,
                                    const std::string& field) {
  std::string data_field = field + "-data";
  SK_ASSIGN_OR_RETURN(std::string data, Scalar(e, data_field.c_str()));
  SK_ASSIGN_OR_RETURN(std::string file, Scalar(e, field.c_str()));
  if (!data.empty() && !file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        e.where, ": both ", field, " and ", data_field, " are set"));
  }
  if (!data.empty()) {
    std::string pem;
    if (!absl::Base64Unescape(data, &pem) || pem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(e.where, ": ", data_field, ": not valid base64"));
    }
    if (pem.size() > kMaxPemBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          e.where, ": ", data_field, ": larger than ", kMaxPemBytes, " bytes"));
    }
    return pem;
  }
  if (!file.empty()) {
    std::filesystem::path path = Resolve(origin, file);
    absl::StatusOr<std::string> pem = ReadFileBounded(path, kMaxPemBytes);
    if (!pem.ok()) {
      return absl::Status(
          pem.status().code(),
          absl::StrCat(e.where, ": ", field, ": ", pem.status().message()));
    }
    return pem;
  }
  return std::string();
}

absl::StatusOr<RestConfig> Resolve(const YAML::Node& root,
                                   const std::filesystem::path& origin,
                                   const KubeconfigOptions& options) {
  const std::string o = origin.string();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", o, ": not a YAML mapping"));
  }
  std::string context = options.context;
  if (context.empty()) {
    YAML::Node cc = root["current-context"];
    if (cc && cc.IsScalar()) context = cc.as<std::string>();
    if (context.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kubeconfig ", o,
          ": current-context: missing (and no context was given)"));
    }
  }
  SK_ASSIGN_OR_RETURN(
      Entry ctx, FindNamed(root, "contexts", "context", context, o,
                           options.context.empty() ? "current-context"
                                                   : "the requested context"));
  SK_ASSIGN_OR_RETURN(std::string cluster_name, Scalar(ctx, "cluster"));
  SK_ASSIGN_OR_RETURN(std::string user_name, Scalar(ctx, "user"));
  SK_ASSIGN_OR_RETURN(std::string ns, Scalar(ctx, "namespace"));
  if (cluster_name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.where, ": cluster: missing"));
  }
  std::string ref = absl::StrCat("context \"", context, "\"");
  SK_ASSIGN_OR_RETURN(Entry cluster, FindNamed(root, "clusters", "cluster",
                                               cluster_name, o, ref));
  RestConfig cfg;
  if (!ns.empty()) cfg.default_namespace = ns;
  SK_ASSIGN_OR_RETURN(cfg.server, Scalar(cluster, "server"));
  if (cfg.server.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cluster.where, ": server: missing"));
  }
  if (!absl::StartsWith(cfg.server, "https://") &&
      !absl::StartsWith(cfg.server, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        cluster.where, ": server: \"", cfg.server, "\" is not an http(s) URL"));
  }
  while (absl::EndsWith(cfg.server, "/")) cfg.server.pop_back();
  SK_ASSIGN_OR_RETURN(cfg.ca_pem,
                      PemFrom(cluster, origin, "certificate-authority"));
  SK_ASSIGN_OR_RETURN(bool insecure, Bool(cluster, "insecure-skip-tls-verify"));
  if (insecure && !options.allow_insecure) {
    return absl::FailedPreconditionError(
        absl::StrCat(cluster.where,
                     ": insecure-skip-tls-verify: true is refused unless "
                     "explicitly allowed"));
  }
  if (insecure && !cfg.ca_pem.empty()) {
    // As clientcmd: "specifying a root certificates file with the insecure
    // flag is not allowed".
    return absl::InvalidArgumentError(absl::StrCat(
        cluster.where,
        ": insecure-skip-tls-verify: true together with a certificate "
        "authority is not allowed"));
  }
  cfg.insecure_skip_tls_verify = insecure;
  if (!user_name.empty()) {
    SK_ASSIGN_OR_RETURN(Entry user,
                        FindNamed(root, "users", "user", user_name, o, ref));
    for (const char* unsupported : {"exec", "auth-provider"}) {
      if (user.body[unsupported]) {
        return absl::UnimplementedError(
            absl::StrCat(user.where, ": ", unsupported, ": not supported"));
      }
    }
    SK_ASSIGN_OR_RETURN(cfg.token, Scalar(user, "token"));
    SK_ASSIGN_OR_RETURN(std::string token_file, Scalar(user, "tokenFile"));
    if (!cfg.token.empty() && !token_file.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(user.where, ": both token and tokenFile are set"));
    }
    if (!token_file.empty()) {
      cfg.token_file = Resolve(origin, token_file);
      std::error_code ec;
      if (!std::filesystem::exists(cfg.token_file, ec)) {
        return absl::NotFoundError(
            absl::StrCat(user.where, ": tokenFile: ", cfg.token_file.string(),
                         " does not exist"));
      }
    }
    SK_ASSIGN_OR_RETURN(cfg.client_cert_pem,
                        PemFrom(user, origin, "client-certificate"));
    SK_ASSIGN_OR_RETURN(cfg.client_key_pem,
                        PemFrom(user, origin, "client-key"));
    if (cfg.client_cert_pem.empty() != cfg.client_key_pem.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          user.where, ": ",
          cfg.client_cert_pem.empty() ? "client-certificate" : "client-key",
          ": missing (a client certificate needs both the certificate and its "
          "key)"));
    }
  }
  return cfg;
}

// yaml-cpp 0.7 alone can be made to recurse or expand without bound by a few
// bytes (deep nesting; aliases standing for exponentially large trees), so
// the first document's parse events are checked before YAML::Load builds it,
// as src/lib/kubevirt/input.cc does for KubeVirt inputs. A kubeconfig is
// about 4 levels deep and never needs anchors.
class BoundsChecker : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { Node(m, a); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override {
    Fail(m, "aliases are not accepted");
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                const std::string&) override {
    Node(m, a);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&,
                       YAML::anchor_t a, YAML::EmitterStyle::value) override {
    Open(m, a);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                  YAML::EmitterStyle::value) override {
    Open(m, a);
  }
  void OnMapEnd() override { --depth_; }
  void OnAnchor(const YAML::Mark& m, const std::string&) override {
    Fail(m, "anchors are not accepted");
  }
  const std::string& problem() const { return problem_; }

 private:
  static constexpr int kMaxDepth = 32;
  void Node(const YAML::Mark& m, YAML::anchor_t a) {
    if (a != YAML::NullAnchor) Fail(m, "anchors are not accepted");
  }
  void Open(const YAML::Mark& m, YAML::anchor_t a) {
    Node(m, a);
    if (++depth_ > kMaxDepth)
      Fail(m, absl::StrCat("nested deeper than ", kMaxDepth, " levels"));
  }
  void Fail(const YAML::Mark& m, const std::string& why) {
    if (problem_.empty())
      problem_ = absl::StrCat("line ", m.line + 1, ": ", why);
  }
  int depth_ = 0;
  std::string problem_;
};

}  // namespace

absl::StatusOr<RestConfig> ParseKubeconfig(std::string_view yaml,
                                           const std::filesystem::path& origin,
                                           const KubeconfigOptions& options) {
  if (yaml.size() > options.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", origin.string(), ": larger than the ",
                     options.max_bytes, "-byte limit"));
  }
  // yaml-cpp reports errors by exception; they stop here.
  try {
    std::istringstream in{std::string(yaml)};
    BoundsChecker checker;
    YAML::Parser parser(in);
    parser.HandleNextDocument(checker);
    if (!checker.problem().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kubeconfig ", origin.string(), ": ", checker.problem()));
    }
    YAML::Node root = YAML::Load(std::string(yaml));
    return Resolve(root, origin, options);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kubeconfig ", origin.string(), ": not valid YAML at line ",
        e.mark.line + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", origin.string(), ": ", e.what()));
  }
}

absl::StatusOr<RestConfig> LoadKubeconfig(const std::filesystem::path& path,
                                          const KubeconfigOptions& options) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, options.max_bytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("kubeconfig: ", text.status().message()));
  }
  return ParseKubeconfig(*text, path, options);
}

absl::StatusOr<RestConfig> InClusterConfig(const InClusterOptions& options) {
  auto getenv = options.getenv;
  if (!getenv) {
    getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  std::optional<std::string> host = getenv("KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = getenv("KUBERNETES_SERVICE_PORT");
  for (const auto& [name, value] :
       {std::pair{"KUBERNETES_SERVICE_HOST", host},
        std::pair{"KUBERNETES_SERVICE_PORT", port}}) {
    if (!value.has_value() || value->empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("in-cluster config: ", name,
                       " is not set (not running in a Kubernetes pod?)"));
    }
  }
  RestConfig cfg;
  bool v6 = host->find(':') != std::string::npos;
  cfg.server =
      absl::StrCat("https://", v6 ? "[" : "", *host, v6 ? "]" : "", ":", *port);
  const std::filesystem::path& dir = options.service_account_dir;
  cfg.token_file = dir / "token";
  absl::StatusOr<std::string> token =
      ReadFileBounded(cfg.token_file, kMaxTokenBytes);
  if (!token.ok()) {
    return absl::Status(
        token.status().code(),
        absl::StrCat("in-cluster config: token: ", token.status().message()));
  }
  absl::StatusOr<std::string> ca =
      ReadFileBounded(dir / "ca.crt", kMaxPemBytes);
  if (!ca.ok()) {
    return absl::Status(
        ca.status().code(),
        absl::StrCat("in-cluster config: ca.crt: ", ca.status().message()));
  }
  cfg.ca_pem = *std::move(ca);
  absl::StatusOr<std::string> ns = ReadFileBounded(dir / "namespace", 1024);
  if (ns.ok()) {
    std::string trimmed(absl::StripAsciiWhitespace(*ns));
    if (!trimmed.empty()) cfg.default_namespace = trimmed;
  } else if (!absl::IsNotFound(ns.status())) {
    return absl::Status(
        ns.status().code(),
        absl::StrCat("in-cluster config: namespace: ", ns.status().message()));
  }
  return cfg;
}

BearerToken::BearerToken(std::string token, std::filesystem::path token_file,
                         Clock& clock)
    : static_token_(std::move(token)),
      file_(std::move(token_file)),
      clock_(clock) {}

absl::StatusOr<std::string> BearerToken::Get() {
  if (file_.empty()) return static_token_;
  std::lock_guard<std::mutex> l(mu_);
  std::error_code ec;
  std::filesystem::file_time_type mtime =
      std::filesystem::last_write_time(file_, ec);
  Clock::TimePoint now = clock_.Now();
  bool stale = !read_at_.has_value() || now - *read_at_ >= kRereadInterval ||
               (!ec && mtime != mtime_);
  if (!stale) return cached_;
  absl::StatusOr<std::string> text = ReadFileBounded(file_, kMaxTokenBytes);
  if (!text.ok()) {
    // Keep using the last good token while the file is being replaced.
    if (read_at_.has_value()) return cached_;
    return absl::Status(
        text.status().code(),
        absl::StrCat("bearer token file: ", text.status().message()));
  }
  cached_ = std::string(absl::StripAsciiWhitespace(*text));
  read_at_ = now;
  if (!ec) mtime_ = mtime;
  return cached_;
}

}  // namespace sk::kube
