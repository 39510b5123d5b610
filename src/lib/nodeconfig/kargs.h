#pragma once
// Kernel arguments for SR-IOV passthrough: which ones the node needs, whether
// the running kernel already has them (/proc/cmdline), whether the bootloader
// will boot them next, and the change that makes them persistent.
// docs/kernel.md has the whole story; in short:
//
//   KernelInputs in;
//   in.root = "/";               // host root: proc/, boot/, etc/, run/
//   in.want_vfio = plan.needs_vfio;
//   in.vf_enomem = false;        // a VF creation failed with ENOMEM
//   SK_ASSIGN_OR_RETURN(KernelPlan p, PlanKernel(in, runner));
//   std::cout << FormatKernelPlanText(p);
//   SK_ASSIGN_OR_RETURN(KernelApplyResult r, ApplyKernel(p, in, runner));
//   if (r.needs_reboot) ...;     // the caller decides who reboots, and when
//
// Desired arguments (what the SR-IOV Network Operator's generic plugin asks
// for, pkg/plugins/generic/generic_plugin.go in sriov-network-operator):
//   - any vfio-pci group, Intel CPU: intel_iommu=on iommu=pt
//   - any vfio-pci group, AMD CPU:   iommu=pt (AMD-Vi is on by default when
//     the firmware describes it; the kernel's amd_iommu= has no "on" option,
//     Documentation/admin-guide/kernel-parameters.txt, so none is added;
//     an amd_iommu=off is removed)
//   - a VF creation failed with ENOMEM: pci=realloc
// The IOMMU vendor comes from the ACPI table the firmware publishes
// (DetectIommuVendor): DMAR -> Intel VT-d, IVRS -> AMD-Vi; with neither, the
// CPU vendor of <root>/proc/cpuinfo ("vendor_id"). On QEMU the CPU may say
// AMD while the emulated IOMMU is VT-d (intel-iommu device, a DMAR table).
//
// Comparison is semantic, through lib/doctor/kernel_cmdline.h: names compare
// with '-' == '_', comma options are read one by one (intel_iommu=on,sm_on is
// "on", the operator's reboot loop in sriov-network-operator issue #359), the
// last occurrence wins, and arguments after "--" belong to init. An argument
// that is effective in /proc/cmdline never causes a change or a reboot; one
// that the bootloader will already boot next is "pending": no second write,
// only a reboot.
//
// Thread safety: the functions are reentrant; a CommandRunner is used by one
// call at a time.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/doctor/kernel_cmdline.h"

namespace sk::nodeconfig {

class CommandRunner;  // bootloader.h

enum class CpuVendor { kUnknown, kIntel, kAmd };
const char* CpuVendorName(CpuVendor v);  // "unknown", "intel", "amd"

// The vendor_id of the first processor in <root>/proc/cpuinfo
// ("GenuineIntel" -> kIntel, "AuthenticAMD"/"HygonGenuine" -> kAmd, other or
// absent (e.g. arm64) -> kUnknown). NotFound when the file is missing;
// InvalidArgument when it is larger than 4 MiB.
absl::StatusOr<CpuVendor> DetectCpuVendor(const std::filesystem::path& root);

// Which evidence decided the IOMMU vendor.
enum class VendorSource { kGiven, kAcpiDmar, kAcpiIvrs, kCpuinfo };
// "given", "acpi-dmar", "acpi-ivrs", "cpuinfo"
const char* VendorSourceName(VendorSource s);

struct IommuVendor {
  CpuVendor vendor = CpuVendor::kUnknown;
  VendorSource source = VendorSource::kCpuinfo;
};

// <root>/sys/firmware/acpi/tables/DMAR exists -> kIntel (acpi-dmar);
// else IVRS -> kAmd (acpi-ivrs); else DetectCpuVendor(root) (cpuinfo), and
// its errors.
absl::StatusOr<IommuVendor> DetectIommuVendor(
    const std::filesystem::path& root);

// One argument the node needs, e.g. {"intel_iommu", "on"}.
struct KernelArg {
  std::string name;
  std::string value;   // the one option that must be set ("on", "pt", ...)
  std::string reason;  // "vfio-pci VF groups (Intel IOMMU)"
  std::string Text() const;  // "intel_iommu=on"

  bool operator==(const KernelArg& o) const {
    return name == o.name && value == o.value;
  }
};

// The arguments for the inputs, in a stable order. With `want_vfio` and an
// unknown vendor, only iommu=pt (the arch-neutral one).
std::vector<KernelArg> DesiredKernelArgs(bool want_vfio, bool vf_enomem,
                                         CpuVendor vendor);

// True when `cmdline` makes `arg` effective, read as the kernel reads it:
//   intel_iommu=on  the last intel_iommu on/off option is "on"
//   iommu=pt        passthrough selected (iommu=pt, iommu.passthrough=1) by
//                   the last such option, and no iommu=off
//   pci=realloc     the last pci realloc option is realloc / realloc=on
//   amd_iommu=off   (removal) never effective as an addition
// Any other argument: present with that exact value (last occurrence).
bool ArgEffective(const doctor::KernelCmdline& cmdline, const KernelArg& arg);

// The options of `args` edited so that every argument of `want` is
// effective: a conflicting occurrence (intel_iommu=off, iommu=off/nopt,
// iommu.passthrough=0, pci=realloc=off, amd_iommu=off with vfio on AMD) is
// replaced in place, keeping its other comma options (intel_iommu=off,sm_on
// -> intel_iommu=on,sm_on); later duplicates of that name are dropped; an
// argument with no occurrence is appended. Arguments already effective and
// unrelated ones are kept as written (re-quoted only when a value has
// spaces). Returns `args` unchanged when nothing is missing.
std::string EditKernelArgs(std::string_view args,
                           const std::vector<KernelArg>& want);

// The names whose occurrences EditKernelArgs may rewrite or drop for `arg`
// (e.g. iommu=pt: "iommu", "iommu.passthrough"); bootloader backends that
// edit through a tool (grubby --remove-args, rpm-ostree --delete) remove
// these occurrences before adding the argument.
std::vector<std::string> ConflictingNames(const KernelArg& arg);

struct KernelInputs {
  // Host root: <root>/proc/cmdline, <root>/proc/cpuinfo, the bootloader
  // files under <root>/boot and <root>/etc, <root>/run/ostree-booted.
  std::filesystem::path root = "/";
  bool want_vfio = false;  // some policy group uses vfio-pci
  bool vf_enomem = false;  // writing sriov_numvfs failed with ENOMEM
  // Unset: DetectIommuVendor(root).
  std::optional<CpuVendor> vendor;
  // Where the modules-load drop-in lives, relative to root.
  std::filesystem::path modules_load_dir = "etc/modules-load.d";
};

enum class ArgState {
  kEffective,  // in /proc/cmdline: nothing to do
  kPending,    // not running, but the bootloader boots it next: reboot
  kMissing,    // neither: the bootloader configuration must change
};
const char* ArgStateName(ArgState s);  // "effective", "pending", "missing"

struct ArgPlan {
  KernelArg arg;
  ArgState state = ArgState::kMissing;
  // Effective now but absent from the next boot's arguments (someone
  // removed it): reported, never rewritten (it is effective).
  bool lost_at_next_boot = false;
};

// The modules-load drop-in (<root>/<modules_load_dir>/sriovkit-vfio.conf,
// one line "vfio-pci"): written when vfio-pci is wanted, removed when it is
// not and the file is ours (its first line is our marker comment).
enum class ModulesLoadAction { kNone, kWrite, kRemove };

struct KernelPlan {
  CpuVendor vendor = CpuVendor::kUnknown;
  // What decided `vendor` (meaningful when vfio-pci is wanted).
  VendorSource vendor_source = VendorSource::kGiven;
  std::string running_cmdline;  // /proc/cmdline, trimmed
  std::string bootloader;       // backend name, "" when none was needed
  std::string next_boot_args;   // what the backend boots next ("" unknown)
  std::vector<ArgPlan> args;    // one per desired argument
  ModulesLoadAction modules_load = ModulesLoadAction::kNone;
  std::filesystem::path modules_load_path;

  bool needs_write() const;   // some arg kMissing
  bool needs_reboot() const;  // some arg not kEffective
  bool changes() const;       // needs_write() or a modules-load action
};

// Reads /proc/cmdline and the CPU vendor, and, when some desired argument is
// not effective, detects the bootloader and reads what it boots next.
// Errors: NotFound (no <root>/proc/cmdline), FailedPrecondition (an argument
// is missing and no bootloader was recognised: the message names every
// place looked for), or the backend's read error.
absl::StatusOr<KernelPlan> PlanKernel(const KernelInputs& in,
                                      CommandRunner& runner);

struct KernelApplyResult {
  std::string bootloader;
  bool needs_reboot = false;
  std::vector<ArgPlan> args;                   // state after the apply
  std::vector<std::string> steps;              // files written, commands run
  std::vector<std::string> effective;          // args already running
  std::vector<std::string> pending_next_boot;  // args the next boot adds
};

// Executes the plan: the modules-load drop-in, then (when some argument is
// missing) the backend's edit, each idempotent and atomic with a
// ".sriovkit.bak" backup of every edited file. Does not reboot. The backend
// is detected again, so a plan from another root is refused
// (FailedPrecondition). A failed command is Internal, naming it and its exit
// status.
absl::StatusOr<KernelApplyResult> ApplyKernel(const KernelPlan& plan,
                                              const KernelInputs& in,
                                              CommandRunner& runner);

// Table, e.g.
//   Kernel arguments (iommu intel from acpi-dmar, bootloader grub-defaults):
//     intel_iommu=on  missing    vfio-pci VF groups (Intel IOMMU)
//     iommu=pt        effective  vfio-pci VF groups
//   modules-load: write /etc/modules-load.d/sriovkit-vfio.conf
//   reboot needed: yes
std::string FormatKernelPlanText(const KernelPlan& p);
// {"cpuVendor","vendorSource","runningCmdline","bootloader","nextBootArgs",
//  "args":[{"arg","state","reason","lostAtNextBoot"}],
//  "modulesLoad":{"action","path"},"needsWrite","needsReboot"}
std::string FormatKernelPlanJson(const KernelPlan& p);
std::string FormatKernelApplyText(const KernelApplyResult& r);
// {"bootloader","needsReboot","effective":[..],"pendingNextBoot":[..],
//  "steps":[..]}
std::string FormatKernelApplyJson(const KernelApplyResult& r);

}  // namespace sk::nodeconfig
