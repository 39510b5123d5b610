#include "lib/deviceplugin/metrics.h"

namespace sk::deviceplugin {
namespace {

// Allocate writes a few small files: milliseconds, with a tail.
std::vector<double> AllocateBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
}
// A discovery walks sysfs: milliseconds to a second on 2,048 VFs.
std::vector<double> RediscoveryBounds() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

}  // namespace

void Histogram::Observe(absl::Duration d) {
  double s = absl::ToDoubleSeconds(d);
  size_t i = 0;
  while (i < bounds.size() && s > bounds[i]) ++i;
  ++counts[i];
  sum += s;
  ++count;
}

Metrics::Metrics() { s_.rediscovery = Histogram(RediscoveryBounds()); }

void Metrics::RecordAllocate(const std::string& resource, size_t devices,
                             absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  s_.allocated[resource] += devices;
  auto it = s_.allocate_lat.find(resource);
  if (it == s_.allocate_lat.end()) {
    it = s_.allocate_lat.emplace(resource, Histogram(AllocateBounds())).first;
  }
  it->second.Observe(latency);
}

void Metrics::RecordRediscovery(absl::Duration took) {
  absl::MutexLock lock(&mu_);
  s_.rediscovery.Observe(took);
}

Metrics::Snapshot Metrics::Get() const {
  absl::MutexLock lock(&mu_);
  return s_;
}

}  // namespace sk::deviceplugin
