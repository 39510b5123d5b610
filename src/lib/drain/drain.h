#pragma once
// Draining a node over the Kubernetes API: cordon, evict (the eviction API,
// so PodDisruptionBudgets are respected and KubeVirt turns a virt-launcher
// eviction into a live migration), wait for the pods to be gone, uncordon.
//
//   Drainer d(client, "worker-0", {.clock = &clock});
//   SK_ASSIGN_OR_RETURN(std::vector<nlohmann::json> pods, d.PodsOnNode());
//   std::vector<PodRef> holders = PodsHoldingVfs(pods, {"0000:01:10.1"});
//   SK_ASSIGN_OR_RETURN(bool was_cordoned, d.Cordon());
//   SK_RETURN_IF_ERROR(d.EvictAndWait(holders));
//   if (!was_cordoned) SK_RETURN_IF_ERROR(d.Uncordon());
//
// Two kinds of drain (docs/drain.md):
//   - a VF change evicts only the pods holding the affected VFs
//     (PodsHoldingVfs), never the whole node (sriov-network-operator drains
//     every pod requesting an SR-IOV resource, pkg/drain/drainer.go);
//   - a reboot evicts every pod but DaemonSet-owned, mirror (static) and
//     finished ones (PodsForFullDrain), as `kubectl drain
//     --ignore-daemonsets --delete-emptydir-data` does.
// The node annotations of the operator's drain protocol
// (sriov-network-operator pkg/consts/constants.go) are written with
// SetDrainAnnotations so tools that watch them keep working.

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/base/clock.h"
#include "lib/kube/client.h"

namespace sk::drain {

// Node annotations (values below), as the operator's config daemon and drain
// controller write them.
inline constexpr char kDesiredStateAnnotation[] =
    "sriovnetwork.openshift.io/desired-state";
inline constexpr char kCurrentStateAnnotation[] =
    "sriovnetwork.openshift.io/current-state";
inline constexpr char kDrainIdle[] = "Idle";
inline constexpr char kDrainRequired[] = "Drain_Required";
inline constexpr char kRebootRequired[] = "Reboot_Required";
inline constexpr char kDraining[] = "Draining";
inline constexpr char kDrainComplete[] = "DrainComplete";

struct PodRef {
  std::string ns;
  std::string name;
  std::string ToString() const { return ns + "/" + name; }
  bool operator<(const PodRef& o) const {
    return ns != o.ns ? ns < o.ns : name < o.name;
  }
  bool operator==(const PodRef& o) const {
    return ns == o.ns && name == o.name;
  }
};

// "ns/a, ns/b".
std::string JoinPods(const std::vector<PodRef>& pods);

// Pods (API objects) whose Multus network-status annotation
// (k8s.v1.cni.cncf.io/network-status, device-info pci-address) names one of
// `vf_bdfs`. Each matched BDF is removed from *unmatched (when given), so
// the caller learns which VFs in use no pod claims.
std::vector<PodRef> PodsHoldingVfs(const std::vector<nlohmann::json>& pods,
                                   const std::set<std::string>& vf_bdfs,
                                   std::set<std::string>* unmatched = nullptr);

// Pods a full drain evicts: all but DaemonSet-owned pods, mirror pods
// (annotation kubernetes.io/config.mirror) and pods that have finished
// (status.phase Succeeded or Failed).
std::vector<PodRef> PodsForFullDrain(const std::vector<nlohmann::json>& pods);

struct DrainOptions {
  Clock* clock = &RealClock();
  // Eviction attempts per pod while a PodDisruptionBudget refuses (429),
  // sleeping `backoff` (doubling) in between.
  int evict_attempts = 5;
  Backoff backoff{std::chrono::seconds(2), std::chrono::seconds(30)};
  // How long evicted pods may take to be gone (graceful termination, live
  // migration).
  std::chrono::seconds wait_gone{90};
  // One line per eviction outcome; empty: silent.
  std::function<void(std::string_view)> log;
};

class Drainer {
 public:
  // `client` must outlive the drainer.
  Drainer(kube::Client& client, std::string node_name, DrainOptions options);

  // Pods bound to the node (LIST with fieldSelector spec.nodeName).
  absl::StatusOr<std::vector<nlohmann::json>> PodsOnNode();
  // Marks the node unschedulable; returns whether it already was (then an
  // admin cordoned it and it must stay cordoned afterwards).
  absl::StatusOr<bool> Cordon();
  absl::Status Uncordon();
  // Sets the operator's drain annotations on the node ("" leaves one as is).
  absl::Status SetDrainAnnotations(const std::string& desired,
                                   const std::string& current);

  // POSTs a policy/v1 Eviction for each pod; a 429 (PodDisruptionBudget) is
  // retried up to evict_attempts times with backoff, a 404 means already
  // gone. Then waits (bounded by wait_gone) until every evicted pod is gone
  // (404, or a new pod with the same name: another uid). The error names
  // every pod that could not be evicted (and why) or is still there.
  absl::Status EvictAndWait(const std::vector<PodRef>& pods);

  const std::string& node_name() const { return node_; }

 private:
  absl::Status Evict(const PodRef& pod);
  void Log(std::string_view line) const;

  kube::Client& client_;
  std::string node_;
  DrainOptions opts_;
};

}  // namespace sk::drain
