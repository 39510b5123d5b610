#pragma once
// KubeletStandIn: a stand-in for kubelet's device manager, for tests,
// benchmarks and the lab (kubelet cannot run here). It speaks the real
// gRPC API over real unix sockets, in both registration modes:
// - legacy: serves v1beta1.Registration on <device_plugin_dir>/kubelet.sock;
//   on Register it dials <device_plugin_dir>/<endpoint> back, like kubelet;
// - watcher: scans <plugins_registry_dir> for sockets every 10 ms, calls
//   pluginregistration GetInfo, dials the endpoint and answers
//   NotifyRegistrationStatus (accepting, or refusing when told to).
// After registration it keeps a ListAndWatch stream open per resource and
// records the latest device list.
//
// Allocations made with AllocateFor are recorded against a pod and
// container, as kubelet's device manager does, and can be read back the two
// ways kubelet exposes them: the PodResources v1 API (ServePodResources, on
// its own socket) and the device-manager checkpoint file (WriteCheckpoint).
//
// It is not kubelet: no pod admission, no topology manager, no pod
// lifecycle (an allocation is held until the stand-in is destroyed).
//
// Thread safety: all methods are thread-safe.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include <grpcpp/grpcpp.h>

namespace sk::deviceplugin {

class KubeletStandIn {
 public:
  // Legacy mode. Unavailable when kubelet.sock cannot be served.
  static absl::StatusOr<std::unique_ptr<KubeletStandIn>> StartLegacy(
      const std::filesystem::path& device_plugin_dir);
  // Watcher mode; `accept` = the answer given to NotifyRegistrationStatus.
  static absl::StatusOr<std::unique_ptr<KubeletStandIn>> StartWatcher(
      const std::filesystem::path& plugins_registry_dir, bool accept = true);
  ~KubeletStandIn();

  // Waits until `resource` has registered and its ListAndWatch stream has
  // delivered at least `min_devices` devices. DeadlineExceeded on timeout.
  absl::StatusOr<std::vector<v1beta1::Device>> WaitForDevices(
      const std::string& resource, size_t min_devices, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `resource` has registered at least `count` times in total.
  absl::Status WaitForRegistrations(const std::string& resource, int count,
                                    absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);
  int registrations(const std::string& resource) const ABSL_LOCKS_EXCLUDED(mu_);
  // The last RegisterRequest received (legacy) for `resource`.
  v1beta1::RegisterRequest last_request(const std::string& resource) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The PluginInfo of the last GetInfo (watcher) for `resource`.
  std::string last_endpoint(const std::string& resource) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Allocate over the plugin's socket, one container with `ids`.
  absl::StatusOr<v1beta1::AllocateResponse> Allocate(
      const std::string& resource, const std::vector<std::string>& ids);
  absl::StatusOr<v1beta1::DevicePluginOptions> GetOptions(
      const std::string& resource);

  // What kubelet's device manager does for a container asking for `size`
  // devices (k8s.io/kubernetes pkg/kubelet/cm/devicemanager/manager.go,
  // devicesToAllocate): the available devices are the Healthy ones of the
  // last list not yet allocated by AllocateFor/AllocateCount; when the
  // plugin advertises GetPreferredAllocation, it is asked (with
  // `must_include`) and its answer is used, else the lowest IDs are taken.
  // Then Allocate, recorded against `who` as AllocateFor does.
  // ResourceExhausted when fewer than `size` devices are available;
  // FailedPrecondition when the preferred answer is not `size` distinct
  // available IDs including `must_include` (kubelet rejects that too).
  struct CountAllocation {
    std::vector<std::string> ids;  // the devices allocated, in that order
    bool used_preferred = false;   // GetPreferredAllocation was asked
    v1beta1::AllocateResponse response;
  };
  struct PodContainer;
  absl::StatusOr<CountAllocation> AllocateCount(
      const PodContainer& who, const std::string& resource, size_t size,
      const std::vector<std::string>& must_include = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // Who an allocation is for. PodResources names pods by namespace and
  // name; the checkpoint by UID.
  struct PodContainer {
    std::string ns;
    std::string name;
    std::string uid;
    std::string container;
  };
  // Allocate, then record `ids` of `resource` as held by `who` (appended to
  // what `who` already holds). Errors as Allocate; nothing is recorded then.
  absl::StatusOr<v1beta1::AllocateResponse> AllocateFor(
      const PodContainer& who, const std::string& resource,
      const std::vector<std::string>& ids) ABSL_LOCKS_EXCLUDED(mu_);

  // Serves v1.PodResourcesLister on the unix socket `socket` (replacing a
  // stale file): List (every pod with an allocation, containers in the
  // order of their first allocation), Get (as kubelet: UNKNOWN "pod <name>
  // in namespace <ns> not found" for an unknown pod) and
  // GetAllocatableResources (every device the plugins advertised).
  // Unavailable when the socket cannot be served.
  absl::Status ServePodResources(const std::filesystem::path& socket);
  // Makes Get answer UNIMPLEMENTED, as a kubelet before 1.27 or with the
  // KubeletPodResourcesGet feature gate off.
  void set_get_unimplemented(bool v) { get_unimplemented_.store(v); }
  // Writes the device-manager checkpoint in kubelet's JSON format
  // (k8s.io/kubernetes pkg/kubelet/cm/devicemanager/checkpoint): one
  // PodDeviceEntry per allocation, DeviceIDs keyed by NUMA node ("-1" when
  // the device has no topology), AllocResp the base64 of the container's
  // ContainerAllocateResponse, RegisteredDevices from the device lists.
  // Checksum is 0: kubelet's checksum hashes a Go-specific dump of the
  // struct, and the readers we stand in for (Multus) do not verify it.
  absl::Status WriteCheckpoint(const std::filesystem::path& path) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // What kubelet does on restart in legacy mode: stop serving kubelet.sock,
  // delete every socket in the directory, serve kubelet.sock again. With
  // `wipe_sockets` false, only kubelet.sock is re-created (a kubelet that
  // restarted without cleaning the directory).
  absl::Status SimulateRestart(bool wipe_sockets = true);
  // Changes the watcher-mode answer for later registrations.
  void set_accept(bool accept) { accept_.store(accept); }
  // Called with every ListAndWatch list as it arrives (resource, devices),
  // under the stand-in's lock: keep it short, and do not call back in.
  using ListObserver = std::function<void(const std::string&,
                                          const std::vector<v1beta1::Device>&)>;
  void set_list_observer(ListObserver f) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Endpoint;
  class RegistrationImpl;
  class PodResourcesImpl;
  struct Allocation {
    PodContainer who;
    std::string resource;
    std::vector<std::string> ids;
    std::string container_response;  // serialized ContainerAllocateResponse
  };
  KubeletStandIn() = default;
  absl::Status ServeKubeletSock();
  void Connect(const std::string& resource, const std::string& socket)
      ABSL_LOCKS_EXCLUDED(mu_);
  void WatcherLoop() ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<Endpoint> Find(const std::string& resource) const
      ABSL_LOCKS_EXCLUDED(mu_);

  std::filesystem::path dir_;
  bool watcher_ = false;
  std::atomic<bool> accept_{true};
  std::atomic<bool> stop_{false};
  std::atomic<bool> get_unimplemented_{false};
  std::unique_ptr<PodResourcesImpl> pod_resources_;
  std::unique_ptr<grpc::Server> pod_resources_server_;
  std::unique_ptr<RegistrationImpl> registration_;
  std::unique_ptr<grpc::Server> server_;
  std::thread watcher_thread_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // signalled when a device list arrives
  std::map<std::string, std::shared_ptr<Endpoint>> endpoints_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> registrations_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1beta1::RegisterRequest> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> watcher_endpoints_ ABSL_GUARDED_BY(mu_);
  // path -> inode key
  std::map<std::string, std::string> seen_sockets_ ABSL_GUARDED_BY(mu_);
  std::vector<Allocation> allocations_ ABSL_GUARDED_BY(mu_);
  ListObserver observer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sk::deviceplugin
