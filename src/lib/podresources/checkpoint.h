#pragma once
// The kubelet device manager's checkpoint file, the fallback when the
// PodResources API is not served (as Multus reads it: multus-cni
// pkg/checkpoint/checkpoint.go). kubelet writes it as JSON
// (k8s.io/kubernetes pkg/kubelet/cm/devicemanager/checkpoint/checkpoint.go):
//
//   {"Data":{"PodDeviceEntries":[{"PodUID":"...","ContainerName":"compute",
//     "ResourceName":"intel.com/sriov_a","DeviceIDs":{"-1":["0000:03:02.0"]},
//     "AllocResp":"<base64 ContainerAllocateResponse>"}],
//    "RegisteredDevices":{"intel.com/sriov_a":["0000:03:02.0", ...]}},
//    "Checksum":1234}
//
// DeviceIDs is keyed by NUMA node since Kubernetes 1.20; before, it was a
// plain list. Both are accepted. The checksum is not verified: kubelet's
// hashes a Go-specific dump of its structs, and Multus ignores it too.
//
// A malformed entry is skipped with a warning (so one bad entry does not
// hide every other pod's devices); a malformed document is an error. Both
// name the field and the entry index:
//   "Data.PodDeviceEntries[2].DeviceIDs: expected an object (NUMA node ->
//    IDs) or an array, got number; entry skipped"
//
// Thread-safe (pure functions).

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sk::podresources {

inline constexpr char kDefaultCheckpoint[] =
    "/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint";
// A checkpoint holds one entry per container and resource on the node; a
// few hundred pods make well under 1 MiB.
inline constexpr size_t kMaxCheckpointBytes = size_t{8} << 20;

struct CheckpointEntry {
  std::string pod_uid;
  std::string container_name;
  std::string resource_name;
  // Over all NUMA nodes, in the order of the node keys as stored.
  std::vector<std::string> device_ids;
  // The decoded AllocResp: a serialized v1beta1 ContainerAllocateResponse
  // (empty when absent).
  std::string alloc_resp;
};

struct Checkpoint {
  std::vector<CheckpointEntry> entries;
  // resource name -> every device the plugin advertised.
  std::map<std::string, std::vector<std::string>> registered_devices;
  // One line per skipped entry or registered-device list.
  std::vector<std::string> warnings;

  // resource name -> device IDs held by any container of the pod with
  // `pod_uid`, in entry order. Empty when the pod holds none.
  std::map<std::string, std::vector<std::string>> DevicesOf(
      std::string_view pod_uid) const;
};

// Parses checkpoint text. InvalidArgument for text that is not a bounded
// JSON document (sk::ParseJsonBounded with `max_bytes`), a root or "Data"
// that is not an object, or "PodDeviceEntries"/"RegisteredDevices" of the
// wrong type; the message names the field.
absl::StatusOr<Checkpoint> ParseCheckpoint(
    std::string_view text, size_t max_bytes = kMaxCheckpointBytes);

// Reads and parses `path`. NotFound when the file does not exist;
// InvalidArgument when it is larger than `max_bytes` or malformed. Errors
// and warnings are prefixed with the path.
absl::StatusOr<Checkpoint> ReadCheckpoint(
    const std::filesystem::path& path, size_t max_bytes = kMaxCheckpointBytes);

}  // namespace sk::podresources
