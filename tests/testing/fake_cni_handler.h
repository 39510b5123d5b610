#pragma once
// FakeCniHandler: a netattach::Handler for tests of the shim transport. It
// answers every request with exit code 0 and an echo of what it received,
//   {"env":{"CNI_COMMAND":"ADD",...},"stdin":"<the shim's stdin>"}
// counts calls, and tracks how many run at once. With HoldCalls(), calls
// block inside Handle() until ReleaseCalls(), so a test can observe
// concurrency and the server's worker bound.
//
//   FakeCniHandler h;
//   h.HoldCalls();
//   ... start 3 clients ...
//   ASSERT_TRUE(h.WaitForInFlight(3, absl::Seconds(10)));
//   h.ReleaseCalls();

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

#include "lib/netattach/sources.h"

namespace sk::testing {

class FakeCniHandler : public netattach::Handler {
 public:
  netattach::CniResponse Handle(const netattach::CniRequest& req) override {
    {
      absl::MutexLock l(&mu_);
      ++calls_;
      threads_.insert(std::this_thread::get_id());
      ++in_flight_;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      // Bounded: a test that forgets to release still finishes.
      mu_.AwaitWithTimeout(absl::Condition(&released_), absl::Seconds(30));
      --in_flight_;
    }
    nlohmann::json j;
    j["env"] = req.env;
    j["stdin"] = req.stdin_data;
    return {0, j.dump(), std::chrono::microseconds(1500)};
  }

  // How many distinct threads have called Handle().
  size_t distinct_threads() {
    absl::MutexLock l(&mu_);
    return threads_.size();
  }
  void HoldCalls() {
    absl::MutexLock l(&mu_);
    released_ = false;
  }
  void ReleaseCalls() {
    absl::MutexLock l(&mu_);
    released_ = true;
  }
  // True once `n` calls are inside Handle() at the same time.
  bool WaitForInFlight(int n, absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  int calls() const {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  int max_in_flight() const {
    absl::MutexLock l(&mu_);
    return max_in_flight_;
  }

 private:
  mutable absl::Mutex mu_;
  bool released_ ABSL_GUARDED_BY(mu_) = true;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sk::testing
