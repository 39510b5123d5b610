#include "lib/netattach/shim_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"
#include "lib/cni/version.h"
#include "lib/netattach/multus_log.h"
#include "lib/netattach/shim_protocol.h"

namespace sk::netattach {
namespace {

constexpr int kCniInvalidConfig = 7;
constexpr int kCniTryAgainLater = 11;
constexpr int kCniInternal = 999;
constexpr int64_t kMaxTimeoutSeconds = 3600;

struct ShimConfig {
  std::string cni_version = "1.0.0";
  std::string socket_dir = kDefaultSocketDir;
  absl::Duration reply_timeout = kDefaultReplyTimeout;
};

CniResponse ErrorResponse(std::string_view cni_version, int code,
                          std::string_view msg) {
  nlohmann::ordered_json j;
  j["cniVersion"] = cni_version;
  j["code"] = code;
  j["msg"] = msg;
  return CniResponse{
      .exit_code = 1,
      .stdout_data =
          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
          "\n"};
}

// The cniVersion for an error: stdin's when it has a string one, even when
// the rest of the config is bad.
std::string CniVersionOf(const nlohmann::json& conf) {
  if (conf.is_object()) {
    auto v = conf.find("cniVersion");
    if (v != conf.end() && v->is_string() && !v->get<std::string>().empty())
      return v->get<std::string>();
  }
  return "1.0.0";
}

absl::Status ParseShimConfig(const nlohmann::json& conf, ShimConfig* out) {
  if (!conf.is_object()) {
    return absl::InvalidArgumentError(sk::StrCat(
        "network configuration is ", conf.type_name(), ", not an object"));
  }
  if (auto it = conf.find("socketDir"); it != conf.end()) {
    if (!it->is_string() || it->get<std::string>().empty()) {
      return absl::InvalidArgumentError(sk::StrCat(
          "socketDir ", it->dump(), " is not a non-empty string (a path)"));
    }
    out->socket_dir = it->get<std::string>();
  }
  if (auto it = conf.find("daemonTimeoutSeconds"); it != conf.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > kMaxTimeoutSeconds) {
      return absl::InvalidArgumentError(
          sk::StrCat("daemonTimeoutSeconds ", it->dump(),
                     " is not an integer in [1, ", kMaxTimeoutSeconds, "]"));
    }
    out->reply_timeout = absl::Seconds(it->get<int64_t>());
  }
  return absl::OkStatus();
}

std::chrono::steady_clock::time_point DeadlineAfter(absl::Duration d) {
  return std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(d);
}

// Connects to `path`, retrying while the daemon's accept backlog is full
// (EAGAIN: a non-blocking unix connect never returns EINPROGRESS) until
// `timeout` passes.
absl::StatusOr<UniqueFd> Connect(const std::string& path,
                                 absl::Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  auto deadline = DeadlineAfter(timeout);
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    UniqueFd fd(
        ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return ErrnoStatus(errno, "socket");
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr),
                  sizeof(addr)) == 0) {
      return fd;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN) {
      // ENOENT: no socket; ECONNREFUSED: a socket nobody listens on.
      return ErrnoStatus(err, "connect");
    }
    if (std::chrono::steady_clock::now() + pause >= deadline) {
      return absl::DeadlineExceededError(
          sk::StrCat("connect timed out after ", absl::FormatDuration(timeout),
                     " (the daemon's backlog is full)"));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

// A decimal integer in [0, max], the whole of `s`.
std::optional<int64_t> HandoffNumber(std::string_view s, int64_t max) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

absl::StatusOr<ShimHandoff> ParseShimHandoff(std::string_view state) {
  std::vector<std::string_view> f;
  for (size_t start = 0;;) {
    size_t colon = state.find(':', start);
    f.push_back(state.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const int64_t max_count = int64_t{1} << 40;
  auto n = [&](size_t i, int64_t max = -1) {
    if (max < 0) max = max_count;
    return i < f.size() ? HandoffNumber(f[i], max) : std::nullopt;
  };
  ShimHandoff h;
  if (f[0] == "stdin" && f.size() == 2 && n(1, 4095) && *n(1, 4095) > 0) {
    h.stdin_errno = static_cast<int>(*n(1, 4095));
    return h;
  }
  if (f[0] == "write" && f.size() == 4 && n(1, 4095) && n(2) && n(3)) {
    h.transport_error =
        SendError(static_cast<int>(*n(1, 4095)), static_cast<size_t>(*n(2)),
                  static_cast<size_t>(*n(3)));
    return h;
  }
  if (f[0] == "recv" && f.size() == 2 && n(1, 4095) && *n(1, 4095) > 0) {
    h.transport_error = RecvError(static_cast<int>(*n(1, 4095)));
    return h;
  }
  if (f[0] == "reply" && f.size() == 3 && n(1, 1 << 20) && n(2)) {
    h.reply_fd = static_cast<int>(*n(1, 1 << 20));
    h.reply_time_left = absl::Milliseconds(*n(2));
    return h;
  }
  return absl::InvalidArgumentError(
      sk::StrCat("--fast-path-handoff=", state,
                 ": not stdin:ERRNO, write:ERRNO:DONE:TOTAL, recv:ERRNO or "
                 "reply:FD:MS"));
}

CniResponse RunShim(const CniRequest& request,
                    const ShimClientOptions& options) {
  auto parsed = ParseJsonBounded(request.stdin_data);
  std::string cni_version =
      parsed.ok() ? CniVersionOf(*parsed) : std::string("1.0.0");

  auto cmd = request.env.find("CNI_COMMAND");
  if (cmd != request.env.end() && cmd->second == "VERSION") {
    std::string requested;
    if (parsed.ok() && parsed->is_object() && parsed->contains("cniVersion"))
      requested = cni_version;
    return CniResponse{.exit_code = 0,
                       .stdout_data = cni::VersionJson(requested)};
  }

  if (request.stdin_data.size() > kMaxShimStdinBytes) {
    return ErrorResponse(
        cni_version, kCniInvalidConfig,
        sk::StrCat("network configuration of ", request.stdin_data.size(),
                   " bytes exceeds the ", kMaxShimStdinBytes, "-byte limit"));
  }
  if (!parsed.ok()) {
    return ErrorResponse(
        cni_version, kCniInvalidConfig,
        sk::StrCat("network configuration: ", parsed.status().message()));
  }
  ShimConfig conf;
  if (absl::Status s = ParseShimConfig(*parsed, &conf); !s.ok()) {
    return ErrorResponse(cni_version, kCniInvalidConfig, ToStd(s.message()));
  }
  std::string path = conf.socket_dir + "/" + kSocketName;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return ErrorResponse(
        cni_version, kCniInvalidConfig,
        sk::StrCat("socketDir: socket path ", path, " is ", path.size(),
                   " bytes, over the ", sizeof(sockaddr_un::sun_path) - 1,
                   "-byte unix socket limit"));
  }
  absl::StatusOr<std::string> body = EncodeRequest(request);
  if (!body.ok()) {
    return ErrorResponse(cni_version, kCniInvalidConfig,
                         ToStd(body.status().message()));
  }

  // The shim's own few lines go to the config's logFile / stderr
  // (multus_log.h), opened at the first line (the fast path, which logs
  // nothing, creates no file either); a log that cannot be opened is not
  // an error.
  absl::StatusOr<LogConfig> log_config = LogConfigFromJson(*parsed);
  std::unique_ptr<MultusLogger> log;
  auto log_line = [&](LogLevel level, std::string_view line) {
    if (!log_config.ok() || level > log_config->level) return;
    if (!log) {
      absl::StatusOr<std::unique_ptr<MultusLogger>> l =
          MultusLogger::Open(*log_config);
      if (!l.ok()) {
        log_config = l.status();
        return;
      }
      log = *std::move(l);
    }
    log->Log(level, line);
  };
  auto env = [&](const char* k) {
    auto it = request.env.find(k);
    return it == request.env.end() ? std::string() : it->second;
  };
  const std::string what = sk::StrCat("sriov-netattach: ", env("CNI_COMMAND"),
                                      " containerID=", env("CNI_CONTAINERID"),
                                      " ifname=", env("CNI_IFNAME"));
  auto unreachable = [&](const absl::Status& s) {
    CniResponse r =
        ErrorResponse(cni_version, kCniTryAgainLater,
                      sk::StrCat("sriovkit-netattachd unreachable at ", path,
                                 ": ", s.message()));
    log_line(LogLevel::kError, sk::StrCat(what, ": ", r.stdout_data));
    return r;
  };
  log_line(LogLevel::kDebug, sk::StrCat(what, ": to ", path));
  absl::Duration timeout = options.reply_timeout.value_or(conf.reply_timeout);
  UniqueFd fd;
  auto deadline = DeadlineAfter(timeout);
  if (options.handoff) {
    if (!options.handoff->transport_error.ok()) {
      return unreachable(options.handoff->transport_error);
    }
    fd = UniqueFd(options.handoff->reply_fd);
    deadline = DeadlineAfter(options.handoff->reply_time_left);
  } else {
    absl::StatusOr<UniqueFd> connected = Connect(path, options.connect_timeout);
    if (!connected.ok()) return unreachable(connected.status());
    fd = *std::move(connected);
    deadline = DeadlineAfter(timeout);
    if (absl::Status s = WriteFrame(fd.get(), *body, deadline); !s.ok()) {
      return unreachable(s);
    }
    // Half-close: the daemon sees the request is complete, and a daemon
    // that reads past it gets EOF instead of waiting.
    (void)::shutdown(fd.get(), SHUT_WR);
  }
  absl::StatusOr<std::string> reply = ReadFrame(fd.get(), deadline);
  if (!reply.ok()) {
    if (reply.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return unreachable(absl::DeadlineExceededError(
          sk::StrCat("no reply within ", absl::FormatDuration(timeout),
                     " (daemonTimeoutSeconds)")));
    }
    return unreachable(reply.status());
  }
  absl::StatusOr<CniResponse> resp = DecodeResponse(*reply);
  if (!resp.ok()) {
    return ErrorResponse(
        cni_version, kCniInternal,
        sk::StrCat("sriovkit-netattachd at ", path,
                   " sent a malformed reply: ", resp.status().message()));
  }
  return *std::move(resp);
}

CniResponse RunShimProcess(const char* const* envp, int stdin_fd,
                           const ShimClientOptions& options) {
  CniRequest request;
  for (const char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || kv.substr(0, 4) != "CNI_") continue;
    request.env.emplace(std::string(kv.substr(0, eq)),
                        std::string(kv.substr(eq + 1)));
  }
  absl::StatusOr<std::string> in =
      options.handoff && options.handoff->stdin_errno != 0
          // The fast path's read failed: the error ReadFdBounded gives.
          ? absl::StatusOr<std::string>(
                ErrnoStatus(options.handoff->stdin_errno, "read ", "stdin"))
          : ReadFdBounded(stdin_fd, kMaxShimStdinBytes, "stdin");
  if (!in.ok()) {
    return ErrorResponse(
        "1.0.0", kCniInvalidConfig,
        sk::StrCat("network configuration: ", in.status().message()));
  }
  request.stdin_data = *std::move(in);
  return RunShim(request, options);
}

}  // namespace sk::netattach
