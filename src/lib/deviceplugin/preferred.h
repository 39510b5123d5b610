#pragma once
// GetPreferredAllocation: which `size` devices of those kubelet offers a
// container should get, by the pool's allocation policy.
//
//   SK_ASSIGN_OR_RETURN(std::vector<std::string> ids,
//                       PreferredDevices(pool, available, must_include, 2));
//
// Policies (ResourceConfig::allocation_policy, config key
// "allocationPolicy"):
// - "numa" (default): the devices on the NUMA node(s) of the must-include
//   devices first; without must-include devices, the NUMA node with the
//   most offered devices first (ties: lower node). Devices without a NUMA
//   node come last. Within one node, as packPF.
// - "packPF": fill one PF before the next: the PFs of the must-include
//   devices first, then the PF with the most offered devices (ties: lower
//   PF address). A device that is not a VF is its own group.
// - "spreadPF": round-robin across PFs: the next device always comes from
//   the PF with the fewest devices chosen so far (must-include devices
//   count; ties: lower PF address), lowest device ID first.
// The answer starts with the must-include devices, in request order. Offered
// IDs that the pool does not know (or that are Unhealthy) are only used when
// the known healthy ones do not suffice, in ID order. Deterministic: the
// same pool and request always give the same answer, whatever the order of
// `available`.
//
// Upstream (k8snetworkplumbingwg/sriov-network-device-plugin v3.11.0,
// pkg/resources/server.go) does not advertise GetPreferredAllocation; kubelet
// then picks devices itself (pkg/kubelet/cm/devicemanager/manager.go,
// devicesToAllocate: NUMA-aligned when the topology manager asks, else in
// map order).
//
// Thread safety: pure function.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/deviceplugin/inventory.h"

namespace sk::deviceplugin {

// Most device IDs one container request of GetPreferredAllocation may carry
// (available plus must-include). Kubelet offers at most the pool's devices;
// the largest PF has 256 VFs, a node a few thousand.
inline constexpr size_t kMaxPreferredIds = 16384;

// InvalidArgument, naming the field and the values, when `available` has
// more than kMaxPreferredIds IDs or an ID twice, a must-include ID is not in
// `available`, `size` is smaller than the number of must-include IDs, or
// larger than `available`.
absl::StatusOr<std::vector<std::string>> PreferredDevices(
    const Pool& pool, const std::vector<std::string>& available,
    const std::vector<std::string>& must_include, size_t size);

}  // namespace sk::deviceplugin
