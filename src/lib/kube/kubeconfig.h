#pragma once
// Where the Kubernetes API is and how to authenticate to it: a kubeconfig
// file (as kubectl and client-go's clientcmd read it) or the in-cluster
// service account (client-go rest.InClusterConfig).
//
//   SK_ASSIGN_OR_RETURN(RestConfig cfg,
//   LoadKubeconfig("/etc/kubernetes/kubelet.conf"));
//   SK_ASSIGN_OR_RETURN(RestConfig cfg, InClusterConfig());
//
// Supported: clusters (server, certificate-authority[-data],
// insecure-skip-tls-verify), users (token, tokenFile, client-certificate[-data]
// + client-key[-data]), contexts (cluster, user, namespace), current-context.
// `exec` and `auth-provider` users are refused (Unimplemented, naming them).
// Relative file paths are relative to the kubeconfig's directory, as in
// clientcmd. Every error names the file, the context/cluster/user and the
// field. Credentials never appear in an error message.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/base/clock.h"

namespace sk::kube {

struct RestConfig {
  // "https://host:port" (no trailing slash).
  std::string server;
  // PEM bundle the server certificate must chain to; empty: the system store.
  std::string ca_pem;
  // Static bearer token; or a file holding one, re-read when it rotates
  // (BearerToken below). At most one of them is set.
  std::string token;
  std::filesystem::path token_file;
  // Client certificate authentication (PEM, kept in memory).
  std::string client_cert_pem;
  std::string client_key_pem;
  // Only ever true when the caller allowed it (KubeconfigOptions).
  bool insecure_skip_tls_verify = false;
  // The context's namespace (in-cluster: the service account's), else
  // "default".
  std::string default_namespace = "default";
};

struct KubeconfigOptions {
  // The context to use; empty: current-context.
  std::string context{};
  // Honour `insecure-skip-tls-verify: true`; without it such a cluster is an
  // error naming the field.
  bool allow_insecure = false;
  size_t max_bytes = size_t{1} << 20;
};

// Reads and resolves the kubeconfig at `path` (size-bounded, no symlink
// games beyond the open), including the certificate and key files it names.
absl::StatusOr<RestConfig> LoadKubeconfig(
    const std::filesystem::path& path, const KubeconfigOptions& options = {});

// The same for kubeconfig text; `origin` names it in errors and relative
// paths resolve against its directory.
absl::StatusOr<RestConfig> ParseKubeconfig(
    std::string_view yaml, const std::filesystem::path& origin,
    const KubeconfigOptions& options = {});

inline constexpr const char kServiceAccountDir[] =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct InClusterOptions {
  // Holds `token`, `ca.crt` and (optionally) `namespace`.
  std::filesystem::path service_account_dir = kServiceAccountDir;
  // Environment lookup (tests inject one); default ::getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (an IPv6 host in
// brackets), the service account's CA and namespace, and its token file
// (re-read when it rotates). FailedPrecondition naming the variable when
// not running in a cluster.
absl::StatusOr<RestConfig> InClusterConfig(
    const InClusterOptions& options = {});

// The bearer token for requests: the static token, or the token file read
// again when its mtime changes and at least once a minute (by `clock`), as
// client-go re-reads a projected service-account token. Thread-safe.
class BearerToken {
 public:
  BearerToken(std::string token, std::filesystem::path token_file,
              Clock& clock = RealClock());
  // "" when no token is configured. The file's error names the path only.
  absl::StatusOr<std::string> Get();
  // How often the file is re-read even when its mtime seems unchanged.
  static constexpr std::chrono::minutes kRereadInterval{1};

 private:
  std::string static_token_;
  std::filesystem::path file_;
  Clock& clock_;
  std::mutex mu_;
  std::string cached_;
  std::optional<Clock::TimePoint> read_at_;
  std::filesystem::file_time_type mtime_{};
};

}  // namespace sk::kube
