#include "lib/deviceplugin/ops.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/validate.h"

namespace sk::deviceplugin {
namespace {

// A label value: backslash, double quote and newline escaped.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Num(double v) { return absl::StrFormat("%.9g", v); }

void Head(std::string& out, std::string_view name, std::string_view type,
          std::string_view help) {
  out += sk::StrCat("# HELP sriovkit_dp_", name, " ", help, "\n");
  out += sk::StrCat("# TYPE sriovkit_dp_", name, " ", type, "\n");
}

void HistogramLines(std::string& out, std::string_view name,
                    std::string_view labels, const Histogram& h) {
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cum = 0;
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    cum += h.counts[i];
    std::string le = i < h.bounds.size() ? Num(h.bounds[i]) : "+Inf";
    out += sk::StrCat("sriovkit_dp_", name, "_bucket{", labels, sep, "le=\"",
                      le, "\"} ", cum, "\n");
  }
  std::string braces = labels.empty() ? "" : sk::StrCat("{", labels, "}");
  out +=
      sk::StrCat("sriovkit_dp_", name, "_sum", braces, " ", Num(h.sum), "\n");
  out += sk::StrCat("sriovkit_dp_", name, "_count", braces, " ", h.count, "\n");
}

}  // namespace

std::string RenderMetrics(const DaemonState& st, const Metrics::Snapshot& m) {
  std::string out;
  auto res = [](const PoolState& p) {
    return sk::StrCat("resource=\"", Label(p.resource_name), "\"");
  };
  Head(out, "config_loaded", "gauge", "1 when a config is loaded.");
  out +=
      sk::StrCat("sriovkit_dp_config_loaded ", st.config_loaded ? 1 : 0, "\n");
  Head(out, "ready", "gauge", "1 when /readyz answers 200.");
  out += sk::StrCat("sriovkit_dp_ready ", st.ready() ? 1 : 0, "\n");
  Head(out, "pool_devices", "gauge", "Devices advertised per pool.");
  for (const auto& p : st.pools) {
    out +=
        sk::StrCat("sriovkit_dp_pool_devices{", res(p), "} ", p.devices, "\n");
  }
  Head(out, "pool_healthy_devices", "gauge",
       "Devices advertised Healthy per pool.");
  for (const auto& p : st.pools) {
    out += sk::StrCat("sriovkit_dp_pool_healthy_devices{", res(p), "} ",
                      p.healthy, "\n");
  }
  Head(out, "pool_registered", "gauge", "1 when kubelet has the pool.");
  for (const auto& p : st.pools) {
    out += sk::StrCat("sriovkit_dp_pool_registered{", res(p), "} ",
                      p.registered ? 1 : 0, "\n");
  }
  Head(out, "pool_excluded_devices", "gauge",
       "Devices of the pool's class left out at the last discovery.");
  for (const auto& p : st.pools) {
    for (const auto& [reason, n] : p.excluded) {
      out += sk::StrCat("sriovkit_dp_pool_excluded_devices{", res(p),
                        ",reason=\"", Label(reason), "\"} ", n, "\n");
    }
  }
  Head(out, "allocated_devices_total", "counter",
       "Devices handed out by successful Allocate calls since start.");
  for (const auto& p : st.pools) {
    auto it = m.allocated.find(p.resource_name);
    out += sk::StrCat("sriovkit_dp_allocated_devices_total{", res(p), "} ",
                      it == m.allocated.end() ? 0 : it->second, "\n");
  }
  Head(out, "allocate_duration_seconds", "histogram",
       "Duration of successful Allocate calls.");
  for (const auto& [name, h] : m.allocate_lat) {
    HistogramLines(out, "allocate_duration_seconds",
                   sk::StrCat("resource=\"", Label(name), "\""), h);
  }
  Head(out, "rediscoveries_total", "counter",
       "Discovery runs after the first load.");
  out += sk::StrCat("sriovkit_dp_rediscoveries_total ", st.rediscoveries, "\n");
  Head(out, "rediscovery_duration_seconds", "histogram",
       "Duration of discovery runs after the first load.");
  HistogramLines(out, "rediscovery_duration_seconds", "", m.rediscovery);
  return out;
}

OpsResponse HandleOps(std::string_view method, std::string_view path,
                      const DaemonState& st, const Metrics::Snapshot& m) {
  OpsResponse r;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    path = path.substr(0, q);
  }
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") {
    r.status = 404;
    r.body = "not found; try /healthz, /readyz or /metrics\n";
    return r;
  }
  if (method != "GET" && method != "HEAD") {
    r.status = 405;
    r.body = "method not allowed; use GET\n";
    return r;
  }
  if (path == "/healthz") {
    r.body = "ok\n";
  } else if (path == "/readyz") {
    if (st.ready()) {
      r.body = "ok\n";
      return r;
    }
    r.status = 503;
    if (!st.node_wait.empty())
      r.body += sk::StrCat("node: ", st.node_wait, "\n");
    if (!st.config_loaded) {
      r.body +=
          sk::StrCat("config: not loaded", st.config_error.empty() ? "" : ": ",
                     st.config_error, "\n");
    } else if (!st.config_error.empty()) {
      r.body += sk::StrCat("config: ", st.config_error, "\n");
    }
    for (const auto& p : st.pools) {
      if (p.registered) continue;
      r.body +=
          sk::StrCat("pool ", p.resource_name, ": not registered",
                     p.last_error.empty() ? "" : ": ", p.last_error, "\n");
    }
  } else {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics(st, m);
  }
  return r;
}

absl::StatusOr<HostPort> ParseLoopbackAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        sk::StrCat("ops address ", Bounded(text), ": ", why));
  };
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return bad("expected [IPv6]:PORT");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    hp.ipv6 = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected IP:PORT");
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (port.empty() ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      !absl::SimpleAtoi(ToAbsl(port), &hp.port) || hp.port > 65535) {
    return bad("port must be 0-65535");
  }
  if (hp.ipv6) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, hp.host.c_str(), &a6) != 1) {
      return bad("not an IPv6 address");
    }
    if (!IN6_IS_ADDR_LOOPBACK(&a6)) {
      return bad(
          "not a loopback address (the endpoint has no "
          "authentication; use ::1)");
    }
  } else {
    in_addr a4{};
    if (inet_pton(AF_INET, hp.host.c_str(), &a4) != 1) {
      return bad("not an IPv4 address");
    }
    if ((ntohl(a4.s_addr) >> 24) != 127) {
      return bad(
          "not a loopback address (the endpoint has no "
          "authentication; use 127.0.0.1)");
    }
  }
  return hp;
}

int OpsServer::Handle(void* cls, void* connection, const char* url,
                      const char* method) {
  auto* self = static_cast<OpsServer*>(cls);
  auto* conn = static_cast<MHD_Connection*>(connection);
  OpsResponse r =
      HandleOps(method, url, self->state_(),
                self->metrics_ ? self->metrics_->Get() : Metrics::Snapshot());
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
  if (resp == nullptr) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  MHD_Result ret =
      MHD_queue_response(conn, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return ret;
}

absl::StatusOr<std::unique_ptr<OpsServer>> OpsServer::Start(
    std::string_view address, std::function<DaemonState()> state,
    std::shared_ptr<const Metrics> metrics) {
  SK_ASSIGN_OR_RETURN(HostPort hp, ParseLoopbackAddress(address));
  std::unique_ptr<OpsServer> s(new OpsServer());
  s->state_ = std::move(state);
  s->metrics_ = std::move(metrics);
  sockaddr_storage ss{};
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  if (hp.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(hp.port));
    (void)inet_pton(AF_INET6, hp.host.c_str(), &a->sin6_addr);
    flags |= MHD_USE_IPv6;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(hp.port));
    (void)inet_pton(AF_INET, hp.host.c_str(), &a->sin_addr);
  }
  // Captureless, so it converts to libmicrohttpd's callback type; a member
  // lambda may call the private Handle().
  MHD_AccessHandlerCallback cb =
      [](void* cls, MHD_Connection* conn, const char* url, const char* method,
         const char*, const char*, size_t* upload_size, void**) -> MHD_Result {
    *upload_size = 0;  // bodies are never read
    return static_cast<MHD_Result>(Handle(cls, conn, url, method));
  };
  MHD_Daemon* d = MHD_start_daemon(
      flags, static_cast<uint16_t>(hp.port), nullptr, nullptr, cb, s.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
      MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
      MHD_OPTION_END);
  if (d == nullptr) {
    return absl::UnavailableError(
        sk::StrCat("ops address ", address,
                   ": cannot listen (in use, or no such local address)"));
  }
  s->daemon_ = d;
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  s->port_ = info != nullptr ? info->port : hp.port;
  return s;
}

OpsServer::~OpsServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(static_cast<MHD_Daemon*>(daemon_));
}

}  // namespace sk::deviceplugin
