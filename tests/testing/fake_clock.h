#pragma once

// A Clock for tests (lib/base/clock.h): time stands still until SleepFor or
// Advance moves it, so a wait of any length returns at once and a test can
// assert exactly how long the code under test waited. Thread-safe.
//
//   FakeClock clock;
//   auto t0 = clock.Now();
//   PollUntil(clock, t0 + 200ms, Backoff{2ms, 100ms}, never_done);
//   EXPECT_EQ(clock.Now() - t0, 200ms);

#include <mutex>
#include <vector>

#include "lib/base/clock.h"

namespace sk::testing {

class FakeClock : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  // Advances the time by `d` (when positive) and records `d`.
  void SleepFor(Duration d) override {
    std::lock_guard<std::mutex> l(mu_);
    sleeps_.push_back(d);
    if (d > Duration::zero()) now_ += d;
  }
  void Advance(Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += d;
  }
  // Every SleepFor argument so far, in order.
  std::vector<Duration> sleeps() const {
    std::lock_guard<std::mutex> l(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  // Not the epoch: code under test may subtract durations from Now().
  TimePoint now_ = TimePoint() + std::chrono::hours(1);
  std::vector<Duration> sleeps_;
};

}  // namespace sk::testing
