#pragma once

// The CNI shim's whole job (`sriov-netattach`, installed in the host's CNI
// bin dir): forward one CNI call to the node daemon over its unix socket and
// relay the answer, as Multus's thick-plugin shim does (multus-cni
// cmd/multus-shim, pkg/server/api/shim.go). Lean on purpose: this library
// links sk::base, abseil and nlohmann only (no gRPC, TLS or API client), so
// the binary the runtime execs for every ADD/DEL starts fast.
//
// The shim's own CNI config (its stdin, forwarded as is) may carry, besides
// the Multus keys the daemon reads:
//   "socketDir": "/run/sriovkit/netattach"   the daemon's socket directory;
//                                            the socket is netattach.sock in it
//   "daemonTimeoutSeconds": 120              how long to wait for the reply
//                                            (1..3600); it must cover the
//                                            whole delegate chain of an ADD
//
//   CniRequest req{.env = {{"CNI_COMMAND", "ADD"}, ...}, .stdin_data = conf};
//   CniResponse r = RunShim(req);
//   std::cout << r.stdout_data;
//   return r.exit_code;
//
// Outcomes (RunShim never fails and never hangs past the timeouts):
// - CNI_COMMAND=VERSION: answered here without the daemon, with the versions
//   of lib/cni/version.h.
// - The daemon's answer: its exit code and stdout, relayed unchanged.
// - Daemon unreachable (no socket, connection refused, connect or reply
//   timeout, connection closed without a reply): exit 1 and
//   {"cniVersion":<stdin's, else "1.0.0">,"code":11,
//    "msg":"sriovkit-netattachd unreachable at <socket path>: <reason>"}.
// - A bad shim config (stdin not JSON, a mistyped socketDir or
//   daemonTimeoutSeconds, a socket path over the 107-byte unix limit, stdin
//   over kMaxShimStdinBytes): exit 1, code 7, naming the key and value.
// - A reply that is not a well-formed response: exit 1, code 999, naming the
//   socket.
//
// Thread-safe (no shared state).

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "lib/netattach/sources.h"

namespace sk::netattach {

inline constexpr char kDefaultSocketDir[] = "/run/sriovkit/netattach";
inline constexpr char kSocketName[] = "netattach.sock";
inline constexpr absl::Duration kDefaultConnectTimeout = absl::Seconds(5);
// Longer than a delegate chain takes (an IPAM plugin that waits for a DHCP
// lease is the slow case).
inline constexpr absl::Duration kDefaultReplyTimeout = absl::Seconds(120);

// Where the fast path (`sriov-netattach`, shim_fast.h) left a call whose
// request it had sent, or whose stdin it could not read, handed to this
// shim (`sriov-netattach-full --fast-path-handoff=STATE`), which then
// reports as if it had met that state itself. STATE is one of
//   stdin:ERRNO             reading stdin failed with ERRNO (nothing sent)
//   write:ERRNO:DONE:TOTAL  the send failed with ERRNO (0: timed out) after
//                           DONE of the frame's TOTAL bytes
//   recv:ERRNO              the first recv of the reply failed with ERRNO
//   reply:FD:MS             the reply is unread on the connected socket FD,
//                           MS milliseconds of the reply timeout left
struct ShimHandoff {
  // stdin: the errno of the read.
  int stdin_errno = 0;
  // write: and recv: the error WriteFrame or ReadFrame would have returned.
  absl::Status transport_error;
  int reply_fd = -1;
  absl::Duration reply_time_left;
};
// InvalidArgument naming STATE when it is not one of the above.
absl::StatusOr<ShimHandoff> ParseShimHandoff(std::string_view state);

struct ShimClientOptions {
  absl::Duration connect_timeout = kDefaultConnectTimeout;
  // When set, replaces the reply timeout (default kDefaultReplyTimeout or
  // the config's daemonTimeoutSeconds). For tests.
  std::optional<absl::Duration> reply_timeout;
  // When set, the request was sent by the fast path: nothing is sent, and
  // the call ends as `handoff` says (RunShimProcess reads no stdin for
  // stdin:).
  std::optional<ShimHandoff> handoff;
};

CniResponse RunShim(const CniRequest& request,
                    const ShimClientOptions& options = {});

// The shim process's entry point: the CNI_* variables of `envp` (a
// NULL-terminated "NAME=value" array, as `environ`) and all of `stdin_fd`
// (refused past kMaxShimStdinBytes: exit 1, code 7), then RunShim.
CniResponse RunShimProcess(const char* const* envp, int stdin_fd,
                           const ShimClientOptions& options = {});

}  // namespace sk::netattach
