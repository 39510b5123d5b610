#pragma once
// Executing a Plan (plan.h) on the node, the way the operator's config
// daemon does it (pkg/host/internal/sriov/sriov.go configSriovDevice and
// pkg/host/internal/lib/... in k8snetworkplumbingwg/sriov-network-operator),
// through a small OS seam so tests run it against a fake kernel
// (tests/testing/fake_node_kernel.h).
//
//   SysfsNodeOs os(fs);
//   SK_ASSIGN_OR_RETURN(auto owned, LoadOwnedPfs(state_dir));
//   Plan plan = MakePlan(desired, host, owned, usage);
//   SK_RETURN_IF_ERROR(CheckVfioReadiness(plan, roots));
//   SK_ASSIGN_OR_RETURN(ApplyResult r, ApplyPlan(plan, fs, os, opts));
//
// Per PF with action "configure", in order:
//   1. a PF whose change disturbs a VF in use is skipped unless `force`;
//   2. PF MTU raised (sys/class/net/<pf>/mtu; never lowered);
//   3. numVfs: "0" then N to sriov_numvfs, then wait (bounded, on the clock)
//      for virtfn0..N-1;
//   4. each VF of a vfio-pci group not on vfio-pci: while it still has its
//      kernel driver, its netdev's MAC becomes its administrative MAC on the
//      PF (RTM_SETLINK IFLA_VF_MAC) when the PF reports 00:00:00:00:00:00
//      for it, so the guest sees the same MAC after every rebind (the
//      operator's SetVfAdminMac, pkg/host/internal/network/network.go);
//      then driver_override "vfio-pci", unbind, drivers/vfio-pci/bind,
//      driver_override cleared;
//      each VF of a netdevice group unbound or on a userspace driver:
//      driver_override cleared, unbind, drivers_probe; then the group's mtu
//      on the VF netdev (sys/class/net/<vf>/mtu);
//   5. PF link up (RTM_SETLINK IFF_UP) when it is down after the steps
//      above; that sriovkit did so is kept in the record;
//   6. the PF's record written under <state_dir>/pfs/<bdf>.json (atomic;
//      no symlink under the state dir is followed).
// An error rolls that PF back (numVfs and MTU to what they were) and the
// other PFs go on (a link sriovkit brought up goes down again). "reset" PFs
// get 0 VFs, their original MTU and, when sriovkit brought the link up,
// link down back, and lose their record. Externally managed PFs are never
// recorded (so never reset).
//
// Steps 4 (admin MAC) and 5 (link up) need rtnetlink: a NodeOs without it
// (the default methods, e.g. against a fixture sysfs root) answers
// Unimplemented and apply skips them, noting "skipped" in the steps.
//
// Not done yet (the operator does it): switchdev.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/base/clock.h"
#include "lib/net/link_ops.h"
#include "lib/nodeconfig/plan.h"
#include "lib/sysfs/sysfs.h"

namespace sk::nodeconfig {

inline constexpr char kDefaultStateDir[] = "/var/lib/sriovkit";

// The kernel as apply sees it: sysfs writes (paths relative to the sysfs
// root), module loading and the PF's rtnetlink side.
class NodeOs {
 public:
  virtual ~NodeOs() = default;
  virtual absl::Status Write(std::string_view rel, std::string_view value) = 0;
  // Makes sys/bus/pci/drivers/<driver> appear (modprobe).
  virtual absl::Status LoadModule(std::string_view module) = 0;
  // The PF link with its VF list (RTM_GETLINK, RTEXT_FILTER_VF). NotFound
  // when there is no such link. Default: Unimplemented (no rtnetlink).
  virtual absl::StatusOr<net::LinkInfo> GetPfLink(std::string_view pf);
  // RTM_SETLINK on the PF: IFLA_VF_MAC of VF `vf`. Default: Unimplemented.
  virtual absl::Status SetVfAdminMac(const net::LinkRef& pf, uint32_t vf,
                                     const net::MacAddress& mac);
  // RTM_SETLINK on the PF: IFF_UP on or off. Default: Unimplemented.
  virtual absl::Status SetLinkUp(const net::LinkRef& pf, bool up);
};

// The real one: Sysfs::WriteAttribute; LoadModule runs `modprobe <module>`
// only when the root is "/", otherwise FailedPrecondition. The link methods
// go through `links` (not owned; must outlive this), or are Unimplemented
// when it is null.
class SysfsNodeOs : public NodeOs {
 public:
  explicit SysfsNodeOs(const sysfs::Sysfs& fs, net::LinkOps* links = nullptr)
      : fs_(fs), links_(links) {}
  absl::Status Write(std::string_view rel, std::string_view value) override;
  absl::Status LoadModule(std::string_view module) override;
  absl::StatusOr<net::LinkInfo> GetPfLink(std::string_view pf) override;
  absl::Status SetVfAdminMac(const net::LinkRef& pf, uint32_t vf,
                             const net::MacAddress& mac) override;
  absl::Status SetLinkUp(const net::LinkRef& pf, bool up) override;

 private:
  const sysfs::Sysfs& fs_;
  net::LinkOps* links_;
};

// What sriovctl apply and sriovkit-node use: a SysfsNodeOs over `fs`
// (which must outlive it) and, when `fs` is the host root, its own
// rtnetlink socket in the caller's network namespace for the link steps.
// Returns the socket's open error (e.g. PermissionDenied) as is.
absl::StatusOr<std::unique_ptr<NodeOs>> MakeHostNodeOs(const sysfs::Sysfs& fs);

struct ApplyOptions {
  bool force = false;
  std::filesystem::path state_dir = kDefaultStateDir;
  Clock* clock = nullptr;  // nullptr: RealClock()
  std::chrono::milliseconds vf_timeout{10000};
};

enum class PfOutcome { kUnchanged, kApplied, kReset, kBlocked, kRolledBack };
const char* PfOutcomeName(PfOutcome o);  // "unchanged", "applied", "reset",
                                         // "blocked", "rolled-back"

struct PfResult {
  std::string pci_address;
  std::string name;
  PfOutcome outcome = PfOutcome::kUnchanged;
  std::string error;               // rolled-back / blocked: why
  std::vector<std::string> steps;  // what was written, in order
  // Writing the VF count to sriov_numvfs failed with ENOMEM (errno mapped to
  // ResourceExhausted): the kernel found no room for the VF BARs, which
  // pci=realloc on the kernel command line may fix (docs/kernel.md).
  bool vf_enomem = false;
};

struct ApplyResult {
  std::vector<PfResult> pfs;
  bool ok() const;  // no PF blocked or rolled back
};

absl::StatusOr<ApplyResult> ApplyPlan(const Plan& plan, const sysfs::Sysfs& fs,
                                      NodeOs& os, const ApplyOptions& opts);

// The records under <state_dir>/pfs/ (none when the directory is missing).
absl::StatusOr<std::map<std::string, OwnedPf>> LoadOwnedPfs(
    const std::filesystem::path& state_dir);

// When the plan binds VFs to vfio-pci: OK if the IOMMU is active (or vfio
// runs in enable_unsafe_noiommu_mode, with a warning), else
// FailedPrecondition with the exact kernel arguments to add, from the
// doctor's checks (lib/doctor/doctor.h), e.g.
//   "VFs for vfio-pci need the IOMMU, which is off: add intel_iommu=on
//    iommu=pt to the kernel command line and reboot"
absl::Status CheckVfioReadiness(const Plan& plan,
                                const std::filesystem::path& sysfs_root,
                                const std::filesystem::path& proc_root,
                                std::vector<std::string>* warnings);

std::string FormatApplyText(const ApplyResult& r);
std::string FormatApplyJson(const ApplyResult& r);

}  // namespace sk::nodeconfig
