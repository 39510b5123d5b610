#include "lib/base/clock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/fake_clock.h"

namespace sk {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using testing::FakeClock;

TEST(RealClockTest, SleepForWaitsAtLeastTheDuration) {
  Clock& c = RealClock();
  EXPECT_EQ(&c, &RealClock());
  auto t0 = c.Now();
  c.SleepFor(milliseconds(2));
  EXPECT_GE(c.Now() - t0, milliseconds(2));
}

TEST(RetryWhileTest, RetriesOnlyTheGivenCodesAndSleepsBetweenAttempts) {
  FakeClock clock;
  int calls = 0;
  absl::Status s = RetryWhile(
      clock, 5, milliseconds(100), IsCode({absl::StatusCode::kUnavailable}),
      [&] {
        ++calls;
        return calls < 3 ? absl::UnavailableError("busy") : absl::OkStatus();
      });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_THAT(clock.sleeps(),
              ElementsAre(milliseconds(100), milliseconds(100)));
}

TEST(RetryWhileTest, StopsAtTheFirstCodeNotRetried) {
  FakeClock clock;
  int calls = 0;
  absl::Status s = RetryWhile(clock, 5, milliseconds(100),
                              IsCode({absl::StatusCode::kUnavailable}), [&] {
                                ++calls;
                                return calls == 1
                                           ? absl::UnavailableError("busy")
                                           : absl::InvalidArgumentError("bad");
                              });
  EXPECT_EQ(s, absl::InvalidArgumentError("bad"));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(clock.sleeps().size(), 1u);
}

TEST(RetryWhileTest, ReturnsTheLastFailureWithoutATrailingSleep) {
  FakeClock clock;
  int calls = 0;
  absl::Status s = RetryWhile(clock, 3, milliseconds(10), IsCode({}), [&] {
    ++calls;
    return absl::UnavailableError("busy");
  });
  EXPECT_EQ(s, absl::UnavailableError("busy"));
  EXPECT_EQ(calls, 1);  // an empty code set retries nothing

  calls = 0;
  s = RetryWhile(clock, 3, milliseconds(10),
                 IsCode({absl::StatusCode::kUnavailable}), [&] {
                   ++calls;
                   return absl::UnavailableError(std::to_string(calls));
                 });
  EXPECT_EQ(s, absl::UnavailableError("3"));
  EXPECT_EQ(clock.sleeps().size(), 2u);
}

TEST(RetryWhileTest, AtLeastOneAttempt) {
  FakeClock clock;
  int calls = 0;
  EXPECT_TRUE(RetryWhile(clock, 0, milliseconds(10), IsCode({}), [&] {
                ++calls;
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(calls, 1);
}

TEST(PollUntilTest, BacksOffExponentiallyCappedAndNeverPastTheDeadline) {
  FakeClock clock;
  auto t0 = clock.Now();
  int calls = 0;
  absl::StatusOr<bool> done = PollUntil(
      clock, t0 + milliseconds(200), Backoff{milliseconds(2), milliseconds(50)},
      [&]() -> absl::StatusOr<bool> {
        ++calls;
        return false;
      });
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  EXPECT_EQ(clock.Now() - t0, milliseconds(200));
  EXPECT_THAT(clock.sleeps(),
              ElementsAre(milliseconds(2), milliseconds(4), milliseconds(8),
                          milliseconds(16), milliseconds(32), milliseconds(50),
                          milliseconds(50), milliseconds(38)));
  EXPECT_EQ(calls, 9);
}

TEST(PollUntilTest, CallsOnceWhenTheDeadlineHasPassed) {
  FakeClock clock;
  int calls = 0;
  absl::StatusOr<bool> done =
      PollUntil(clock, clock.Now(), Backoff{milliseconds(2), milliseconds(2)},
                [&]() -> absl::StatusOr<bool> {
                  ++calls;
                  return false;
                });
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(PollUntilTest, StopsWhenDoneOrOnAnError) {
  FakeClock clock;
  int calls = 0;
  auto deadline = clock.Now() + milliseconds(100);
  absl::StatusOr<bool> done =
      PollUntil(clock, deadline, Backoff{milliseconds(1), milliseconds(1)},
                [&]() -> absl::StatusOr<bool> { return ++calls == 3; });
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  EXPECT_EQ(calls, 3);
  done = PollUntil(
      clock, deadline, Backoff{milliseconds(1), milliseconds(1)},
      []() -> absl::StatusOr<bool> { return absl::NotFoundError("gone"); });
  EXPECT_EQ(done.status(), absl::NotFoundError("gone"));
}

TEST(FakeClockTest, AdvanceMovesTimeWithoutRecordingASleep) {
  FakeClock clock;
  auto t0 = clock.Now();
  clock.Advance(milliseconds(7));
  EXPECT_EQ(clock.Now() - t0, milliseconds(7));
  EXPECT_TRUE(clock.sleeps().empty());
}

}  // namespace
}  // namespace sk
