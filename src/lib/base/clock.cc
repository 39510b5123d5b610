#include "lib/base/clock.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace sk {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(Duration d) override {
    if (d > Duration::zero()) std::this_thread::sleep_for(d);
  }
};

}  // namespace

Clock& RealClock() {
  static SteadyClock* clock = new SteadyClock();
  return *clock;
}

absl::Status RetryWhile(Clock& clock, int attempts, Clock::Duration interval,
                        const std::function<bool(absl::StatusCode)>& retry_if,
                        const std::function<absl::Status()>& fn) {
  absl::Status s;
  for (int i = 0, n = std::max(1, attempts); i < n; ++i) {
    if (i > 0) clock.SleepFor(interval);
    s = fn();
    if (s.ok() || !retry_if(s.code())) return s;
  }
  return s;
}

std::function<bool(absl::StatusCode)> IsCode(
    std::initializer_list<absl::StatusCode> codes) {
  return [set = std::vector<absl::StatusCode>(codes)](absl::StatusCode c) {
    return std::find(set.begin(), set.end(), c) != set.end();
  };
}

absl::StatusOr<bool> PollUntil(
    Clock& clock, Clock::TimePoint deadline, Backoff backoff,
    const std::function<absl::StatusOr<bool>()>& fn) {
  Clock::Duration delay = backoff.initial;
  for (;;) {
    absl::StatusOr<bool> done = fn();
    if (!done.ok() || *done) return done;
    Clock::TimePoint now = clock.Now();
    if (now >= deadline) return false;
    clock.SleepFor(std::min(delay, deadline - now));
    delay = std::min(delay * 2, backoff.max);
  }
}

}  // namespace sk
