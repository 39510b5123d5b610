#pragma once
// Propagation macros shaped like abseil's ABSL_RETURN_IF_ERROR /
// ABSL_ASSIGN_OR_RETURN so we can switch when Debian's abseil has them.
//
//   SK_RETURN_IF_ERROR(DoThing());
//   SK_ASSIGN_OR_RETURN(auto fd, OpenThing(path));
//   SK_CHECK(ptr != nullptr) << "bug: " << why;   // aborts: for bugs only

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SK_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status sk_status_ = (expr);      \
    if (!sk_status_.ok()) return sk_status_; \
  } while (0)

#define SK_STATUS_CONCAT_INNER_(a, b) a##b
#define SK_STATUS_CONCAT_(a, b) SK_STATUS_CONCAT_INNER_(a, b)

#define SK_ASSIGN_OR_RETURN(lhs, rexpr)                                     \
  SK_ASSIGN_OR_RETURN_IMPL_(SK_STATUS_CONCAT_(sk_statusor_, __LINE__), lhs, \
                            rexpr)

// `lhs` is a declaration (`Type name`) and `statusor` a generated name:
// neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define SK_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)    \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

namespace sk::internal {
// Streams a message and aborts in its destructor. Used by SK_CHECK only.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    stream_ << file << ":" << line << ": check failed: " << cond << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};
}  // namespace sk::internal

// Aborts with a message when `cond` is false. Only for programming errors,
// never for conditions the environment controls.
#define SK_CHECK(cond) \
  if (cond) {          \
  } else               \
    ::sk::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()
