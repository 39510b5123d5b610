#pragma once
// The config daemon (sriovkit-node): this node's side of the SR-IOV Network
// Operator, over the Kubernetes API (lib/kube) and the node-configuration
// engine (lib/nodeconfig).
//
//   NodeDaemon d(client, os, opts);
//   SyncResult r = d.SyncFromApi();  // --once
//   d.Run();                         // until Stop()
//
// A sync (SyncPolicies), as the operator's config daemon reconciles its
// SriovNetworkNodeState (sriov-network-operator pkg/daemon/daemon.go and
// controllers/sriovnetworknodepolicy_controller.go):
//   1. the policy objects are parsed (nodeconfig::ParsePolicyObjects) and
//      validated against the node (labels from GET /api/v1/nodes/<node>) and
//      its PFs; an invalid policy applies nothing;
//   2. plan (owned PFs from the state dir, VFs in use from the CNI state dir
//      and /proc); when it changes something, syncStatus InProgress is
//      published first, then ApplyPlan without force: a PF whose change would
//      destroy or rebind a VF in use is not applied and its blockers go into
//      lastSyncError (no drain: see docs/nodeconfig.md);
//   3. the device-plugin config file is rendered and written atomically, only
//      when its bytes change (no needless inotify event for a device plugin
//      that waits on it; a loaded one is not told to reload yet);
//   4. SriovNetworkNodeState <namespace>/<node> is created when missing
//      (spec.interfaces = the merged desired PFs), then status is written with
//      a merge patch on /status: interfaces (per PF name, pciAddress, vendor,
//      deviceID, driver, mtu, mac, numVfs, totalvfs, linkType, Vfs[{name,
//      pciAddress, vfID, driver, mac, mtu, vendor, deviceID}]), syncStatus
//      Succeeded|Failed and lastSyncError.
// Run() watches SriovNetworkNodePolicies of the namespace and this node's
// labels (a field-selected Node informer) with kube::Informers, syncs once
// the policy informer has listed (the re-apply at start:
// VFs do not survive a reboot), then after every change (debounced) and every
// resync period (sooner after a failed sync).
//
// Thread safety: Run() on one thread, Stop() from any.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/drain/drain.h"
#include "lib/drain/reboot.h"
#include "lib/kube/client.h"
#include "lib/nodeconfig/apply.h"
#include "lib/nodeconfig/plan.h"
#include "lib/nodedaemon/kernel_reboot_need.h"
#include "lib/sysfs/host.h"

namespace sk::nodedaemon {

inline constexpr char kDefaultNamespace[] = "sriov-network-operator";
inline constexpr char kPolicyResource[] = "sriovnetworknodepolicies";
inline constexpr char kNodeStateResource[] = "sriovnetworknodestates";
inline constexpr char kGroupVersionPath[] =
    "/apis/sriovnetwork.openshift.io/v1";

struct DaemonOptions {
  std::string node_name;
  std::string namespace_name = kDefaultNamespace;
  std::filesystem::path device_plugin_config;  // empty: not written
  std::filesystem::path state_dir = nodeconfig::kDefaultStateDir;
  std::filesystem::path cni_state_dir = "/var/lib/cni/sriov";
  std::filesystem::path sysfs_root = "/";
  std::filesystem::path proc_root = "/";
  // A change that would destroy or rebind VFs in use: with allow_drain the
  // node is cordoned, only the pods holding those VFs are evicted (their
  // Multus network-status names the VF), the change is applied and the node
  // uncordoned; without it nothing is applied to that PF and the pods are
  // named in lastSyncError (syncStatus InProgress) until they are gone.
  bool allow_drain = false;
  // Eviction retries, backoff and wait bounds; its clock is `clock`.
  drain::DrainOptions drain;
  // Reboot orchestration (lib/drain/reboot.h): both set, or it is off.
  drain::RebootNeed* reboot_need = nullptr;
  drain::Rebooter* rebooter = nullptr;
  // Kernel arguments managed by the daemon (sriovkit-node
  // --manage-kernel-args, docs/kernel.md): each sync first tells it whether
  // a policy group on this node binds VFs to vfio-pci; it is then the
  // RebootNeed (reboot_need must be unset), and the orchestration step runs
  // *before* the VFs are configured: while a reboot is needed, under way or
  // did not take effect, no VF is configured (syncStatus InProgress, or
  // Failed naming the arguments). Needs `rebooter`.
  KernelRebootNeed* kernel = nullptr;
  // After a reboot that did not take effect: one more (sriovkit-node
  // --force).
  bool force = false;
  std::chrono::seconds reboot_slot_duration{std::chrono::minutes(30)};
  // This boot's id (tests); empty: /proc/sys/kernel/random/boot_id.
  std::function<absl::StatusOr<std::string>()> boot_id;
  // Wall time for Lease times and the configured file (tests).
  std::function<absl::Time()> wall_now = [] { return absl::Now(); };
  // Written (JSON: node, time, policies with their generation) after a
  // sync that applied everything, removed before a sync changes the node:
  // the device plugin's --wait-node-configured waits for it. Empty: not
  // written.
  std::filesystem::path configured_file;
  std::chrono::milliseconds debounce{500};
  // Sync again this long after the last one without a change (drift, VFs
  // freed), or after `retry` when it failed.
  std::chrono::milliseconds resync{std::chrono::minutes(5)};
  std::chrono::milliseconds retry{std::chrono::seconds(30)};
  std::chrono::milliseconds vf_timeout{10000};
  Clock* clock = nullptr;  // for ApplyPlan's waits; nullptr: RealClock()
  // One line per sync outcome, warning and watch error; empty: silent.
  std::function<void(std::string_view)> log;
};

struct SyncResult {
  // OK: Succeeded. Otherwise the first failure, whose message is
  // lastSyncError: InvalidArgument (a policy), Unavailable (a PF blocked by
  // VFs in use), FailedPrecondition (vfio readiness, device IDs), Internal
  // (a PF rolled back), or the API's error.
  absl::Status status;
  bool applied_changes = false;  // some PF was configured or reset
  bool config_written = false;   // the device-plugin config file changed
  bool state_published = false;  // the node state write succeeded
  // Pods evicted to free VFs in use (allow_drain), or holding them.
  std::vector<drain::PodRef> evicted;
  std::vector<drain::PodRef> blocking;
  // The reboot orchestration's step (kIdle when it is off).
  drain::RebootPhase reboot = drain::RebootPhase::kIdle;
  std::vector<std::string> warnings;
};

// status.interfaces of SriovNetworkNodeState for the SR-IOV PFs of `host`.
nlohmann::json NodeStateInterfaces(const sysfs::HostSnapshot& host);
// spec.interfaces from the merged desired PFs.
nlohmann::json NodeStateSpecInterfaces(
    const std::vector<nodeconfig::DesiredPf>& desired);

// Writes `content` to `path` atomically unless the file already holds
// exactly it; *changed tells which.
absl::Status WriteFileIfChanged(const std::filesystem::path& path,
                                std::string_view content, bool* changed);

class NodeDaemon {
 public:
  // `client` and `os` must outlive the daemon.
  NodeDaemon(kube::Client& client, nodeconfig::NodeOs& os,
             DaemonOptions options);

  // One sync from these policy objects (API JSON), published.
  SyncResult SyncPolicies(const std::vector<nlohmann::json>& policy_objects);
  // LISTs the policies, then SyncPolicies; a failed LIST is published too.
  SyncResult SyncFromApi();
  // The informer loop until Stop(). Returns OK when stopped.
  absl::Status Run();
  void Stop();
  int sync_count() const { return syncs_.load(); }

  std::string PolicyCollection() const;
  std::string NodeStatePath() const;

 private:
  absl::Status Publish(const nlohmann::json& spec_interfaces,
                       const sysfs::HostSnapshot* host,
                       const std::string& sync_status,
                       const std::string& error);
  absl::StatusOr<sysfs::HostSnapshot> Discover() const;
  // The VF-change drain's first half: annotations, cordon, evict `holders`
  // and wait for them. *cordoned: we cordoned the node (uncordon after).
  absl::Status EvictHolders(const std::vector<drain::PodRef>& holders,
                            bool* cordoned);
  absl::Status WriteConfigured(const std::vector<nlohmann::json>& policies);
  void Log(std::string_view line) const;

  kube::Client& client_;
  nodeconfig::NodeOs& os_;
  DaemonOptions opts_;
  std::atomic<int> syncs_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool dirty_ = false;
  nlohmann::json node_labels_;  // the node informer's last labels
  std::unique_ptr<drain::RebootOrchestrator> reboot_;
};

}  // namespace sk::nodedaemon
