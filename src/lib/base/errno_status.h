#pragma once
// Converts errno to absl::Status once, at the syscall edge, with context:
//   if (fd < 0) return ErrnoStatus(errno, "open ", path);
// yields e.g. NOT_FOUND "open /sys/x: No such file or directory".

#include <string>

#include "absl/status/status.h"

#include "lib/base/strings.h"

namespace sk {

// Returns the status for `errnum` (absl::ErrnoToStatus code mapping, except
// ELOOP, a symlink loop: NotFound rather than absl's Unknown) with the
// message "<context...>: <strerror>".
absl::Status ErrnoStatusWithMessage(int errnum, std::string message);

template <typename... Args>
absl::Status ErrnoStatus(int errnum, const Args&... context) {
  return ErrnoStatusWithMessage(errnum, sk::StrCat(context...));
}

// Prefixes `context` to a non-OK status's message, keeping its code:
// Annotate(s, "eth3 vf 2: set mac") -> "eth3 vf 2: set mac: <message>".
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace sk
