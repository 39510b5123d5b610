#pragma once
// One pool's gRPC endpoint: its unix socket, the DevicePlugin service and the
// registration with kubelet, in either mode (as upstream
// k8snetworkplumbingwg/sriov-network-device-plugin v3.11.0,
// pkg/resources/server.go).
//
//   SK_ASSIGN_OR_RETURN(auto srv, PluginServer::Start(pool, fs, opts));
//   if (opts.mode == RegistrationMode::kLegacy)
//     SK_RETURN_IF_ERROR(srv->Register(absl::Seconds(1)));
//   ...
//   srv->Stop(/*cleanup=*/true);
//
// Socket: "<prefix>_<name>.sock" in device_plugin_dir (legacy mode) or in
// plugins_registry_dir (plugin-watcher mode).
// - Legacy: Register(version "v1beta1", endpoint = socket file name,
//   resource name "<prefix>/<name>") on <device_plugin_dir>/kubelet.sock.
// - Watcher: the socket also serves pluginregistration.Registration; kubelet
//   calls GetInfo (type "DevicePlugin", endpoint = full socket path,
//   versions v1alpha1 and v1beta1) and NotifyRegistrationStatus. A refusal is
//   recorded in rejected(); the daemon then re-creates the socket (upstream
//   stops for good, k8snetworkplumbingwg/sriov-network-device-plugin#411).
//
// Thread safety: Start/Register/Stop from one thread (the daemon's);
// registered()/rejected()/SocketExists() from any thread.

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include <grpcpp/grpcpp.h>

#include "lib/deviceplugin/service.h"

namespace sk::deviceplugin {

enum class RegistrationMode { kLegacy, kWatcher };

struct ServerOptions {
  std::filesystem::path device_plugin_dir = "/var/lib/kubelet/device-plugins";
  std::filesystem::path plugins_registry_dir =
      "/var/lib/kubelet/plugins_registry";
  RegistrationMode mode = RegistrationMode::kLegacy;
  ServiceOptions service;
  // Watcher mode: called (from a gRPC thread) after kubelet's
  // NotifyRegistrationStatus changed registered()/rejected(); the daemon
  // uses it to wake up instead of polling. May be empty.
  std::function<void()> on_registration_status;
};

// "<prefix>_<name>.sock".
std::string SocketName(const ResourceConfig& r);

class PluginServer {
 public:
  // Removes a stale socket and the pool's device-info files, writes the CDI
  // spec (CDI mode), then listens and serves. Does not register.
  // Errors name the pool and the socket path, and nothing is left serving:
  // InvalidArgument when the path is longer than a unix socket address
  // holds (107 bytes); mkdir's errno code when the directory cannot be
  // created (e.g. a file is in its place); Unavailable with bind(2)'s
  // reason when the socket cannot be bound (e.g. a read-only directory).
  static absl::StatusOr<std::unique_ptr<PluginServer>> Start(
      Pool pool, sysfs::Sysfs fs, const ServerOptions& opts);
  ~PluginServer();

  PluginServer(const PluginServer&) = delete;
  PluginServer& operator=(const PluginServer&) = delete;

  // Legacy mode: calls Registration.Register on kubelet.sock. Unavailable
  // when kubelet does not answer within `timeout`; kubelet's own error code
  // otherwise (e.g. InvalidArgument for a bad resource name).
  absl::Status Register(absl::Duration timeout);

  // Legacy mode, on a kubelet.sock (re)creation: false when the registration
  // in force was made on the kubelet.sock that exists now (same device,
  // inode and change time), so a late inotify event does not register twice.
  bool RegisteredWithCurrentKubelet() const;
  // Keeps serving (in-flight Allocate calls finish) and lets the next
  // Register() announce the socket again.
  void MarkUnregistered() { registered_->store(false); }

  // Ends ListAndWatch streams, stops gRPC and removes the socket. With
  // `cleanup`, also removes the pool's device-info files and CDI spec.
  // Idempotent.
  void Stop(bool cleanup);

  const std::filesystem::path& socket_path() const { return socket_path_; }
  bool SocketExists() const;
  bool registered() const { return registered_->load(); }
  bool rejected() const { return rejected_->load(); }
  const std::string& resource_name() const { return resource_name_; }
  DevicePluginService& service() { return *service_; }

 private:
  PluginServer() = default;

  std::string resource_name_;
  ServerOptions opts_;
  std::filesystem::path socket_path_;
  std::unique_ptr<DevicePluginService> service_;
  std::unique_ptr<grpc::Service> registration_;  // watcher mode only
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<std::atomic<bool>> registered_ =
      std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> rejected_ =
      std::make_shared<std::atomic<bool>>(false);
  bool stopped_ = false;
  // Identity of the kubelet.sock the last Register() reached.
  struct stat registered_kubelet_ {};
};

}  // namespace sk::deviceplugin
