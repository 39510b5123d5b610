#include "lib/base/errno_status.h"

#include <cstring>

namespace sk {

absl::Status ErrnoStatusWithMessage(int errnum, std::string message) {
  // absl::ErrnoToStatus appends ": <strerror>" itself.
  return absl::ErrnoToStatus(errnum, message);
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      sk::StrCat(context, ": ", status.message()));
}

}  // namespace sk
