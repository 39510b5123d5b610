#pragma once

// Time as an OS seam: every loop that waits (retries, polls, lock waits)
// takes a Clock, so tests drive it with tests/testing/fake_clock.h instead
// of sleeping, the way leveldb's Env owns SleepForMicroseconds and Envoy's
// TimeSource is replaced by simulated time in tests.
//
//   // Retry an operation the kernel may refuse while busy (EBUSY/EAGAIN map
//   // to Unavailable), 20 x 100 ms as upstream sriov-cni does:
//   absl::Status s = RetryWhile(clock, 20, std::chrono::milliseconds(100),
//                               IsCode(absl::StatusCode::kUnavailable),
//                               [&] { return ops.SetUp(ref, true); });
//
//   // Poll until the link is up, backing off 2, 4, 8 ... 100 ms, for at
//   // most 200 ms:
//   absl::StatusOr<bool> up = PollUntil(
//       clock, clock.Now() + std::chrono::milliseconds(200),
//       Backoff{std::chrono::milliseconds(2), std::chrono::milliseconds(100)},
//       [&]() -> absl::StatusOr<bool> { return IsUpAndRunning(); });
//
// Both helpers are thread-compatible: they keep no state between calls.

#include <chrono>
#include <functional>
#include <initializer_list>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time; only differences are meaningful.
  virtual TimePoint Now() const = 0;
  // Blocks the calling thread for `d` (a non-positive `d` returns at once).
  virtual void SleepFor(Duration d) = 0;
};

// The process-wide steady clock (std::chrono::steady_clock and
// std::this_thread::sleep_for). Never destroyed; thread-safe.
Clock& RealClock();

// Calls `fn` up to max(1, attempts) times. After a failure whose code
// satisfies `retry_if`, sleeps `interval` on `clock` and tries again.
// Returns the first OK status, the first failure `retry_if` rejects, or the
// last failure once the attempts are used up (no sleep after the last one).
absl::Status RetryWhile(Clock& clock, int attempts, Clock::Duration interval,
                        const std::function<bool(absl::StatusCode)>& retry_if,
                        const std::function<absl::Status()>& fn);

// A `retry_if` predicate for RetryWhile: true for any code in `codes`.
std::function<bool(absl::StatusCode)> IsCode(
    std::initializer_list<absl::StatusCode> codes);

// Exponential backoff for PollUntil: the first sleep is `initial`, each next
// one doubles, capped at `max`.
struct Backoff {
  Clock::Duration initial;
  Clock::Duration max;
};

// Calls `fn` until it returns true, sleeping on `clock` between calls with
// `backoff` (never past `deadline`). `fn` is called at least once, also when
// the deadline has already passed. Returns true when `fn` returned true,
// false when it still returned false at or after `deadline`, and fn's error
// (unchanged) when it failed.
absl::StatusOr<bool> PollUntil(Clock& clock, Clock::TimePoint deadline,
                               Backoff backoff,
                               const std::function<absl::StatusOr<bool>()>& fn);

}  // namespace sk
