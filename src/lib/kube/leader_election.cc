#include "lib/kube/leader_election.h"

#include <utility>

#include "lib/base/strings.h"

namespace sk::kube {
namespace {

std::chrono::milliseconds OrThird(std::chrono::milliseconds v,
                                  std::chrono::seconds duration, int num) {
  if (v.count() > 0) return v;
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration) * num /
         3;
}

}  // namespace

LeaderElector::LeaderElector(Client& client, LeaderElectionOptions options)
    : lock_(client, options.lease),
      opts_(std::move(options)),
      clock_(opts_.lease.clock ? *opts_.lease.clock : RealClock()) {
  opts_.renew_interval = OrThird(opts_.renew_interval, opts_.lease.duration, 1);
  opts_.retry_interval = OrThird(opts_.retry_interval, opts_.lease.duration, 1);
  opts_.renew_deadline = OrThird(opts_.renew_deadline, opts_.lease.duration, 2);
}

void LeaderElector::Log(std::string_view line) const {
  if (opts_.log) opts_.log(line);
}

bool LeaderElector::IsLeader() const {
  std::lock_guard<std::mutex> l(mu_);
  return leading_ && clock_.Now() < last_renew_ + opts_.renew_deadline;
}

bool LeaderElector::Step() {
  absl::StatusOr<bool> held = lock_.TryAcquireOrRenew();
  bool was;
  bool now;
  {
    std::lock_guard<std::mutex> l(mu_);
    was = leading_;
    if (held.ok() && *held) {
      leading_ = true;
      last_renew_ = clock_.Now();
    } else if (held.ok()) {
      leading_ = false;  // someone else holds it
    } else if (leading_ && clock_.Now() >= last_renew_ + opts_.renew_deadline) {
      leading_ = false;  // renewals failed past the deadline
    }
    now = leading_;
  }
  const std::string who =
      sk::StrCat("lease ", opts_.lease.ns, "/", opts_.lease.name, ": ");
  if (!held.ok())
    Log(sk::StrCat(who, "acquire/renew: ", held.status().message()));
  if (!was && now) {
    Log(sk::StrCat(who, opts_.lease.identity, " is the leader"));
    if (on_started_) on_started_();
  } else if (was && !now) {
    Log(sk::StrCat(who, opts_.lease.identity, " stepped down"));
    if (on_stopped_) on_stopped_();
  }
  return now;
}

absl::Status LeaderElector::Run() {
  if (opts_.lease.ns.empty() || opts_.lease.name.empty() ||
      opts_.lease.identity.empty()) {
    return absl::InvalidArgumentError(
        sk::StrCat("leader election: lease namespace \"", opts_.lease.ns,
                   "\", name \"", opts_.lease.name, "\" and identity \"",
                   opts_.lease.identity, "\" must all be set"));
  }
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    l.unlock();
    bool leading = Step();
    l.lock();
    cv_.wait_for(l, leading ? opts_.renew_interval : opts_.retry_interval,
                 [this] { return stop_; });
  }
  bool was = leading_;
  leading_ = false;
  l.unlock();
  if (was) {
    if (on_stopped_) on_stopped_();
    absl::Status s = lock_.Release();
    if (!s.ok()) Log(sk::StrCat("lease release: ", s.message()));
  }
  return absl::OkStatus();
}

void LeaderElector::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  stop_ = true;
  cv_.notify_all();
}

}  // namespace sk::kube
