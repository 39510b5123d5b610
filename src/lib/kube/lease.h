#pragma once
// Kubernetes coordination.k8s.io/v1 Leases: a lock held by one identity for
// a bounded time, and a counting semaphore of N such locks.
//
// Lease is the object client-go's leader election uses (client-go
// tools/leaderelection/resourcelock/leaselock.go): spec.holderIdentity,
// leaseDurationSeconds, acquireTime, renewTime (MicroTime) and
// leaseTransitions. Every write carries the resourceVersion it read, so two
// candidates never both win: the loser gets 409 Conflict, re-reads and
// re-decides.
//
// Expiry follows client-go (leaderelection.go, tryAcquireOrRenew): a lease
// held by someone else is taken over only after it has not changed for
// leaseDurationSeconds *as observed on our own monotonic clock* (the Clock
// seam), never by comparing the holder's renewTime with our wall clock, so
// clock skew between nodes cannot make two holders. renewTime is written
// for humans and tools. A lease whose holderIdentity is our own (e.g. after
// a reboot) or empty (released) is taken at once.
//
//   LeaseLock lock(client, {.ns = "sriovkit", .name = "sriovkit-controller",
//                           .identity = hostname});
//   SK_ASSIGN_OR_RETURN(bool leader, lock.TryAcquireOrRenew());
//   ...
//   SK_RETURN_IF_ERROR(lock.Release());
//
//   // At most 2 holders at once among "sriovkit-drain-pool-a-0" and "-1":
//   LeaseSlots slots(client, {.ns = "sriovkit",
//                             .prefix = "sriovkit-drain-pool-a",
//                             .identity = node});
//   SK_ASSIGN_OR_RETURN(std::optional<int> slot, slots.TryAcquire(2));
//
// Not thread-safe: one LeaseLock per thread of control.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

#include "lib/base/clock.h"
#include "lib/kube/client.h"

namespace sk::kube {

// The spec of a Lease, plus the resourceVersion it was read at.
struct LeaseRecord {
  std::string holder_identity;  // "" when free
  int64_t lease_duration_seconds = 0;
  std::optional<absl::Time> acquire_time;
  std::optional<absl::Time> renew_time;
  int64_t lease_transitions = 0;
  std::string resource_version;
};

// MicroTime as the API server writes it: "2026-11-30T15:04:05.000000Z".
std::string FormatMicroTime(absl::Time t);
// RFC 3339 with or without a fraction and with "Z" or an offset; the error
// names `field` and the value.
absl::StatusOr<absl::Time> ParseMicroTime(const std::string& field,
                                          const std::string& value);

// A Lease object (any JSON) to a record; a malformed spec field is an
// InvalidArgument naming the field and the value. A missing spec is a free
// lease.
absl::StatusOr<LeaseRecord> LeaseRecordFromJson(const nlohmann::json& lease);
// The Lease object for `record` (metadata.resourceVersion set when known).
nlohmann::json LeaseToJson(const std::string& ns, const std::string& name,
                           const LeaseRecord& record);

// The API path of a Lease: "/apis/coordination.k8s.io/v1/namespaces/<ns>/
// leases[/<name>]". Names must be DNS subdomains (InvalidArgument otherwise).
absl::StatusOr<std::string> LeasePath(const std::string& ns,
                                      const std::string& name);

struct LeaseOptions {
  std::string ns;
  std::string name;
  std::string identity;  // holderIdentity written when holding
  std::chrono::seconds duration{60};
  // Expiry of others' leases is measured on this (monotonic) clock.
  Clock* clock = &RealClock();
  // Wall time for acquireTime/renewTime.
  std::function<absl::Time()> wall_now = [] { return absl::Now(); };
  // Read-decide-write rounds per call when writes meet 409 Conflict.
  int max_conflicts = 3;
};

class LeaseLock {
 public:
  // `client` must outlive the lock. Options are checked by the first call
  // (an empty name, namespace or identity is InvalidArgument).
  LeaseLock(Client& client, LeaseOptions options);

  // Reads the lease (creating it, held by us, when missing) and takes it when
  // it is free, ours, or unchanged for its duration since we first saw it in
  // this state; renews it when ours. Returns whether we hold it now.
  // A conflict (409) re-reads and decides again, up to max_conflicts times.
  absl::StatusOr<bool> TryAcquireOrRenew();
  // Reads the lease and updates the observation expiry is measured from,
  // without writing. nullopt when the lease does not exist.
  absl::StatusOr<std::optional<LeaseRecord>> Observe();
  // Clears holderIdentity when we hold it; OK when the lease is missing or
  // someone else's.
  absl::Status Release();
  // Whether our last successful write is younger than the duration (by the
  // monotonic clock). A holder must stop acting as one when this turns false.
  bool Held() const;
  // The last record read or written (nullopt before the first call).
  const std::optional<LeaseRecord>& observed() const { return observed_; }
  const LeaseOptions& options() const { return options_; }

 private:
  absl::StatusOr<bool> TryOnce(bool* conflict);

  Client& client_;
  LeaseOptions options_;
  std::optional<LeaseRecord> observed_;
  // When observed_ (holder + resourceVersion) last changed, monotonic.
  Clock::TimePoint observed_at_{};
  std::optional<Clock::TimePoint> held_since_write_;
};

struct LeaseSlotsOptions {
  std::string ns;
  // Slot i is the Lease "<prefix>-<i>".
  std::string prefix;
  std::string identity;
  std::chrono::seconds duration{60};
  Clock* clock = &RealClock();
  std::function<absl::Time()> wall_now = [] { return absl::Now(); };
};

// A counting semaphore over Leases "<prefix>-0" ... "<prefix>-<n-1>": an
// identity holds at most one slot, so at most n identities hold one.
class LeaseSlots {
 public:
  LeaseSlots(Client& client, LeaseSlotsOptions options);

  // Renews the slot we hold among the first `n` (also one found held by our
  // identity on the server, e.g. after a restart), else takes the first free
  // or expired one. Returns its index, or nullopt when all `n` are held by
  // others. n < 1 is InvalidArgument.
  absl::StatusOr<std::optional<int>> TryAcquire(int n);
  // Releases every slot this object held or found held by our identity
  // (of the first `n` it was last asked about).
  absl::Status Release();
  // The slot held now (nullopt when none or expired).
  std::optional<int> held() const;

 private:
  LeaseLock& Slot(int i);

  Client& client_;
  LeaseSlotsOptions options_;
  std::vector<std::unique_ptr<LeaseLock>> locks_;
  std::optional<int> held_;
};

}  // namespace sk::kube
