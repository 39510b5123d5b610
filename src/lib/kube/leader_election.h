#pragma once
// Leader election on a coordination.k8s.io/v1 Lease (lease.h), as
// client-go's tools/leaderelection/leaderelection.go runs it: one candidate
// holds the Lease and renews it every `renew_interval` (default: the lease
// duration / 3); the others retry every `retry_interval` and take the Lease
// over once it stayed unchanged for its duration on their own monotonic
// clock.
//
//   LeaderElector e(client, {.lease = {.ns = ns, .name = "sriovkit-nad",
//                                     .identity = pod}});
//   NadController c(client, {.leading = [&] { return e.IsLeader(); }});
//   e.set_on_started_leading([&] { c.Kick(); });
//   std::thread t([&] { e.Run(); });  // until e.Stop()
//
// Stepping down. A leader whose renewals fail keeps leading only until
// `renew_deadline` (default: 2/3 of the duration) after its last successful
// write, measured on the clock; IsLeader() turns false then, before any
// other candidate may take the Lease (after the full duration), so two
// replicas never act as leader at once. A renewal that finds another
// holder steps down at once. Stop() releases a held Lease (holderIdentity
// cleared), so a successor takes over without waiting for the expiry.
//
// Time: expiry and deadlines go through LeaseOptions::clock (tests use a
// fake clock and call Step() themselves); Run() waits between steps in
// real time so Stop() ends it promptly.
//
// Thread-safe: Step()/Run() on one thread; IsLeader() and Stop() from any.
// The callbacks run on the Step() thread, without locks held.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>

#include "absl/status/status.h"

#include "lib/base/clock.h"
#include "lib/kube/client.h"
#include "lib/kube/lease.h"

namespace sk::kube {

struct LeaderElectionOptions {
  LeaseOptions lease;
  // 0: lease.duration / 3.
  std::chrono::milliseconds renew_interval{0};
  // While not leading; 0: lease.duration / 3.
  std::chrono::milliseconds retry_interval{0};
  // 0: lease.duration * 2 / 3. Must be shorter than the duration.
  std::chrono::milliseconds renew_deadline{0};
  // One line per transition and failed attempt; empty: silent.
  std::function<void(std::string_view)> log;
};

class LeaderElector {
 public:
  // `client` must outlive the elector.
  LeaderElector(Client& client, LeaderElectionOptions options);

  // One attempt to acquire or renew; returns IsLeader() afterwards. Calls
  // on_started_leading / on_stopped_leading on a transition.
  bool Step();
  // Step() until Stop(), then releases the Lease if held. Returns OK, or
  // InvalidArgument for options the Lease refuses (empty name, ...).
  absl::Status Run();
  void Stop();
  // Holding the Lease, renewed within renew_deadline on the clock.
  bool IsLeader() const;

  void set_on_started_leading(std::function<void()> f) {
    on_started_ = std::move(f);
  }
  void set_on_stopped_leading(std::function<void()> f) {
    on_stopped_ = std::move(f);
  }

 private:
  void Log(std::string_view line) const;

  LeaseLock lock_;
  LeaderElectionOptions opts_;
  Clock& clock_;
  std::function<void()> on_started_;
  std::function<void()> on_stopped_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool leading_ = false;
  Clock::TimePoint last_renew_{};
};

}  // namespace sk::kube
