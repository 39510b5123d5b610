#include "lib/base/errno_status.h"

#include <cerrno>

namespace sk {

absl::Status ErrnoStatusWithMessage(int errnum, std::string message) {
  // absl::ErrnoToStatus appends ": <strerror>" itself.
  absl::Status s = absl::ErrnoToStatus(errnum, message);
  // absl maps ELOOP to kUnknown, which callers report as an internal error.
  // A symlink loop is a path that leads to no file, as `test -e` says.
  if (errnum == ELOOP) return absl::NotFoundError(s.message());
  return s;
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      sk::StrCat(context, ": ", status.message()));
}

}  // namespace sk
