#pragma once
// Counters and histograms the operations endpoint exposes; ops.h renders
// them, with the daemon's state, as Prometheus text.
//
//   auto m = std::make_shared<Metrics>();
//   m->RecordAllocate("intel.com/vfio", 2, absl::Microseconds(300));
//   std::string text = RenderMetrics(daemon.GetState(), m->Get());  // ops.h
//
// Series (every name starts with sriovkit_dp_; `resource` is the pool's
// "<prefix>/<name>"):
//   pool_devices{resource}                 gauge: devices advertised
//   pool_healthy_devices{resource}         gauge: of which Healthy
//   pool_registered{resource}              gauge: 1 when kubelet has it
//   pool_excluded_devices{resource,reason} gauge: devices of the pool's
//       class left out at the last discovery; reason no_driver,
//       pf_has_vfs, default_route or other_pool (first match wins)
//   allocated_devices_total{resource}      counter: devices handed out by
//       successful Allocate calls since start
//   allocate_duration_seconds{resource}    histogram of Allocate calls
//   rediscoveries_total                    counter: discovery runs after
//       the first load (events, rescans)
//   rediscovery_duration_seconds           histogram of those runs
//   config_loaded, ready                   gauges (0/1)
//
// Thread safety: Metrics is thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sk::deviceplugin {

struct Histogram {
  std::vector<double> bounds;    // upper bounds in seconds, ascending
  std::vector<uint64_t> counts;  // per bound, not cumulative; +1 for +Inf
  double sum = 0;
  uint64_t count = 0;

  explicit Histogram(std::vector<double> b = {})
      : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}
  void Observe(absl::Duration d);
};

class Metrics {
 public:
  struct Snapshot {
    std::map<std::string, uint64_t> allocated;      // resource -> devices
    std::map<std::string, Histogram> allocate_lat;  // resource -> histogram
    Histogram rediscovery;
  };

  Metrics();
  // One successful Allocate of `devices` devices that took `latency`.
  void RecordAllocate(const std::string& resource, size_t devices,
                      absl::Duration latency) ABSL_LOCKS_EXCLUDED(mu_);
  void RecordRediscovery(absl::Duration took) ABSL_LOCKS_EXCLUDED(mu_);
  Snapshot Get() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  Snapshot s_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sk::deviceplugin
