#pragma once
// The device plugin's operations endpoint: plain HTTP on a loopback
// address, for kubelet probes and Prometheus (off unless
// `sriov-device-plugin --ops-address 127.0.0.1:9808` is given).
//
//   auto metrics = std::make_shared<Metrics>();   // also in DaemonOptions
//   SK_ASSIGN_OR_RETURN(auto ops, OpsServer::Start(
//       "127.0.0.1:9808", [&] { return daemon.GetState(); }, metrics));
//
// Paths (GET or HEAD; anything else 405, other paths 404):
//   /healthz  200 "ok": the process serves HTTP.
//   /readyz   200 "ok" when DaemonState::ready(); else 503 with one line
//             per reason: "config: <error>", "pool <resource>: not
//             registered[: <last error>]", "node: <waiting text>".
//   /metrics  Prometheus text format 0.0.4 (series listed in metrics.h).
// The HTTP server is libmicrohttpd's, on its own thread, at most 16
// connections with a 10 s idle timeout; request bodies are never read.
//
// Thread safety: HandleOps and RenderMetrics are pure; OpsServer's
// callbacks run on its own thread and must be thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

#include "lib/deviceplugin/daemon.h"
#include "lib/deviceplugin/metrics.h"

namespace sk::deviceplugin {

// The Prometheus text for `st` and `m`; pools in `st` order.
std::string RenderMetrics(const DaemonState& st, const Metrics::Snapshot& m);

struct OpsResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
// The answer to `method` `path` (query string ignored).
OpsResponse HandleOps(std::string_view method, std::string_view path,
                      const DaemonState& st, const Metrics::Snapshot& m);

// Parses "127.0.0.1:9808" or "[::1]:9808". InvalidArgument naming the value
// when it is not an IP literal with a port (0-65535), or the address is not
// loopback (127.0.0.0/8, ::1): the endpoint has no authentication.
struct HostPort {
  std::string host;  // without brackets
  int port = 0;
  bool ipv6 = false;
};
absl::StatusOr<HostPort> ParseLoopbackAddress(std::string_view text);

class OpsServer {
 public:
  // Listens on `address` (ParseLoopbackAddress; port 0 picks a free one).
  // InvalidArgument for a bad address, Unavailable naming the address when
  // it cannot be bound.
  static absl::StatusOr<std::unique_ptr<OpsServer>> Start(
      std::string_view address, std::function<DaemonState()> state,
      std::shared_ptr<const Metrics> metrics);
  ~OpsServer();
  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;

  int port() const { return port_; }

 private:
  OpsServer() = default;
  static int Handle(void* cls, void* connection, const char* url,
                    const char* method);

  std::function<DaemonState()> state_;
  std::shared_ptr<const Metrics> metrics_;
  void* daemon_ = nullptr;  // MHD_Daemon*
  int port_ = 0;
};

}  // namespace sk::deviceplugin
