#pragma once
// The exit codes every sriovkit executable uses (sysexits.h values), and the
// mapping from absl::Status. Documented in docs/exit-codes.md.
//
//   0   success
//   1   sriovctl doctor: warnings only
//   2   sriovctl doctor: failures; other commands: operation failed
//   64  usage error (bad flag or argument)
//   65  invalid input data (InvalidArgument: a bad field or value)
//   66  input not found (NotFound: missing file, device, NAD)
//   69  unavailable, retry later (Unavailable, Aborted, DeadlineExceeded)
//   70  internal error (Internal, Unknown, and anything else)
//   75  sriovctl apply --kernel: a reboot is needed (EX_TEMPFAIL: rerun
//       after it)
//   77  permission denied (PermissionDenied)
//   78  precondition / configuration (FailedPrecondition, e.g. SR-IOV off)

#include "absl/status/status.h"

namespace sk {

inline constexpr int kExitOk = 0;
inline constexpr int kExitWarn = 1;
inline constexpr int kExitFailure = 2;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitNoInput = 66;
inline constexpr int kExitUnavailable = 69;
inline constexpr int kExitSoftware = 70;
inline constexpr int kExitRebootNeeded = 75;
inline constexpr int kExitNoPerm = 77;
inline constexpr int kExitConfig = 78;

inline int ExitCodeForStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitDataErr;
    case absl::StatusCode::kNotFound:
      return kExitNoInput;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kPermissionDenied:
      return kExitNoPerm;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return kExitConfig;
    default:
      return kExitSoftware;
  }
}

}  // namespace sk
