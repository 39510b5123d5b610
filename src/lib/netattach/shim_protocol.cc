#include "lib/netattach/shim_protocol.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "nlohmann/json.hpp"

#include "lib/base/errno_status.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

// Requests and responses are two levels deep ({"env":{...}}); anything
// deeper is not ours.
constexpr JsonLimits kBodyLimits{.max_depth = 4,
                                 .max_bytes = kMaxShimFrameBytes};
// CNI defines six variables; a few more leave room without letting a peer
// send thousands.
constexpr size_t kMaxEnvEntries = 64;

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  nlohmann::json j = std::string(s.substr(0, kMax));
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         (s.size() > kMax ? "..." : "");
}

// A value as JSON text, shortened for an error message.
std::string Shown(const nlohmann::json& v) {
  constexpr size_t kMax = 64;
  std::string s =
      v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

// nlohmann validates UTF-8 only when dumping; it is the check that decides
// whether the text can travel, so it is the one used.
bool IsUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

absl::StatusOr<nlohmann::json> ParseObject(std::string_view body,
                                           std::string_view what) {
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(body, kBodyLimits);
  if (!j.ok()) return Annotate(j.status(), what);
  if (!j->is_object()) {
    return absl::InvalidArgumentError(
        sk::StrCat(what, ": not a JSON object but ", j->type_name()));
  }
  return j;
}

int64_t MillisLeft(ShimDeadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count();
}

// Waits until `fd` is ready for `events`, the deadline passes or `cancel_fd`
// turns readable.
absl::Status WaitFor(int fd, short events, ShimDeadline deadline, int cancel_fd,
                     std::string_view doing) {
  while (true) {
    int64_t left = MillisLeft(deadline);
    if (left <= 0) {
      return absl::DeadlineExceededError(sk::StrCat("timed out ", doing));
    }
    pollfd fds[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
    int n = ::poll(fds, cancel_fd >= 0 ? 2 : 1,
                   static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "poll while ", doing);
    }
    if (n == 0) continue;  // the deadline check above reports it
    if (cancel_fd >= 0 && (fds[1].revents & POLLIN)) {
      return absl::CancelledError(sk::StrCat("stopped while ", doing));
    }
    // Errors and hang-ups are reported by the read or write that follows.
    return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::string> EncodeRequest(const CniRequest& request) {
  nlohmann::ordered_json env = nlohmann::ordered_json::object();
  for (const auto& [k, v] : request.env) {
    if (k.rfind("CNI_", 0) != 0) {
      return absl::InvalidArgumentError(
          sk::StrCat("env ", Quote(k), ": only CNI_* variables are forwarded"));
    }
    if (!IsUtf8(k) || !IsUtf8(v)) {
      return absl::InvalidArgumentError(
          sk::StrCat("env ", Quote(k), ": not valid UTF-8"));
    }
    env[k] = v;
  }
  if (!IsUtf8(request.stdin_data)) {
    return absl::InvalidArgumentError(
        "stdin: not valid UTF-8 (a CNI network configuration is JSON)");
  }
  nlohmann::ordered_json j;
  j["version"] = kShimProtocolVersion;
  j["env"] = std::move(env);
  j["stdin"] = request.stdin_data;
  std::string body = j.dump();
  if (body.size() > kMaxShimFrameBytes) {
    return absl::InvalidArgumentError(
        sk::StrCat("request of ", body.size(), " bytes exceeds the ",
                   kMaxShimFrameBytes, "-byte limit"));
  }
  return body;
}

std::string EncodeResponse(const CniResponse& response) {
  nlohmann::ordered_json j;
  j["exitCode"] = response.exit_code;
  j["stdout"] = response.stdout_data;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<CniRequest> DecodeRequest(std::string_view body) {
  SK_ASSIGN_OR_RETURN(nlohmann::json j, ParseObject(body, "request"));
  CniRequest out;
  bool have_env = false, have_stdin = false, have_version = false;
  for (auto& [key, value] : j.items()) {
    if (key == "version") {
      have_version = true;
      if (!value.is_number_integer() ||
          value.get<int64_t>() != kShimProtocolVersion) {
        return absl::InvalidArgumentError(
            sk::StrCat("request: version ", Shown(value),
                       " is not supported (this daemon speaks version ",
                       kShimProtocolVersion, ")"));
      }
    } else if (key == "env") {
      have_env = true;
      if (!value.is_object()) {
        return absl::InvalidArgumentError(sk::StrCat(
            "request: env is ", value.type_name(), ", not an object"));
      }
      if (value.size() > kMaxEnvEntries) {
        return absl::InvalidArgumentError(
            sk::StrCat("request: env has ", value.size(),
                       " entries, more than ", kMaxEnvEntries));
      }
      for (auto& [k, v] : value.items()) {
        if (k.rfind("CNI_", 0) != 0) {
          return absl::InvalidArgumentError(sk::StrCat(
              "request: env key ", Quote(k), " is not a CNI_* variable"));
        }
        if (!v.is_string()) {
          return absl::InvalidArgumentError(sk::StrCat(
              "request: env ", k, " is ", v.type_name(), ", not a string"));
        }
        out.env[k] = std::move(v.get_ref<std::string&>());
      }
    } else if (key == "stdin") {
      have_stdin = true;
      if (!value.is_string()) {
        return absl::InvalidArgumentError(sk::StrCat(
            "request: stdin is ", value.type_name(), ", not a string"));
      }
      out.stdin_data = std::move(value.get_ref<std::string&>());
    } else {
      return absl::InvalidArgumentError(
          sk::StrCat("request: unknown field ", Quote(key)));
    }
  }
  if (!have_version) {
    return absl::InvalidArgumentError("request: missing field \"version\"");
  }
  if (!have_env) {
    return absl::InvalidArgumentError("request: missing field \"env\"");
  }
  if (!have_stdin) {
    return absl::InvalidArgumentError("request: missing field \"stdin\"");
  }
  return out;
}

absl::StatusOr<CniResponse> DecodeResponse(std::string_view body) {
  SK_ASSIGN_OR_RETURN(nlohmann::json j, ParseObject(body, "response"));
  CniResponse out;
  auto code = j.find("exitCode");
  if (code == j.end()) {
    return absl::InvalidArgumentError("response: missing field \"exitCode\"");
  }
  if (!code->is_number_integer() || code->get<int64_t>() < 0 ||
      code->get<int64_t>() > 255) {
    return absl::InvalidArgumentError(sk::StrCat(
        "response: exitCode ", Shown(*code), " is not an integer in [0, 255]"));
  }
  out.exit_code = code->get<int>();
  auto out_text = j.find("stdout");
  if (out_text == j.end()) {
    return absl::InvalidArgumentError("response: missing field \"stdout\"");
  }
  if (!out_text->is_string()) {
    return absl::InvalidArgumentError(sk::StrCat(
        "response: stdout is ", out_text->type_name(), ", not a string"));
  }
  out.stdout_data = out_text->get<std::string>();
  for (auto& [key, value] : j.items()) {
    if (key != "exitCode" && key != "stdout") {
      return absl::InvalidArgumentError(
          sk::StrCat("response: unknown field ", Quote(key)));
    }
  }
  return out;
}

absl::StatusOr<std::string> Frame(std::string_view body) {
  if (body.size() > kMaxShimFrameBytes) {
    return absl::InvalidArgumentError(
        sk::StrCat("frame of ", body.size(), " bytes exceeds the ",
                   kMaxShimFrameBytes, "-byte limit"));
  }
  auto n = static_cast<uint32_t>(body.size());
  std::string out;
  out.reserve(4 + body.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(body);
  return out;
}

absl::StatusOr<size_t> FrameLength(const unsigned char header[4]) {
  uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
               (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (n > kMaxShimFrameBytes) {
    return absl::InvalidArgumentError(
        sk::StrCat("frame of ", n, " bytes exceeds the ", kMaxShimFrameBytes,
                   "-byte limit"));
  }
  return size_t{n};
}

absl::Status SendError(int err, size_t done, size_t total) {
  if (err == 0) return absl::DeadlineExceededError("timed out writing a frame");
  if (err == EPIPE || err == ECONNRESET) {
    return absl::UnavailableError(
        sk::StrCat("connection closed by the peer while writing (", done,
                   " of ", total, " bytes sent)"));
  }
  return ErrnoStatus(err, "send");
}

absl::Status RecvError(int err) {
  if (err == ECONNRESET) {
    return absl::UnavailableError("connection reset without a reply");
  }
  return ErrnoStatus(err, "recv");
}

absl::Status WriteFrame(int fd, std::string_view body, ShimDeadline deadline,
                        int cancel_fd) {
  SK_ASSIGN_OR_RETURN(std::string frame, Frame(body));
  size_t done = 0;
  while (done < frame.size()) {
    SK_RETURN_IF_ERROR(
        WaitFor(fd, POLLOUT, deadline, cancel_fd, "writing a frame"));
    ssize_t n = ::send(fd, frame.data() + done, frame.size() - done,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return SendError(errno, done, frame.size());
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFrame(int fd, ShimDeadline deadline,
                                      int cancel_fd, size_t max_bytes) {
  unsigned char header[4];
  std::string body;
  size_t want = sizeof(header);
  size_t got = 0;
  bool in_body = false;
  while (got < want) {
    SK_RETURN_IF_ERROR(
        WaitFor(fd, POLLIN, deadline, cancel_fd, "waiting for a frame"));
    char* dst =
        in_body ? body.data() + got : reinterpret_cast<char*>(header) + got;
    ssize_t n = ::recv(fd, dst, want - got, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return RecvError(errno);
    }
    if (n == 0) {
      return absl::UnavailableError(
          got == 0 && !in_body
              ? std::string("connection closed without a reply")
              : sk::StrCat("connection closed in the middle of a frame (", got,
                           " of ", want, in_body ? " body" : " header",
                           " bytes)"));
    }
    got += static_cast<size_t>(n);
    if (!in_body && got == want) {
      SK_ASSIGN_OR_RETURN(size_t len, FrameLength(header));
      if (len > max_bytes) {
        return absl::InvalidArgumentError(sk::StrCat(
            "frame of ", len, " bytes exceeds the ", max_bytes, "-byte limit"));
      }
      in_body = true;
      body.resize(len);
      want = len;
      got = 0;
    }
  }
  return body;
}

}  // namespace sk::netattach
