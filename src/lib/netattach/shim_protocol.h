#pragma once

// The wire format between the CNI shim `sriov-netattach` and the node daemon
// `sriovkit-netattachd`, on the daemon's unix stream socket
// (<socketDir>/netattach.sock). The same shape as Multus's thick plugin
// (multus-cni pkg/server/api: the shim posts the CNI env and stdin, the
// daemon answers with the plugin's output), without HTTP: one request and
// one response per connection, each a frame
//
//   [4-byte big-endian length N][N bytes of JSON]
//
// request:  {"version":1,"env":{"CNI_COMMAND":"ADD",...},"stdin":"<stdin>"}
// response: {"exitCode":0,"stdout":"<what the shim prints>"}
//
// Frames over kMaxShimFrameBytes are refused before anything is read past
// the header. Decoders parse with sk::ParseJsonBounded (bounded size and
// depth) and refuse any other version, unknown or mistyped fields, and env
// keys outside CNI_*; every error names the field and value.
//
// The encode/decode functions are pure. ReadFrame/WriteFrame are the only
// I/O: they move one frame over a stream socket with a deadline.
//
//   SK_ASSIGN_OR_RETURN(std::string body, EncodeRequest(req));
//   SK_RETURN_IF_ERROR(WriteFrame(fd, body, deadline));
//   SK_ASSIGN_OR_RETURN(std::string reply, ReadFrame(fd, deadline));
//   SK_ASSIGN_OR_RETURN(CniResponse resp, DecodeResponse(reply));
//
// Thread-safe; never throws.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/netattach/sources.h"

namespace sk::netattach {

inline constexpr int kShimProtocolVersion = 1;
// A frame's JSON body may not be longer than this (8 MiB).
inline constexpr size_t kMaxShimFrameBytes = size_t{8} << 20;
// The shim's stdin may not be longer than this: a CNI config is a few KiB,
// and even when every byte is escaped six-fold (\u00XX) the request stays
// under kMaxShimFrameBytes.
inline constexpr size_t kMaxShimStdinBytes = size_t{1} << 20;

// The request body. InvalidArgument when an env key is not CNI_*, or when
// stdin or an env value is not valid UTF-8 (JSON cannot carry it; a CNI
// config is JSON, so it is UTF-8), naming which.
absl::StatusOr<std::string> EncodeRequest(const CniRequest& request);
// The response body. Bytes of `stdout_data` that are not UTF-8 become
// U+FFFD (the daemon's own output is JSON, so this does not happen).
std::string EncodeResponse(const CniResponse& response);

// InvalidArgument, naming the field and value, when `body` is not a
// well-formed request of version kShimProtocolVersion.
absl::StatusOr<CniRequest> DecodeRequest(std::string_view body);
// InvalidArgument when `body` is not a well-formed response (exitCode an
// integer in [0, 255], stdout a string).
absl::StatusOr<CniResponse> DecodeResponse(std::string_view body);

// The 4-byte length prefix followed by `body`. InvalidArgument when `body`
// is longer than kMaxShimFrameBytes.
absl::StatusOr<std::string> Frame(std::string_view body);
// The length a frame header announces; InvalidArgument
// ("frame of N bytes exceeds the 8388608-byte limit") when over the limit.
absl::StatusOr<size_t> FrameLength(const unsigned char header[4]);

// The errors WriteFrame and ReadFrame return when a send fails with errno
// `err` after `done` of the frame's `total` bytes (`err` 0: the deadline
// passed), and when a recv fails with `err`. The shim's fast path names
// such a state to the C++ shim, which reports it with these
// (shim_client.h ShimHandoff).
absl::Status SendError(int err, size_t done, size_t total);
absl::Status RecvError(int err);

using ShimDeadline = std::chrono::steady_clock::time_point;

// Writes Frame(body) to the stream socket `fd` (which may be non-blocking;
// MSG_NOSIGNAL, so a closed peer is an error and not SIGPIPE). Errors:
// DeadlineExceeded "timed out writing a frame" when `deadline` passes;
// Unavailable for a peer that closed (EPIPE, ECONNRESET); the errno otherwise;
// InvalidArgument for an oversized body. When `cancel_fd` >= 0 and becomes
// readable, Cancelled.
absl::Status WriteFrame(int fd, std::string_view body, ShimDeadline deadline,
                        int cancel_fd = -1);

// Reads one frame's body from `fd`. Errors: Unavailable
// "connection closed without a reply" when the peer closes before a whole
// frame; DeadlineExceeded "timed out waiting for a frame" when `deadline`
// passes;
// InvalidArgument when the header announces more than `max_bytes` (nothing
// past the header is read); Cancelled as for WriteFrame.
absl::StatusOr<std::string> ReadFrame(int fd, ShimDeadline deadline,
                                      int cancel_fd = -1,
                                      size_t max_bytes = kMaxShimFrameBytes);

}  // namespace sk::netattach
