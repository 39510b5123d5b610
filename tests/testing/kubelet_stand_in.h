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
// It is not kubelet: no checkpointing, no pod admission, no topology manager.
//
// Thread safety: all methods are thread-safe.

#include <atomic>
#include <filesystem>
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

  // What kubelet does on restart in legacy mode: stop serving kubelet.sock,
  // delete every socket in the directory, serve kubelet.sock again. With
  // `wipe_sockets` false, only kubelet.sock is re-created (a kubelet that
  // restarted without cleaning the directory).
  absl::Status SimulateRestart(bool wipe_sockets = true);
  // Changes the watcher-mode answer for later registrations.
  void set_accept(bool accept) { accept_.store(accept); }

 private:
  struct Endpoint;
  class RegistrationImpl;
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
};

}  // namespace sk::deviceplugin
