#pragma once
// The SriovNetwork controller behind `sriovkit-node --controller`: every
// SriovNetwork (sriovnetwork.openshift.io/v1) of one namespace becomes a
// NetworkAttachmentDefinition, rendered exactly as the operator renders it
// (nodeconfig::RenderNad), in spec.networkNamespace (default: the
// SriovNetwork's namespace), and is kept in sync, as the operator's
// controllers/sriovnetwork_controller.go and generic_network_controller.go
// do.
//
//   NadController c(client, {.namespace_name = "sriov-network-operator"});
//   NadReconcileResult r = c.ReconcileFromApi();  // one pass
//   c.Run();                                       // until Stop()
//
// Ownership. A NAD is ours when its annotation
// "sriovnetwork.openshift.io/owner-ref" is
// "SriovNetwork.sriovnetwork.openshift.io/<namespace>/<name>" (the
// operator's consts.OwnerRefAnnotation and value) with <namespace> ours.
// A pass (Reconcile):
//   - creates a missing NAD (POST to its namespace);
//   - updates one of ours whose spec.config, resourceName annotation or
//     owner-ref differs from the rendering (GET + PUT with its
//     resourceVersion); an equal one is not written (no churn);
//   - leaves a NAD of the same name that is not ours untouched and reports
//     it (the operator does not overwrite a NAD with another owner-ref, and
//     unlike its migration path we do not adopt one without the
//     annotation);
//   - deletes NADs of ours whose SriovNetwork is gone or now targets
//     another namespace or name; never one it does not own;
//   - reports an invalid SriovNetwork (error naming it, the field and the
//     value) and goes on with the others; the NAD rendered from its last
//     valid version is kept, not deleted.
// Deviation: no ownerReference/finalizer on the NAD (cleanup is by the
// owner-ref annotation, on the next pass after a SriovNetwork is deleted,
// also when the controller was down at the time).
//
// Run(): a kube::Informer on the SriovNetworks; a pass after the first
// LIST, after every change (debounced) and every resync period (which also
// repairs NADs someone else changed or deleted). With `leading` set, passes
// run only while it returns true, and every write re-checks it, so a
// replica that lost its Lease stops writing at once (leader_election.h).
//
// Thread safety: Run() on one thread; Stop() and Kick() from any.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

#include "lib/kube/client.h"
#include "lib/kube/leader_election.h"
#include "lib/nodeconfig/render.h"
#include "lib/nodedaemon/daemon.h"

namespace sk::nodedaemon {

inline constexpr char kSriovNetworkResource[] = "sriovnetworks";
inline constexpr char kNadGroupVersionPath[] = "/apis/k8s.cni.cncf.io/v1";
inline constexpr char kNadResource[] = "network-attachment-definitions";
inline constexpr char kOwnerRefAnnotation[] =
    "sriovnetwork.openshift.io/owner-ref";
inline constexpr char kOwnerRefKindPrefix[] =
    "SriovNetwork.sriovnetwork.openshift.io/";

struct NadControllerOptions {
  std::string namespace_name = kDefaultNamespace;
  nodeconfig::NadOptions nad;
  std::chrono::milliseconds debounce{200};
  std::chrono::milliseconds resync{std::chrono::minutes(5)};
  // Empty: always leading (a single replica).
  std::function<bool()> leading;
  // One line per pass outcome, invalid network and watch error.
  std::function<void(std::string_view)> log;
};

struct NadReconcileResult {
  // OK, or the first API error of the pass (the pass goes on with the
  // other networks); Aborted when leadership was lost during the pass.
  absl::Status status;
  std::vector<std::string> created;  // "namespace/name" of NADs
  std::vector<std::string> updated;
  std::vector<std::string> deleted;
  int unchanged = 0;
  // Per SriovNetwork problems: invalid, a foreign NAD in the way, a write
  // that failed. Each names the SriovNetwork.
  std::vector<std::string> errors;
};

class NadController {
 public:
  // `client` must outlive the controller.
  NadController(kube::Client& client, NadControllerOptions options);

  // One pass over these SriovNetwork objects (API JSON): LISTs the NADs of
  // every namespace and creates, updates and deletes as described above.
  NadReconcileResult Reconcile(const std::vector<nlohmann::json>& networks);
  // LISTs the SriovNetworks of the namespace, then Reconcile.
  NadReconcileResult ReconcileFromApi();
  // The informer loop until Stop(). Returns OK when stopped.
  absl::Status Run();
  void Stop();
  // Asks Run() for a pass now (e.g. when leadership was just gained).
  void Kick();
  int pass_count() const { return passes_.load(); }

  std::string NetworkCollection() const;

 private:
  bool Leading() const { return !opts_.leading || opts_.leading(); }
  void Log(std::string_view line) const;

  kube::Client& client_;
  NadControllerOptions opts_;
  std::atomic<int> passes_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool dirty_ = false;
};

// `sriovkit-node --controller`: a LeaderElector (kube/leader_election.h)
// on the Lease <namespace>/kNadControllerLease and a NadController that
// writes only while it leads; gaining leadership starts a pass at once.
// Run() until Stop() (which releases a held Lease).
inline constexpr char kNadControllerLease[] = "sriovkit-nad-controller";

class ElectedNadController {
 public:
  // `election.lease.ns` and `.name` default to the controller's namespace
  // and kNadControllerLease when empty.
  ElectedNadController(kube::Client& client, NadControllerOptions options,
                       kube::LeaderElectionOptions election);
  absl::Status Run();
  void Stop();
  bool IsLeader() const { return elector_.IsLeader(); }

 private:
  static kube::LeaderElectionOptions Defaults(kube::LeaderElectionOptions e,
                                              const NadControllerOptions& o);

  kube::LeaderElector elector_;
  NadController controller_;
};

}  // namespace sk::nodedaemon
