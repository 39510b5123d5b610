#pragma once
// PodResourcesClient: the kubelet PodResources v1 API (gRPC
// v1.PodResourcesLister over a unix socket) as the meta-plugin needs it:
// which device IDs of which extended resource each container of a pod holds.
//
//   SK_ASSIGN_OR_RETURN(auto client, PodResourcesClient::Create({}));
//   SK_ASSIGN_OR_RETURN(PodResources pod, client->Get("default", "vm-a"));
//   for (const auto& c : pod.containers) ... c.devices["intel.com/sriov_a"]
//
// Errors name the RPC and the socket, with the gRPC code spelled out:
//   "PodResources List on /var/lib/kubelet/pod-resources/kubelet.sock:
//    unavailable: ..."
// Codes:
// - Unavailable: no socket at the path (returned at once, without dialing),
//   nothing listening, or the connection failed; retryable.
// - DeadlineExceeded: the dial or the call took longer than its timeout.
// - NotFound: Get for a pod the kubelet does not know.
// - other codes as the kubelet returned them.
//
// Get uses the Get RPC (Kubernetes 1.27+, feature gate
// KubeletPodResourcesGet); when the kubelet answers UNIMPLEMENTED it lists
// all pods instead and keeps doing so for the life of the client.
//
// Thread safety: all methods are thread-safe.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace grpc {
class Status;
}  // namespace grpc

namespace sk::podresources {

inline constexpr char kDefaultSocket[] =
    "/var/lib/kubelet/pod-resources/kubelet.sock";
// As Multus (multus-cni pkg/kubeletclient/kubeletclient.go) and kubelet's
// node e2e tests (kubernetes test/e2e_node/util.go): replies up to 16 MiB,
// since a List on a busy node can be large.
inline constexpr int kMaxReceiveBytes = 16 << 20;

// The devices of one container: resource name -> device IDs, in the order
// the kubelet reported them. A resource the kubelet split over several
// entries (one per NUMA node) is merged into one list.
struct ContainerResources {
  std::string name;
  std::map<std::string, std::vector<std::string>> devices;
};

struct PodResources {
  std::string ns;
  std::string name;
  std::vector<ContainerResources> containers;

  // resource name -> device IDs over all containers, in container order.
  std::map<std::string, std::vector<std::string>> AllDevices() const;
};

struct ClientOptions {
  std::string socket_path = kDefaultSocket;
  // Bound on establishing the connection (per call, when not connected).
  absl::Duration dial_timeout = absl::Seconds(10);
  // Bound on each RPC once connected.
  absl::Duration call_timeout = absl::Seconds(10);
  int max_receive_bytes = kMaxReceiveBytes;
};

class PodResourcesClient {
 public:
  // Does no I/O (the connection is made on the first call), so it only
  // fails for a bad option: InvalidArgument for an empty socket path or a
  // non-positive timeout.
  static absl::StatusOr<std::unique_ptr<PodResourcesClient>> Create(
      ClientOptions options);
  ~PodResourcesClient();

  // Every pod the kubelet tracks, with the resources of its containers.
  absl::StatusOr<std::vector<PodResources>> List() ABSL_LOCKS_EXCLUDED(mu_);
  // One pod, by the Get RPC or (see above) by List. NotFound when absent.
  absl::StatusOr<PodResources> Get(const std::string& ns,
                                   const std::string& name)
      ABSL_LOCKS_EXCLUDED(mu_);

  // True once the kubelet answered Get with UNIMPLEMENTED.
  bool get_unimplemented() const { return get_unimplemented_.load(); }
  const ClientOptions& options() const { return options_; }

 private:
  struct Channel;
  explicit PodResourcesClient(ClientOptions options);
  // A connected channel, dialing first when needed.
  absl::StatusOr<std::shared_ptr<Channel>> Connected(const char* rpc)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Forget(const std::shared_ptr<Channel>& ch) ABSL_LOCKS_EXCLUDED(mu_);
  void DropChannel() ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `call` on a connected channel; an UNAVAILABLE answer from a channel
  // that has served before is retried once on a fresh one.
  absl::Status Call(const char* rpc,
                    const std::function<grpc::Status(Channel&)>& call)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<PodResources> GetByList(const std::string& ns,
                                         const std::string& name);

  const ClientOptions options_;
  std::atomic<bool> get_unimplemented_{false};
  absl::Mutex mu_;
  std::shared_ptr<Channel> channel_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sk::podresources
