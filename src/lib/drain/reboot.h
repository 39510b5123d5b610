#pragma once
// Reboot orchestration: a node whose kernel side needs a reboot (kernel
// arguments, see RebootNeed) takes its turn under a cluster-wide budget,
// drains, reboots once, and after the boot checks that the reboot did what
// it was for. docs/drain.md describes the protocol.
//
//   RebootOrchestrator o(client, need, rebooter, opts);
//   SK_ASSIGN_OR_RETURN(RebootStep s, o.Step());  // every sync
//
// Step() is one pass of a state machine whose state lives in the API (node
// annotations, Lease slots) and in a marker file in the state dir that
// survives the reboot:
//   no reboot needed, no marker      -> kIdle
//   needed: node annotated desired-state Reboot_Required; the budget is
//     SriovNetworkPoolConfig.spec.maxUnavailable (int or "N%" of the nodes
//     its nodeSelector matches; a node in no pool: 1) as Lease slots
//     "sriovkit-drain-<pool>-<i>" (kube::LeaseSlots)
//       no free slot                 -> kWaitingForSlot
//       slot: current-state Draining, cordon, full drain (eviction API) ...
//       drain refused/timed out      -> kDrainFailed (slot and cordon kept,
//                                       retried on the next Step)
//       drained: current-state DrainComplete, marker "rebooting" with the
//       boot id, Rebooter::Reboot    -> kRebooting
//   marker "rebooting", same boot id -> kRebooting (the reboot is under way)
//   marker "rebooting", new boot:
//       RebootNeed satisfied         -> slot released, uncordoned (unless an
//                                       admin had cordoned it), annotations
//                                       Idle, marker removed: kBooted
//       still needed                 -> marker "failed", slot released,
//                                       uncordoned, annotations Idle:
//                                       kFailed naming the reason; never
//                                       rebooted again for it (no loop,
//                                       sriov-network-operator#359) unless
//                                       `force` (one more reboot)
//   marker "failed": kFailed until the need is gone (marker removed) or
//     `force` retries once.
//
// Not thread-safe: call Step() from the daemon's sync thread.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

#include "lib/base/clock.h"
#include "lib/drain/drain.h"
#include "lib/kube/client.h"
#include "lib/kube/lease.h"

namespace sk::drain {

// Whether the kernel side needs a reboot, and why (e.g. "kernel argument
// intel_iommu=on is not on the running kernel's command line"). The
// kernel-argument planner (lib/nodeconfig/kargs) implements it; after a
// boot the same check tells whether the arguments took effect.
struct RebootNeedStatus {
  bool needed = false;
  std::string reason;
};

class RebootNeed {
 public:
  virtual ~RebootNeed() = default;
  virtual absl::StatusOr<RebootNeedStatus> Check() = 0;
};

// Reboots the host. The real one returns once the reboot is requested (the
// process is killed soon after).
class Rebooter {
 public:
  virtual ~Rebooter() = default;
  virtual absl::Status Reboot(std::string_view reason) = 0;
};

// `systemctl reboot` (through the host's init system).
std::unique_ptr<Rebooter> NewSystemctlRebooter();

// This boot's id (/proc/sys/kernel/random/boot_id under `proc_root`).
absl::StatusOr<std::string> ReadBootId(const std::filesystem::path& proc_root);

// --- the budget ---

// A label selector (matchLabels, matchExpressions In/NotIn/Exists/
// DoesNotExist) against `labels`; an empty or null selector matches all
// nodes. A malformed selector is InvalidArgument of sk::FieldReader's shape
// ("nodeSelector: matchExpressions[0].key: expected a string, got nothing").
absl::StatusOr<bool> SelectorMatches(
    const nlohmann::json& selector,
    const std::map<std::string, std::string>& labels);

// maxUnavailable (an integer or "N%", rounded up) of `nodes` nodes. A
// missing value is 1. Errors name the value ("maxUnavailable: $: expected an
// integer in 0..1000000 or a percentage (\"25%\"), got \"25\"").
absl::StatusOr<int> ScaledMaxUnavailable(const nlohmann::json& value,
                                         int nodes);

struct PoolBudget {
  std::string pool;  // "" for nodes in no pool
  int max_unavailable = 1;
  int nodes = 0;  // nodes in the pool
  // Lease slot prefix: "sriovkit-drain-<pool>" or "sriovkit-drain-default".
  std::string slot_prefix;
};

// The SriovNetworkPoolConfig (API objects) whose spec.nodeSelector matches
// node `node_name` among `nodes` (Node objects), and its budget. A node in
// more than one pool is FailedPrecondition naming the pools.
absl::StatusOr<PoolBudget> ResolveBudget(
    const std::vector<nlohmann::json>& pools,
    const std::vector<nlohmann::json>& nodes, const std::string& node_name);

// --- the orchestrator ---

enum class RebootPhase {
  kIdle,
  kWaitingForSlot,
  kDrainFailed,
  kRebooting,
  kBooted,
  kFailed,
};
const char* RebootPhaseName(RebootPhase p);

struct RebootStep {
  RebootPhase phase = RebootPhase::kIdle;
  std::string message;  // for lastSyncError and the log
};

struct RebootOptions {
  std::string node_name;
  // Where SriovNetworkPoolConfigs live; the slot Leases are created there.
  std::string namespace_name;
  // The marker file "reboot-state.json" lives here.
  std::filesystem::path state_dir;
  std::filesystem::path proc_root = "/";
  // One more reboot after a reboot that did not take effect.
  bool force = false;
  // A slot whose holder stopped renewing it is taken over after this long;
  // longer than any reboot, since a rebooting node cannot renew.
  std::chrono::seconds slot_duration{std::chrono::minutes(30)};
  Clock* clock = &RealClock();
  std::function<absl::Time()> wall_now = [] { return absl::Now(); };
  // This boot's id; default ReadBootId(proc_root).
  std::function<absl::StatusOr<std::string>()> boot_id;
  DrainOptions drain;
  std::function<void(std::string_view)> log;
};

class RebootOrchestrator {
 public:
  // All references must outlive the orchestrator.
  RebootOrchestrator(kube::Client& client, RebootNeed& need, Rebooter& rebooter,
                     RebootOptions options);

  absl::StatusOr<RebootStep> Step();

  std::filesystem::path MarkerPath() const;

 private:
  struct Marker {
    std::string phase;  // "draining", "rebooting", "failed"
    std::string reason;
    std::string boot_id;
    std::string slot_prefix;
    int slot_index = -1;
    int attempts = 0;
    bool cordoned = false;  // we cordoned the node (it was schedulable)
  };
  absl::StatusOr<std::optional<Marker>> LoadMarker() const;
  absl::Status SaveMarker(const Marker& m) const;
  absl::Status RemoveMarker() const;
  absl::StatusOr<RebootStep> Cycle(const RebootNeedStatus& need, Marker m);
  // The Lease of the slot `m` names (nullptr when none).
  absl::StatusOr<kube::LeaseLock*> SlotLock(const Marker& m);
  absl::Status ReleaseSlot(const Marker& m);
  // Releases the slot, uncordons when we cordoned, annotations Idle.
  absl::Status Finish(const Marker& m);
  kube::LeaseSlots& Slots(const std::string& prefix);
  void Log(std::string_view line) const;

  kube::Client& client_;
  RebootNeed& need_;
  Rebooter& rebooter_;
  RebootOptions opts_;
  Drainer drainer_;
  std::string slots_prefix_;
  std::unique_ptr<kube::LeaseSlots> slots_;
  std::unique_ptr<kube::LeaseLock> slot_lock_;
};

}  // namespace sk::drain
