#pragma once
// From policies to this node's desired PF state (the operator's
// SriovNetworkNodeState spec), and from desired vs live state to a plan.
//
//   std::vector<DesiredPf> want = MergePolicies(policies, node, host);
//   SK_ASSIGN_OR_RETURN(VfUsage use, FindVfsInUse(host, {cni_dir, proc}));
//   Plan plan = MakePlan(want, host, owned, use);
//   std::cout << FormatPlanText(plan);
//
// MergePolicies follows api/v1/helper.go (SriovNetworkNodePolicy.Apply and
// Interface.mergeConfigs) and the controller's ordering
// (syncSriovNetworkNodeState): policies selecting the node sorted by
// priority number descending then name, each applied in turn to every PF
// its nicSelector matches (numVfs 0 skipped). A policy gives the PF one VF
// group, "#a-b" from pfNames or 0..numVfs-1. When the PF already has an
// entry, the old groups of other resources whose ranges do not overlap the
// new one are kept; when any was kept or both policies have the same
// priority, mtu and numVfs become the larger of the two, otherwise the newer
// (higher priority) policy's PF settings replace the old ones.
//
// MakePlan, per PF:
//   - desired by some policy: numVfs changed => VFs are destroyed and
//     recreated (0 then N, as the kernel requires); MTU raised when the
//     policy's is larger than the PF's (never lowered); each VF of a group
//     bound to vfio-pci (vfio groups) or to its default kernel driver
//     (netdevice groups, when unbound or on a userspace driver). VFs outside
//     every group are left alone. Externally managed PFs never get numVfs or
//     MTU changes.
//   - desired by none, and sriovkit configured it (`owned`): reset to 0
//     VFs and the MTU it had before sriovkit; otherwise untouched.
//   - a VF in use (VfUsage) that would be destroyed or rebound marks the PF
//     blocked; applying a blocked PF needs force.
//
// Pure apart from FindVfsInUse, which reads the CNI state directory (the
// sriov-cni format of lib/cni/state.h) and <proc>/proc/*/fd.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/nodeconfig/policy.h"
#include "lib/sysfs/host.h"

namespace sk::nodeconfig {

struct VfGroup {
  std::string resource_name;
  VfDeviceType device_type = VfDeviceType::kNetdevice;
  int start = 0;  // VF index range, inclusive
  int end = 0;
  std::string policy_name;
  int mtu = 0;
  bool is_rdma = false;
  std::string vdpa_type;
  std::string Range() const;  // "a-b"
};

// One entry of SriovNetworkNodeState spec.interfaces.
struct DesiredPf {
  std::string pci_address;
  std::string name;  // PF netdev ("" when it has none)
  int num_vfs = 0;
  int mtu = 0;  // 0 = not set
  std::string link_type;
  std::string eswitch_mode;
  bool externally_managed = false;
  std::vector<VfGroup> vf_groups;
};

std::vector<DesiredPf> MergePolicies(const std::vector<Policy>& policies,
                                     const NodeInfo& node,
                                     const sysfs::HostSnapshot& host);

// What sriovkit recorded when it configured a PF (apply.h keeps these).
struct OwnedPf {
  std::string pci_address;
  std::string name;
  int original_num_vfs = 0;
  int original_mtu = 0;      // 0 = unknown
  int num_vfs = 0;           // as applied
  int mtu = 0;               // as applied (0 = left alone)
  bool link_up_set = false;  // sriovkit brought the PF link up
};

// VF address -> why it is in use, e.g.
//   "CNI allocation (netns /var/run/netns/x)"
//   "/dev/vfio/12 held open by pid 4242 (qemu-kvm)"
using VfUsage = std::map<std::string, std::string>;

struct UsageSources {
  std::filesystem::path cni_state_dir;   // empty: not consulted
  std::filesystem::path proc_root;       // <proc_root>/proc; empty: skipped
  std::filesystem::path dev_root = "/";  // only for the /dev/vfio prefix
};

// Scans the sources for VFs of `host` in use. Unreadable processes (gone,
// or not ours) are skipped; a missing CNI state directory means none.
absl::StatusOr<VfUsage> FindVfsInUse(const sysfs::HostSnapshot& host,
                                     const UsageSources& src);

inline constexpr char kDefaultDriver[] = "default";

struct VfPlan {
  int index = 0;
  std::string pci_address;     // "" for a VF that does not exist yet
  std::string current_driver;  // "" unbound or not yet created
  std::string desired_driver;  // "vfio-pci", kDefaultDriver, or "" (leave)
  bool rebind = false;
  // Netdevice groups with an mtu: the VF netdev's MTU is set to it, as the
  // operator does for kernel-driver VFs (0 = leave alone).
  int desired_mtu = 0;
  bool mtu_change = false;
  std::string in_use;  // non-empty: why
};

enum class PfAction { kNone, kConfigure, kReset };
const char* PfActionName(PfAction a);  // "none", "configure", "reset"

struct PfPlan {
  std::string pci_address;
  std::string name;
  PfAction action = PfAction::kNone;
  bool externally_managed = false;
  int total_vfs = 0;
  int current_num_vfs = 0;
  int desired_num_vfs = 0;
  int current_mtu = 0;        // 0 = unknown
  int desired_mtu = 0;        // 0 = leave alone
  bool recreate_vfs = false;  // write 0 then desired_num_vfs
  std::vector<VfPlan> vfs;    // after the change, by index
  std::vector<VfGroup> groups;
  std::vector<std::string> blockers;  // in-use VFs the change disturbs
  int original_num_vfs = 0;           // for the state record
  int original_mtu = 0;
  // The record says sriovkit brought the link up: kept on configure, and
  // a reset sets the link down again.
  bool link_up_set = false;
  bool needs_vfio() const;
  bool blocked() const { return !blockers.empty(); }
};

struct Plan {
  std::vector<PfPlan> pfs;  // every PF that is desired or owned
  bool needs_vfio = false;
  bool changes() const;
};

Plan MakePlan(const std::vector<DesiredPf>& desired,
              const sysfs::HostSnapshot& host,
              const std::map<std::string, OwnedPf>& owned,
              const VfUsage& usage);

// A table, one block per PF, e.g.
//   PF 0000:01:00.0 ens1f0  configure  numVfs 0 -> 4 (of 7)  mtu 1500 -> 9000
//     VF 0 0000:01:10.0  igbvf -> vfio-pci
std::string FormatPlanText(const Plan& plan);
// {"pfs":[{"pciAddress","name","action","externallyManaged","totalVfs",
//   "numVfs":{"current","desired"},"mtu":{"current","desired"},
//   "recreateVfs","blocked","blockers":[..],"vfGroups":[..],
//   "vfs":[{"index","pciAddress","driver":{"current","desired"},"rebind",
//   "inUse"}]}],"changes":bool}
std::string FormatPlanJson(const Plan& plan);

}  // namespace sk::nodeconfig
