#include "lib/podresources/pod_devices.h"

#include <sys/stat.h>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::podresources {

std::string_view DeviceSourceName(DeviceSourceKind kind) {
  switch (kind) {
    case DeviceSourceKind::kPodResourcesGet:
      return "PodResources Get";
    case DeviceSourceKind::kPodResourcesList:
      return "PodResources List";
    case DeviceSourceKind::kCheckpoint:
      return "kubelet checkpoint";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<PodDeviceLookup>> PodDeviceLookup::Create(
    PodDeviceOptions options) {
  SK_ASSIGN_OR_RETURN(auto client,
                      PodResourcesClient::Create(options.pod_resources));
  return std::unique_ptr<PodDeviceLookup>(
      new PodDeviceLookup(std::move(options), std::move(client)));
}

absl::StatusOr<PodDevices> PodDeviceLookup::Lookup(const PodRef& pod) {
  PodDevices out;
  const std::string& socket = options_.pod_resources.socket_path;
  struct stat st;
  if (::lstat(socket.c_str(), &st) == 0) {
    SK_ASSIGN_OR_RETURN(PodResources pr, client_->Get(pod.ns, pod.name));
    out.devices = pr.AllDevices();
    out.source = client_->get_unimplemented()
                     ? DeviceSourceKind::kPodResourcesList
                     : DeviceSourceKind::kPodResourcesGet;
    return out;
  }
  auto cp =
      ReadCheckpoint(options_.checkpoint_path, options_.max_checkpoint_bytes);
  if (absl::IsNotFound(cp.status())) {
    return absl::UnavailableError(sk::StrCat(
        "devices of pod ", pod.ns, "/", pod.name,
        ": neither the PodResources socket ", socket,
        " nor the kubelet checkpoint ", options_.checkpoint_path, " exists"));
  }
  if (!cp.ok()) return cp.status();
  if (pod.uid.empty()) {
    return absl::InvalidArgumentError(
        sk::StrCat("devices of pod ", pod.ns, "/", pod.name,
                   ": no pod UID to match the kubelet checkpoint ",
                   options_.checkpoint_path, " by"));
  }
  out.devices = cp->DevicesOf(pod.uid);
  out.source = DeviceSourceKind::kCheckpoint;
  out.warnings = std::move(cp->warnings);
  return out;
}

}  // namespace sk::podresources
