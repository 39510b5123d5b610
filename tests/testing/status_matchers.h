#pragma once
// gmock matchers for absl::Status / StatusOr (Debian 12's abseil predates
// absl/status/status_matchers.h):
//   EXPECT_THAT(s, IsOk());
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
//   HasSubstr("vlan"))); EXPECT_THAT(so, IsOkAndHolds(42));
//   SK_ASSERT_OK_AND_ASSIGN(auto v, MakeThing());

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sk::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code,
          "has code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(s.message()), result_listener);
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace sk::testing

#define SK_TESTING_CONCAT_INNER_(a, b) a##b
#define SK_TESTING_CONCAT_(a, b) SK_TESTING_CONCAT_INNER_(a, b)
#define SK_ASSERT_OK_AND_ASSIGN(lhs, rexpr)              \
  auto SK_TESTING_CONCAT_(sk_so_, __LINE__) = (rexpr);   \
  ASSERT_TRUE(SK_TESTING_CONCAT_(sk_so_, __LINE__).ok()) \
      << SK_TESTING_CONCAT_(sk_so_, __LINE__).status();  \
  lhs = std::move(SK_TESTING_CONCAT_(sk_so_, __LINE__)).value()
#define SK_ASSERT_OK(expr)                                       \
  do {                                                           \
    const ::absl::Status sk_s_ = ::sk::testing::GetStatus(expr); \
    ASSERT_TRUE(sk_s_.ok()) << sk_s_;                            \
  } while (0)
#define SK_EXPECT_OK(expr) EXPECT_THAT((expr), ::sk::testing::IsOk())
