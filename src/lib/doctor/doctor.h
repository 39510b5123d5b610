#pragma once
// sk::doctor — checks a host for everything the VM passthrough path needs
// (hardware virtualization, IOMMU, interrupt remapping, vfio-pci, SR-IOV NICs,
// VFs and their /dev/vfio nodes) and reports each as a Check with a verdict,
// the evidence read, and the fix.
//
//   sk::doctor::Roots roots;                 // "/" for all: the live host
//   std::vector<Check> checks = sk::doctor::RunAllChecks(roots);
//   int code = sk::doctor::ExitCodeFor(checks);   // 0 pass, 1 warn, 2 fail
//
// Roots. Every read goes through sk::sysfs::Sysfs over one of three roots:
//   sysfs root: <root>/sys/... and also <root>/lib/modules/<release>/ (the
//               host's files, like pci.ids for discovery);
//   proc root:  <root>/proc/{cpuinfo,cmdline,interrupts,sys/kernel/osrelease};
//   dev root:   <root>/dev/{kvm,vfio/...}.
// Nothing comes from the running kernel by other means (no uname(2); the
// kernel release is <proc>/sys/kernel/osrelease), so fixture roots are
// hermetic.
//
// Verdicts. PASS: the requirement is met. WARN: the path can work but is
// degraded, unsafe or not yet configured (e.g. no VFs created yet: sriovkit's
// node configuration creates them). FAIL: VM passthrough cannot work on this
// host until an administrator fixes it (firmware, kernel command line,
// hardware). SKIP: not applicable because an earlier requirement is missing
// (e.g. no VFs to bind); SKIP never changes the exit code.
//
// Verdict policy for the judgement calls:
//   - No SR-IOV capable NIC: FAIL. The doctor answers "can this host give VFs
//     to VMs?", and without such a NIC the answer is no. Run it on the nodes
//     meant for SR-IOV.
//   - No VFs created, or none bound to vfio-pci: WARN (host capable; the
//     remaining steps are configuration that sriovkit performs).
//   - No vmx/svm flag but /dev/kvm present (paravirtual KVM): WARN; neither:
//     FAIL (KubeVirt needs /dev/kvm unless it runs in emulation mode).
//   - No interrupt remapping but vfio_iommu_type1 allow_unsafe_interrupts=Y:
//     WARN (works, but a guest can forge MSIs); otherwise FAIL (vfio refuses
//     to attach the device).
//   - A VF bound to vfio-pci in a vfio-noiommu group: WARN (no DMA isolation).
//
// Check names (the `name` field) are stable identifiers used in --json:
//   cpu-virtualization, firmware-iommu-tables, iommu-active, kernel-cmdline,
//   interrupt-remapping, vfio-pci, sriov-nics, sriov-vfs, vfio-vfs.
//
// No check ever aborts: an unreadable file becomes evidence (and WARN when it
// hides the answer). Not thread-safe (HostView caches the host snapshot).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/sysfs/host.h"
#include "lib/sysfs/sysfs.h"

namespace sk::doctor {

enum class Verdict { kPass, kWarn, kFail, kSkip };
// "PASS", "WARN", "FAIL", "SKIP".
const char* VerdictName(Verdict v);

struct Check {
  std::string name;   // stable id, e.g. "iommu-active"
  std::string title;  // human title, e.g. "IOMMU active"
  Verdict verdict = Verdict::kSkip;
  std::string summary;                // one line: what was found
  std::vector<std::string> evidence;  // what was read, one fact per line
  std::string fix;                    // what to do; empty on PASS and SKIP
};

struct Roots {
  std::filesystem::path sysfs = "/";
  std::filesystem::path proc = "/";
  std::filesystem::path dev = "/";
};

// The three trees the checks read, plus the host model discovered from the
// sysfs root on first use.
class HostView {
 public:
  explicit HostView(const Roots& roots);

  const sysfs::Sysfs& sys() const { return sys_; }
  const sysfs::Sysfs& proc() const { return proc_; }
  const sysfs::Sysfs& dev() const { return dev_; }

  // HostSnapshot::Discover(sys()) without pci.ids names, computed once.
  // NotFound when <sysfs>/sys/bus/pci/devices cannot be listed.
  const absl::StatusOr<sysfs::HostSnapshot>& host() const;

 private:
  sysfs::Sysfs sys_;
  sysfs::Sysfs proc_;
  sysfs::Sysfs dev_;
  mutable std::optional<absl::StatusOr<sysfs::HostSnapshot>> host_;
};

// Individual checks, in the order RunAllChecks runs them.
//
// vmx/svm in <proc>/cpuinfo and <dev>/dev/kvm.
Check CheckCpuVirtualization(const HostView& h);
// DMAR (Intel VT-d), IVRS (AMD-Vi) or IORT (Arm SMMU) in
// <sys>/firmware/acpi/tables: the firmware publishes them only when the
// IOMMU is enabled in the BIOS/UEFI setup.
Check CheckFirmwareTables(const HostView& h);
// <sys>/class/iommu and <sys>/kernel/iommu_groups both non-empty.
Check CheckIommuActive(const HostView& h);
// <proc>/cmdline read semantically (kernel_cmdline.h): the IOMMU switched on
// for the CPU vendor (intel_iommu=on unless the kernel enabled it by
// default; AMD-Vi is on by default), nothing switched off (intel_iommu=off,
// amd_iommu=off, iommu=off, intremap=off). iommu=pt, pci=realloc and
// pci=assign-busses are reported as evidence.
Check CheckKernelCmdline(const HostView& h);
// "IR-" interrupt chips in <proc>/interrupts; when none, the value of
// <sys>/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts.
Check CheckInterruptRemapping(const HostView& h);
// <sys>/bus/pci/drivers/vfio-pci or <sys>/module/vfio_pci (loaded), else a
// vfio-pci module file under <sysfs root>/lib/modules/<osrelease>/ (WARN:
// not loaded), else FAIL.
Check CheckVfioPci(const HostView& h);
// Network PFs with sriov_totalvfs > 0 in the host model.
Check CheckSriovNics(const HostView& h);
// sriov_numvfs > 0 on at least one SR-IOV NIC.
Check CheckSriovVfs(const HostView& h);
// VFs bound to vfio-pci, each with an IOMMU group and <dev>/vfio/<group>
// (noiommu-<group> for no-IOMMU groups), and <dev>/vfio/vfio.
Check CheckVfioVfs(const HostView& h);

// Runs every check above against `roots`.
std::vector<Check> RunAllChecks(const Roots& roots);

// 2 if any check FAILs, else 1 if any WARNs, else 0 (lib/base/exit_code.h
// kExitFailure / kExitWarn / kExitOk).
int ExitCodeFor(const std::vector<Check>& checks);

}  // namespace sk::doctor
