#pragma once

// CNI error codes carried inside absl::Status, and the CNI error JSON.
//
// A Status made by CniError() carries the CNI code as a payload, so it
// survives Annotate() and SK_RETURN_IF_ERROR on its way to main. A Status
// without one is mapped by CniCodeOf(): InvalidArgument -> 7 (invalid
// network config), Unavailable / DeadlineExceeded / Aborted -> 11 (try again
// later), anything else -> 999 (internal, as libcni uses).
//
// Example:
//   return CniError(kCniInvalidConfig, "vlan id 5000 invalid: ...");
//   ...
//   std::cout << ErrorJson(status, "1.0.0");
//   // {"cniVersion":"1.0.0","code":7,"msg":"vlan id 5000 invalid: ..."}

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sk::cni {

inline constexpr int kCniIncompatibleVersion = 1;
inline constexpr int kCniUnsupportedField = 2;
inline constexpr int kCniUnknownContainer = 3;
inline constexpr int kCniInvalidEnv = 4;
inline constexpr int kCniIoFailure = 5;
inline constexpr int kCniDecodeFailure = 6;
inline constexpr int kCniInvalidConfig = 7;
inline constexpr int kCniInvalidNetns = 8;
inline constexpr int kCniTryAgainLater = 11;
inline constexpr int kCniStatusUnavailable = 50;
inline constexpr int kCniInternal = 999;

// A Status with the given CNI code (absl code chosen to match: 1/2/4/6/7/8
// InvalidArgument, 3 NotFound, 5 DataLoss, 11/50 Unavailable, else
// Internal) and optional details (the spec's "details" field).
absl::Status CniError(int code, std::string_view msg,
                      std::string_view details = "");

// Re-tags an existing status (keeping its message) with a CNI code.
absl::Status WithCniCode(const absl::Status& s, int code);

// The CNI code of a non-OK status (see the file comment for the fallback).
int CniCodeOf(const absl::Status& s);
std::string CniDetailsOf(const absl::Status& s);

// What a failing plugin printed when it is a CNI error object: an integer
// "code", and "msg" and "details" when they are strings ("" otherwise).
struct PluginError {
  int code = 0;
  std::string msg;
  std::string details;
};
// nullopt when `output` is not a JSON object with an integer "code" (or is
// larger than `max_bytes`, or nested too deep to parse): the caller then
// reports the exit status and the raw output instead.
std::optional<PluginError> ParsePluginError(std::string_view output,
                                            size_t max_bytes);

// {"cniVersion":v,"code":N,"msg":...,"details":...} (cniVersion omitted when
// empty; details when empty), one line with a trailing newline.
std::string ErrorJson(const absl::Status& s, std::string_view cni_version);

}  // namespace sk::cni
