#pragma once
// PodDeviceLookup: which devices of which extended resource a pod holds,
// the one question the meta-plugin asks the kubelet. It chooses the source
// as Multus does (multus-cni pkg/kubeletclient/kubeletclient.go,
// GetResourceClient):
// - the PodResources socket exists: the PodResources API, Get (or List when
//   the kubelet does not implement Get), matched by namespace and name;
// - otherwise the kubelet device-manager checkpoint, matched by pod UID.
// A socket that exists but does not answer is an error (Unavailable or
// DeadlineExceeded, retryable), not a reason to read a checkpoint that may
// be stale.
//
//   SK_ASSIGN_OR_RETURN(auto lookup, PodDeviceLookup::Create({}));
//   SK_ASSIGN_OR_RETURN(PodDevices d,
//                       lookup->Lookup({.ns = "default", .name =
//                       "virt-launcher-vm-a-x",
//                                       .uid = "8d3c..."}));
//   d.devices["intel.com/sriov_a"]  // {"0000:03:02.1"}
//
// Thread safety: Lookup may be called from several threads at once.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/podresources/checkpoint.h"
#include "lib/podresources/client.h"

namespace sk::podresources {

struct PodRef {
  std::string ns;
  std::string name;
  std::string uid;  // needed only when the checkpoint answers
};

enum class DeviceSourceKind {
  kPodResourcesGet,
  kPodResourcesList,
  kCheckpoint
};
// "PodResources Get", "PodResources List", "kubelet checkpoint".
std::string_view DeviceSourceName(DeviceSourceKind kind);

struct PodDevices {
  // resource name -> device IDs over all containers of the pod, in the
  // order the source reported them (containers in order). Empty when the
  // pod holds no devices.
  std::map<std::string, std::vector<std::string>> devices;
  DeviceSourceKind source = DeviceSourceKind::kPodResourcesGet;
  // Checkpoint entries that were skipped as malformed (they may have
  // belonged to this pod); empty for PodResources.
  std::vector<std::string> warnings;
};

struct PodDeviceOptions {
  // socket_path, timeouts and message limit of the PodResources client.
  ClientOptions pod_resources;
  std::filesystem::path checkpoint_path = kDefaultCheckpoint;
  size_t max_checkpoint_bytes = kMaxCheckpointBytes;
};

class PodDeviceLookup {
 public:
  // InvalidArgument for bad client options (see PodResourcesClient::Create).
  static absl::StatusOr<std::unique_ptr<PodDeviceLookup>> Create(
      PodDeviceOptions options);

  // The devices `pod` holds. Codes:
  // - NotFound: the PodResources API does not know the pod;
  // - Unavailable / DeadlineExceeded: the PodResources socket exists but the
  //   kubelet does not answer in time; or there is neither a socket nor a
  //   checkpoint (the message names both paths);
  // - InvalidArgument: the checkpoint answers but `pod.uid` is empty, or the
  //   checkpoint is malformed or too large (the message names the path).
  absl::StatusOr<PodDevices> Lookup(const PodRef& pod);

  const PodDeviceOptions& options() const { return options_; }

 private:
  PodDeviceLookup(PodDeviceOptions options,
                  std::unique_ptr<PodResourcesClient> client)
      : options_(std::move(options)), client_(std::move(client)) {}

  const PodDeviceOptions options_;
  const std::unique_ptr<PodResourcesClient> client_;
};

}  // namespace sk::podresources
