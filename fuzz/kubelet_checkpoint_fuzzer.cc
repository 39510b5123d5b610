// Fuzzes the kubelet device-manager checkpoint parser (a file the kubelet
// writes: not ours). Invariants: nothing crashes; an accepted checkpoint
// has no entry without a PodUID or ResourceName; DevicesOf returns exactly
// the IDs of the entries with that UID; rejected input says why.
#include <cstdint>
#include <string_view>

#include "lib/podresources/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cp = sk::podresources::ParseCheckpoint(text, /*max_bytes=*/1 << 16);
  if (!cp.ok()) {
    if (cp.status().message().empty()) __builtin_trap();
    return 0;
  }
  for (const auto& e : cp->entries) {
    if (e.pod_uid.empty() || e.resource_name.empty()) __builtin_trap();
    size_t want = 0;
    for (const auto& other : cp->entries) {
      if (other.pod_uid == e.pod_uid) want += other.device_ids.size();
    }
    size_t got = 0;
    for (const auto& [resource, ids] : cp->DevicesOf(e.pod_uid)) {
      got += ids.size();
    }
    if (got != want) __builtin_trap();
  }
  return 0;
}
