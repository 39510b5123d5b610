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
//   4. each VF of a vfio-pci group not on vfio-pci: driver_override
//      "vfio-pci", unbind, drivers/vfio-pci/bind, driver_override cleared;
//      each VF of a netdevice group unbound or on a userspace driver:
//      driver_override cleared, unbind, drivers_probe; then the group's mtu
//      on the VF netdev (sys/class/net/<vf>/mtu);
//   5. the PF's record written under <state_dir>/pfs/<bdf>.json (atomic;
//      no symlink under the state dir is followed).
// An error rolls that PF back (numVfs and MTU to what they were) and the
// other PFs go on. "reset" PFs get 0 VFs and their original MTU back and
// lose their record. Externally managed PFs are never recorded (so never
// reset).
//
// Not done yet (the operator does them): VF admin MAC from the VF netdev
// before vfio binding, PF link up, switchdev.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/base/clock.h"
#include "lib/nodeconfig/plan.h"
#include "lib/sysfs/sysfs.h"

namespace sk::nodeconfig {

inline constexpr char kDefaultStateDir[] = "/var/lib/sriovkit";

// The kernel as apply sees it: sysfs writes (paths relative to the sysfs
// root) and module loading.
class NodeOs {
 public:
  virtual ~NodeOs() = default;
  virtual absl::Status Write(std::string_view rel, std::string_view value) = 0;
  // Makes sys/bus/pci/drivers/<driver> appear (modprobe).
  virtual absl::Status LoadModule(std::string_view module) = 0;
};

// The real one: Sysfs::WriteAttribute; LoadModule runs `modprobe <module>`
// only when the root is "/", otherwise FailedPrecondition.
class SysfsNodeOs : public NodeOs {
 public:
  explicit SysfsNodeOs(const sysfs::Sysfs& fs) : fs_(fs) {}
  absl::Status Write(std::string_view rel, std::string_view value) override;
  absl::Status LoadModule(std::string_view module) override;

 private:
  const sysfs::Sysfs& fs_;
};

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
