#pragma once
// The kubelet DevicePlugin gRPC service for one pool, without any server
// bootstrap (server.h owns sockets and registration).
//
//   DevicePluginService svc(pool, sysfs::Sysfs("/"), {.devinfo_dir = ...});
//   grpc::ServerBuilder b; b.RegisterService(&svc); ...
//   ...
//   svc.Stop();   // ends ListAndWatch streams before the server shuts down
//
// Behaviour (upstream: k8snetworkplumbingwg/sriov-network-device-plugin
// v3.11.0, pkg/resources/server.go):
// - GetDevicePluginOptions: PreStartRequired=false,
//   GetPreferredAllocationAvailable=true (upstream: false).
// - ListAndWatch: sends the full list (ID, "Healthy" or "Unhealthy" as
//   PoolDevice::healthy says, NUMA node unless
//   excludeTopology), then blocks; re-sends after Resend(), returns OK after
//   Stop(). In CDI mode the pool's CDI spec is rewritten before each send.
// - Allocate: each container request independently. An ID not in the pool
//   fails the whole RPC with INVALID_ARGUMENT naming the ID and the resource
//   (upstream silently skips it). Device nodes are computed from live sysfs;
//   a device that no longer has its node fails with FAILED_PRECONDITION.
//   Env: PCIDEVICE_<..>=<ids in request order>, PCIDEVICE_<..>_INFO, and the
//   shell-safe alias of both when the name contains '-'. Device specs are
//   deduplicated by host path. netDevice pools write device-info files
//   (replacing old ones, mode 0444); a write failure fails the RPC
//   (INTERNAL / the errno code).
//   CDI mode: no device specs; cdi_devices carries "<prefix>/<class>=<id>"
//   and, for runtimes that read annotations, the annotation
//   "cdi.k8s.io/<prefix>_<class>_<name>" (unique per pool: upstream's key is
//   per prefix and class only, so two pools in one container clash,
//   k8snetworkplumbingwg/sriov-network-device-plugin#731).
// - UpdatePool() replaces the pool (devices, health, config of the same
//   resource name) while serving: open ListAndWatch streams re-send, and
//   calls already running finish on the pool they started with.
// - GetPreferredAllocation: one answer per container request, chosen by
//   the pool's allocationPolicy (preferred.h); a request over
//   kMaxPreferredIds IDs or otherwise inconsistent fails with
//   INVALID_ARGUMENT naming the field. PreStartContainer: no-op.
// - Every RPC first checks the device IDs it was sent: an ID longer than
//   kMaxDeviceIdBytes (validate.h), an Allocate naming more IDs than the
//   pool has or one ID twice, a GetPreferredAllocation or PreStartContainer
//   listing more containers or IDs than the pool has devices, fail with
//   INVALID_ARGUMENT. Messages and log
//   lines quote request values through Bounded() (at most 64 bytes each).
//
// Thread safety: all RPCs may run concurrently; Stop() and Resend() are
// callable from any thread.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"

#include "lib/deviceplugin/inventory.h"
#include "lib/deviceplugin/metrics.h"
#include "lib/sysfs/sysfs.h"

namespace sk::deviceplugin {

struct ServiceOptions {
  bool use_cdi = false;
  std::filesystem::path devinfo_dir = "/var/run/k8s.cni.cncf.io/devinfo/dp";
  std::filesystem::path cdi_dir = "/var/run/cdi";
  // Successful Allocate calls are recorded here (count, latency); may be
  // null.
  std::shared_ptr<Metrics> metrics;
};

class DevicePluginService final : public v1beta1::DevicePlugin::Service {
 public:
  DevicePluginService(Pool pool, sysfs::Sysfs fs, ServiceOptions opts);

  grpc::Status GetDevicePluginOptions(
      grpc::ServerContext* ctx, const v1beta1::Empty* req,
      v1beta1::DevicePluginOptions* resp) override;
  grpc::Status ListAndWatch(
      grpc::ServerContext* ctx, const v1beta1::Empty* req,
      grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override
      ABSL_LOCKS_EXCLUDED(mu_);
  grpc::Status GetPreferredAllocation(
      grpc::ServerContext* ctx, const v1beta1::PreferredAllocationRequest* req,
      v1beta1::PreferredAllocationResponse* resp) override;
  grpc::Status Allocate(grpc::ServerContext* ctx,
                        const v1beta1::AllocateRequest* req,
                        v1beta1::AllocateResponse* resp) override;
  grpc::Status PreStartContainer(
      grpc::ServerContext* ctx, const v1beta1::PreStartContainerRequest* req,
      v1beta1::PreStartContainerResponse* resp) override;

  // The list ListAndWatch sends.
  v1beta1::ListAndWatchResponse DeviceList() const;
  // One container's allocation; the codes are those documented above.
  absl::StatusOr<v1beta1::ContainerAllocateResponse> AllocateContainer(
      const google::protobuf::RepeatedPtrField<std::string>& ids) const;

  // Writes the pool's CDI spec into cdi_dir (CDI mode only; OK otherwise).
  absl::Status WriteCdiSpec() const;
  // Removes this pool's device-info files (all devices) and CDI spec.
  void RemoveOutputs() const;

  // Replaces the pool served (same resource name) and re-sends the list on
  // every open ListAndWatch stream.
  void UpdatePool(Pool pool) ABSL_LOCKS_EXCLUDED(mu_);

  // Makes every open ListAndWatch stream send the list again.
  void Resend() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends every open ListAndWatch stream (and refuses new ones).
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // The pool served now (a snapshot: UpdatePool does not change it).
  std::shared_ptr<const Pool> pool() const ABSL_LOCKS_EXCLUDED(mu_);
  // Number of ListAndWatch streams currently open.
  int open_streams() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // `s` prefixed with the resource name, logged and converted.
  grpc::Status RequestError(std::string_view rpc, const absl::Status& s) const;

  const std::string resource_name_;  // "<prefix>/<name>", never changes
  const sysfs::Sysfs fs_;
  const ServiceOptions opts_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // signalled when any of the fields below changes
  std::shared_ptr<const Pool> pool_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int open_streams_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sk::deviceplugin
