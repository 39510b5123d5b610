#pragma once

// The meta-plugin's view of the cluster: the seams between the Multus-role
// rules (src/lib/netattach) and where the facts come from.
//
// sriovkit-netattachd implements these over the Kubernetes watch caches
// (src/lib/kube/informer.h, falling back to a GET), the kubelet PodResources
// API and its checkpoint file (src/lib/kube/podresources.h), and a pods/status
// patch; tests implement them in memory. The rules never do I/O to the API
// themselves, so every rule is testable without a server.
//
// The CNI request as the shim (`sriov-netattach`) forwards it to the daemon,
// and the answer it relays, are CniRequest and CniResponse; Handler is what
// the daemon's socket server calls for each one.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk::netattach {

// A pod as the meta-plugin needs it (metadata only).
struct Pod {
  std::string ns;
  std::string name;
  std::string uid;
  std::map<std::string, std::string> annotations;
};

class PodSource {
 public:
  virtual ~PodSource() = default;
  // NotFound when the pod does not exist; Unavailable/DeadlineExceeded when
  // the API cannot be reached.
  virtual absl::StatusOr<Pod> GetPod(const std::string& ns,
                                     const std::string& name) = 0;
};

class NadSource {
 public:
  virtual ~NadSource() = default;
  // The NetworkAttachmentDefinition object as the API serves it
  // ({"metadata":{...},"spec":{"config":"..."}}). NotFound when absent.
  virtual absl::StatusOr<nlohmann::json> GetNad(const std::string& ns,
                                                const std::string& name) = 0;
};

class DeviceSource {
 public:
  virtual ~DeviceSource() = default;
  // resource name ("intel.com/sriov_a") -> device IDs the kubelet assigned
  // to any container of `pod` (PodResources List/Get, else the kubelet
  // checkpoint). Unsorted; an empty map when the pod holds no devices.
  virtual absl::StatusOr<std::map<std::string, std::vector<std::string>>>
  PodDevices(const Pod& pod) = 0;
};

class PodStatusWriter {
 public:
  virtual ~PodStatusWriter() = default;
  // Sets the pod's k8s.v1.cni.cncf.io/network-status annotation to
  // `network_status_json` (retrying 409 Conflict). NotFound when the pod is
  // gone (callers treat that as success).
  virtual absl::Status SetNetworkStatus(
      const std::string& ns, const std::string& name,
      const std::string& network_status_json) = 0;
};

// One CNI call as the runtime made it on the shim.
struct CniRequest {
  // CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH
  // (only the CNI_* variables are forwarded).
  std::map<std::string, std::string> env;
  // The shim's stdin: its own network configuration (Multus-style keys).
  std::string stdin_data;
};

// What the shim prints and exits with: a CNI result (exit 0) or a CNI error
// object {"cniVersion","code","msg","details"} (exit 1).
struct CniResponse {
  int exit_code = 0;
  std::string stdout_data;
  // Not on the wire: the time the daemon spent running delegate plugins for
  // this call, for its own log (the shim never sees it).
  std::chrono::nanoseconds delegate_time{0};
};

// Work left to run after a call has been answered
// (Handler::HandleDeferring): it runs at Run() or, at the latest, when this
// is destroyed (its error, or exception, then lost).
class DeferredWork {
 public:
  DeferredWork() = default;
  DeferredWork(const DeferredWork&) = delete;
  DeferredWork& operator=(const DeferredWork&) = delete;
  ~DeferredWork() {
    try {
      (void)Run();
    } catch (...) {  // a destructor must not throw; Run() reports errors
    }
  }
  // Runs what was set before, then keeps `fn`.
  void Set(std::function<absl::Status()> fn) {
    (void)Run();
    fn_ = std::move(fn);
  }
  // OK when nothing was left.
  absl::Status Run() {
    if (!fn_) return absl::OkStatus();
    std::function<absl::Status()> fn = std::move(fn_);
    fn_ = nullptr;
    return fn();
  }
  bool pending() const { return static_cast<bool>(fn_); }

 private:
  std::function<absl::Status()> fn_;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Must be safe to call from several threads at once (one per connection).
  // Everything the call does is done when it returns.
  virtual CniResponse Handle(const CniRequest& request) = 0;
  // The same, except that bookkeeping the answer does not depend on (files
  // to write or remove) may be left in `later`, for the caller to run once
  // it has answered. A later call for the same container waits for it.
  virtual CniResponse HandleDeferring(const CniRequest& request,
                                      DeferredWork& later) {
    (void)later;
    return Handle(request);
  }
};

}  // namespace sk::netattach
