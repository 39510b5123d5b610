#include "lib/doctor/doctor.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include "lib/base/exit_code.h"
#include "lib/base/strings.h"
#include "lib/doctor/kernel_cmdline.h"
#include "lib/sysfs/pci.h"

namespace sk::doctor {
namespace {

using ::sk::ToAbsl;

Check Make(std::string name, std::string title) {
  Check c;
  c.name = std::move(name);
  c.title = std::move(title);
  return c;
}

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// Entries of a directory; NotFound counts as empty (sysfs omits empty
// classes), other errors are returned.
absl::StatusOr<std::vector<std::string>> ListOrEmpty(const sysfs::Sysfs& fs,
                                                     std::string_view rel) {
  auto names = fs.ListDir(rel);
  if (absl::IsNotFound(names.status())) return std::vector<std::string>{};
  return names;
}

struct CpuInfo {
  std::string vendor;  // vendor_id of the first CPU, e.g. "GenuineIntel"
  int cpus = 0;        // "processor" lines
  int flag_lines = 0;  // "flags" lines (x86 only)
  int vmx = 0;
  int svm = 0;
};

CpuInfo ParseCpuInfo(std::string_view text) {
  CpuInfo info;
  for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n')) {
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, colon));
    absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (key == "processor") {
      ++info.cpus;
    } else if (key == "vendor_id" && info.vendor.empty()) {
      info.vendor = std::string(value);
    } else if (key == "flags") {
      ++info.flag_lines;
      for (absl::string_view f :
           absl::StrSplit(value, ' ', absl::SkipEmpty())) {
        if (f == "vmx") ++info.vmx;
        if (f == "svm") ++info.svm;
      }
    }
  }
  return info;
}

enum class Vendor { kUnknown, kIntel, kAmd };

// The IOMMU vendor: the firmware table names it; the CPU vendor is the
// fallback. The table comes first because they can differ: QEMU's default
// qemu64 CPU reports AuthenticAMD while the machine has an intel-iommu.
Vendor DetectVendor(const HostView& h) {
  if (h.sys().Exists("sys/firmware/acpi/tables/DMAR")) return Vendor::kIntel;
  if (h.sys().Exists("sys/firmware/acpi/tables/IVRS")) return Vendor::kAmd;
  auto text = h.proc().ReadAttribute("proc/cpuinfo");
  if (text.ok()) {
    CpuInfo info = ParseCpuInfo(*text);
    if (info.vendor == "GenuineIntel") return Vendor::kIntel;
    if (info.vendor == "AuthenticAMD" || info.vendor == "HygonGenuine") {
      return Vendor::kAmd;
    }
  }
  return Vendor::kUnknown;
}

bool IommuClassNonEmpty(const HostView& h) {
  auto names = ListOrEmpty(h.sys(), "sys/class/iommu");
  return names.ok() && !names->empty();
}

constexpr char kBiosFix[] =
    "Enable the IOMMU in the BIOS/UEFI setup: \"Intel VT-d\" (Intel) or "
    "\"AMD-Vi\"/\"IOMMU\" (AMD), often under Advanced > Chipset or "
    "Virtualization. In a QEMU guest use -machine q35 with "
    "-device intel-iommu,intremap=on.";

constexpr char kGrubHint[] =
    " (Debian/Ubuntu: add it to GRUB_CMDLINE_LINUX in /etc/default/grub, run "
    "update-grub and reboot)";

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kWarn:
      return "WARN";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kSkip:
      return "SKIP";
  }
  return "SKIP";
}

HostView::HostView(const Roots& roots)
    : sys_(roots.sysfs), proc_(roots.proc), dev_(roots.dev) {}

const absl::StatusOr<sysfs::HostSnapshot>& HostView::host() const {
  if (!host_.has_value()) {
    sysfs::DiscoverOptions opts;
    opts.resolve_names = false;
    host_.emplace(sysfs::HostSnapshot::Discover(sys_, opts));
  }
  return *host_;
}

Check CheckCpuVirtualization(const HostView& h) {
  Check c = Make("cpu-virtualization", "CPU virtualization (VT-x/AMD-V)");
  std::string cpuinfo_path = h.proc().Path("proc/cpuinfo").string();
  std::string kvm_path = h.dev().Path("dev/kvm").string();
  bool kvm = h.dev().Exists("dev/kvm");
  auto text = h.proc().ReadAttribute("proc/cpuinfo");
  if (!text.ok()) {
    c.verdict = Verdict::kWarn;
    c.summary = "cannot read CPU flags";
    c.evidence.push_back(Msg(text.status()));
    c.fix = "Check --proc-root; /proc must be mounted.";
    return c;
  }
  CpuInfo info = ParseCpuInfo(*text);
  std::string kvm_fact = sk::StrCat(kvm_path, kvm ? " present" : " missing");
  if (info.flag_lines == 0) {
    // Not x86 (arm64 lists "Features"): /dev/kvm is the only evidence.
    c.evidence.push_back(
        sk::StrCat(cpuinfo_path, ": no \"flags\" lines (not x86)"));
    c.evidence.push_back(kvm_fact);
    c.verdict = kvm ? Verdict::kPass : Verdict::kFail;
    c.summary = kvm ? "KVM available" : "KVM not available";
    if (!kvm) {
      c.fix =
          "Enable virtualization extensions in firmware and load the KVM "
          "module for this architecture.";
    }
    return c;
  }
  int hw = info.vmx > 0 ? info.vmx : info.svm;
  const char* flag = info.vmx > 0 ? "vmx" : "svm";
  if (hw > 0) {
    c.evidence.push_back(sk::StrCat(cpuinfo_path, ": ", flag, " on ", hw,
                                    " of ", info.flag_lines, " CPUs"));
  } else {
    c.evidence.push_back(sk::StrCat(
        cpuinfo_path, ": neither vmx nor svm in flags (", info.flag_lines,
        " CPUs, vendor ", info.vendor.empty() ? "unknown" : info.vendor, ")"));
  }
  c.evidence.push_back(kvm_fact);
  std::string kvm_module = info.vmx > 0 ? "kvm_intel" : "kvm_amd";
  if (hw > 0 && kvm) {
    c.verdict = Verdict::kPass;
    c.summary = sk::StrCat(flag, " present, /dev/kvm available");
  } else if (hw > 0) {
    c.verdict = Verdict::kWarn;
    c.summary = sk::StrCat(flag, " present but /dev/kvm missing");
    c.fix = sk::StrCat(
        "Load the KVM module: modprobe ", kvm_module,
        " (and check dmesg if it refuses, e.g. \"disabled by bios\").");
  } else if (kvm) {
    c.verdict = Verdict::kWarn;
    c.summary = "/dev/kvm present but the CPU reports no vmx/svm";
    c.fix =
        "KVM works here without hardware virtualization flags (a "
        "paravirtual or nested setup); check that VMs start with "
        "acceleration. On bare metal enable VT-x/AMD-V in the BIOS.";
  } else {
    c.verdict = Verdict::kFail;
    c.summary = "no hardware virtualization (no vmx/svm, no /dev/kvm)";
    c.fix =
        "Enable Intel VT-x or AMD-V (SVM) in the BIOS/UEFI setup; inside a "
        "VM enable nested virtualization on the hypervisor (e.g. "
        "-cpu host with kvm_intel nested=1). Without it VMs run only "
        "under software emulation (KubeVirt useEmulation).";
  }
  return c;
}

Check CheckFirmwareTables(const HostView& h) {
  Check c = Make("firmware-iommu-tables", "Firmware IOMMU tables (DMAR/IVRS)");
  constexpr std::string_view kDir = "sys/firmware/acpi/tables";
  std::string dir = h.sys().Path(kDir).string();
  auto names = h.sys().ListDir(kDir);
  if (!names.ok()) {
    c.verdict = Verdict::kWarn;
    c.summary = "cannot list the ACPI tables";
    c.evidence.push_back(Msg(names.status()));
    c.fix = absl::IsPermissionDenied(names.status())
                ? "Run as root to read the ACPI tables."
                : "No ACPI tables directory: not an ACPI system, or sysfs is "
                  "not mounted at the given --sysfs-root.";
    return c;
  }
  struct Table {
    const char* name;
    const char* meaning;
  };
  const Table kTables[] = {
      {"DMAR", "Intel VT-d"}, {"IVRS", "AMD-Vi"}, {"IORT", "Arm SMMU"}};
  std::set<std::string> present(names->begin(), names->end());
  std::vector<std::string> found;
  for (const Table& t : kTables) {
    if (present.count(t.name) != 0) {
      found.push_back(sk::StrCat(t.name, " (", t.meaning, ")"));
    }
  }
  if (!found.empty()) {
    c.verdict = Verdict::kPass;
    c.summary =
        sk::StrCat(absl::StrJoin(found, ", "), " published by firmware");
    c.evidence.push_back(sk::StrCat(dir, ": ", absl::StrJoin(found, ", ")));
    return c;
  }
  c.verdict = Verdict::kFail;
  c.summary =
      "no DMAR/IVRS table: the firmware has the IOMMU disabled or has none";
  std::vector<std::string> top;
  for (const std::string& n : *names) {
    if (n != "data" && n != "dynamic") top.push_back(n);
  }
  c.evidence.push_back(
      sk::StrCat(dir, ": ", top.empty() ? "(none)" : absl::StrJoin(top, " "),
                 "; no DMAR, IVRS or IORT"));
  c.fix = kBiosFix;
  return c;
}

Check CheckIommuActive(const HostView& h) {
  Check c = Make("iommu-active", "IOMMU active");
  std::string class_dir = h.sys().Path("sys/class/iommu").string();
  std::string groups_dir = h.sys().Path("sys/kernel/iommu_groups").string();
  auto units = ListOrEmpty(h.sys(), "sys/class/iommu");
  auto groups = ListOrEmpty(h.sys(), "sys/kernel/iommu_groups");
  if (!units.ok() || !groups.ok()) {
    c.verdict = Verdict::kWarn;
    c.summary = "cannot read the IOMMU state";
    if (!units.ok()) c.evidence.push_back(Msg(units.status()));
    if (!groups.ok()) c.evidence.push_back(Msg(groups.status()));
    c.fix = "Check --sysfs-root; run as root.";
    return c;
  }
  c.evidence.push_back(
      units->empty() ? sk::StrCat(class_dir, ": empty (no IOMMU driver)")
                     : sk::StrCat(class_dir, ": ", absl::StrJoin(*units, " ")));
  int noiommu = 0;
  for (const std::string& g : *groups) {
    auto name = h.sys().ReadAttribute(
        sk::StrCat("sys/kernel/iommu_groups/", g, "/name"));
    if (name.ok() && *name == "vfio-noiommu") ++noiommu;
  }
  std::string groups_fact =
      sk::StrCat(groups_dir, ": ", groups->size(), " groups");
  if (noiommu > 0)
    absl::StrAppend(&groups_fact, " (", noiommu, " vfio-noiommu)");
  c.evidence.push_back(groups_fact);
  size_t real_groups = groups->size() - static_cast<size_t>(noiommu);
  if (!units->empty() && real_groups > 0) {
    c.verdict = Verdict::kPass;
    c.summary = sk::StrCat(absl::StrJoin(*units, ", "), " active, ",
                           real_groups, " IOMMU groups");
    return c;
  }
  c.verdict = Verdict::kFail;
  if (units->empty()) {
    c.summary = noiommu > 0
                    ? "no IOMMU: only vfio-noiommu groups (no DMA isolation)"
                    : "no IOMMU is active";
    c.fix = sk::StrCat(
        "Turn the IOMMU on: enable it in the firmware (see "
        "firmware-iommu-tables) and boot with intel_iommu=on on Intel "
        "(AMD-Vi is on by default)",
        kGrubHint, ".");
  } else {
    c.summary = "IOMMU registered but no IOMMU groups";
    c.fix =
        "Remove iommu=off / iommu.passthrough overrides that disable "
        "translation and check dmesg for DMAR/AMD-Vi errors.";
  }
  return c;
}

Check CheckKernelCmdline(const HostView& h) {
  Check c = Make("kernel-cmdline", "Kernel command line");
  std::string path = h.proc().Path("proc/cmdline").string();
  auto text = h.proc().ReadAttribute("proc/cmdline");
  if (!text.ok()) {
    c.verdict = Verdict::kWarn;
    c.summary = "cannot read the kernel command line";
    c.evidence.push_back(Msg(text.status()));
    c.fix = "Check --proc-root; /proc must be mounted.";
    return c;
  }
  IommuCmdline io = InterpretIommuCmdline(ParseKernelCmdline(*text));
  Vendor vendor = DetectVendor(h);
  bool active = IommuClassNonEmpty(h);
  c.evidence.push_back(sk::StrCat(path, ": ",
                                  io.relevant.empty()
                                      ? "no IOMMU/PCI options"
                                      : absl::StrJoin(io.relevant, " ")));

  std::vector<std::string> problems;
  std::vector<std::string> fixes;
  if (io.iommu_off) {
    problems.push_back("iommu=off disables every IOMMU driver");
    fixes.push_back("remove iommu=off");
  }
  if (io.intel_iommu == Switch::kOff) {
    problems.push_back("intel_iommu=off");
    fixes.push_back("replace intel_iommu=off with intel_iommu=on");
  }
  if (io.amd_iommu_off) {
    problems.push_back("amd_iommu=off");
    fixes.push_back("remove amd_iommu=off");
  }
  if (io.intremap_off) {
    problems.push_back(
        "interrupt remapping disabled (intremap=off/nointremap)");
    fixes.push_back("remove intremap=off/nointremap");
  }
  if (vendor == Vendor::kIntel && io.intel_iommu == Switch::kUnset) {
    if (active) {
      c.evidence.push_back(
          "intel_iommu=on not given, but the kernel enabled the IOMMU by "
          "default (CONFIG_INTEL_IOMMU_DEFAULT_ON)");
    } else {
      problems.push_back(
          "intel_iommu=on missing (Intel VT-d is off by default)");
      fixes.push_back("add intel_iommu=on iommu=pt");
    }
  }
  if (io.intel_iommu == Switch::kOn) {
    c.evidence.push_back(sk::StrCat(
        "intel_iommu options: ", absl::StrJoin(io.intel_iommu_options, ",")));
  }
  if (vendor == Vendor::kAmd && !io.amd_iommu_off) {
    c.evidence.push_back("AMD-Vi is on by default (no amd_iommu=off)");
  }
  if (io.amd_iommu_on_given) {
    c.evidence.push_back(
        "amd_iommu=on is not an amd_iommu option; the kernel ignores it "
        "(harmless)");
  }
  c.evidence.push_back(
      io.iommu_pt == Switch::kOn
          ? "iommu=pt: host-owned devices bypass DMA translation"
          : "iommu=pt not set (optional; avoids translation overhead for "
            "host-owned devices)");
  if (io.pci_realloc != Switch::kUnset) {
    c.evidence.push_back(sk::StrCat(
        "pci=realloc ", SwitchName(io.pci_realloc), ": BAR space for VFs is ",
        io.pci_realloc == Switch::kOn ? "reassigned by the kernel"
                                      : "left as the firmware set it"));
  }
  if (io.pci_assign_busses) {
    c.evidence.push_back(
        "pci=assign-busses: the kernel renumbers buses (room "
        "for VF bus numbers)");
  }
  if (!problems.empty()) {
    c.verdict = Verdict::kFail;
    c.summary = absl::StrJoin(problems, "; ");
    c.fix = sk::StrCat("Kernel command line: ", absl::StrJoin(fixes, ", "),
                       kGrubHint, ".");
    return c;
  }
  c.verdict = Verdict::kPass;
  if (io.intel_iommu == Switch::kOn) {
    c.summary = "intel_iommu=on";
  } else if (vendor == Vendor::kAmd) {
    c.summary = "AMD-Vi not disabled";
  } else if (vendor == Vendor::kIntel) {
    c.summary = "Intel IOMMU on by kernel default";
  } else {
    c.summary = "nothing disables the IOMMU";
  }
  if (io.iommu_pt == Switch::kOn) absl::StrAppend(&c.summary, ", iommu=pt");
  return c;
}

Check CheckInterruptRemapping(const HostView& h) {
  Check c = Make("interrupt-remapping", "Interrupt remapping");
  std::string path = h.proc().Path("proc/interrupts").string();
  auto text = h.proc().ReadAttribute("proc/interrupts");
  if (!text.ok()) {
    c.verdict = Verdict::kWarn;
    c.summary = "cannot read /proc/interrupts";
    c.evidence.push_back(Msg(text.status()));
    c.fix = "Check --proc-root; /proc must be mounted.";
    return c;
  }
  // Chips are named "IR-IO-APIC", "IR-PCI-MSI" and, since 6.2, per device
  // "IR-PCI-MSIX-0000:01:00.0"; the device suffix is dropped for evidence.
  std::set<std::string> chips;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    bool hit = false;
    for (absl::string_view tok : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      if (!absl::StartsWith(tok, "IR-")) continue;
      hit = true;
      std::string chip(tok);
      size_t dash = chip.rfind('-');
      if (dash != std::string::npos &&
          sysfs::PciAddress::Parse(std::string_view(chip).substr(dash + 1))
              .ok()) {
        chip.resize(dash);
      }
      chips.insert(chip);
    }
    if (hit) ++lines;
  }
  if (!chips.empty()) {
    c.verdict = Verdict::kPass;
    c.summary = "interrupt remapping enabled";
    c.evidence.push_back(sk::StrCat(path, ": ", lines, " interrupts through ",
                                    absl::StrJoin(chips, ", ")));
    return c;
  }
  c.evidence.push_back(sk::StrCat(path, ": no IR- interrupt chips"));
  constexpr std::string_view kParam =
      "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts";
  auto unsafe = h.sys().ReadAttribute(kParam);
  bool allowed = unsafe.ok() && (*unsafe == "Y" || *unsafe == "1");
  if (unsafe.ok()) {
    c.evidence.push_back(
        sk::StrCat(h.sys().Path(kParam).string(), " = ", *unsafe));
  } else {
    c.evidence.push_back(sk::StrCat(h.sys().Path(kParam).string(),
                                    ": not readable (vfio_iommu_type1 not "
                                    "loaded; default N)"));
  }
  std::string enable_ir =
      "Enable interrupt remapping: turn on VT-d/AMD-Vi with x2APIC in the "
      "BIOS, boot with the IOMMU on and without intremap=off (in a QEMU "
      "guest: -machine q35,kernel-irqchip=split -device "
      "intel-iommu,intremap=on).";
  if (allowed) {
    c.verdict = Verdict::kWarn;
    c.summary = "no interrupt remapping; vfio allows unsafe interrupts";
    c.fix = sk::StrCat(enable_ir,
                       " allow_unsafe_interrupts lets a guest forge MSIs to "
                       "the host; use it only on trusted workloads.");
  } else {
    c.verdict = Verdict::kFail;
    c.summary = "no interrupt remapping; vfio will refuse to attach devices";
    c.fix = sk::StrCat(enable_ir,
                       " Last resort (a guest could then forge MSIs): "
                       "options vfio_iommu_type1 allow_unsafe_interrupts=1 in "
                       "/etc/modprobe.d/vfio.conf.");
  }
  return c;
}

Check CheckVfioPci(const HostView& h) {
  Check c = Make("vfio-pci", "vfio-pci driver");
  std::string drv = h.sys().Path("sys/bus/pci/drivers/vfio-pci").string();
  if (h.sys().Exists("sys/bus/pci/drivers/vfio-pci")) {
    c.verdict = Verdict::kPass;
    c.summary = "vfio-pci driver registered";
    c.evidence.push_back(sk::StrCat(drv, " exists"));
    return c;
  }
  c.evidence.push_back(sk::StrCat(drv, " missing"));
  if (h.sys().Exists("sys/module/vfio_pci")) {
    c.verdict = Verdict::kPass;
    c.summary = "vfio_pci module loaded";
    c.evidence.push_back(
        sk::StrCat(h.sys().Path("sys/module/vfio_pci").string(), " exists"));
    return c;
  }
  auto release = h.proc().ReadAttribute("proc/sys/kernel/osrelease");
  if (!release.ok()) {
    c.verdict = Verdict::kWarn;
    c.summary = "vfio-pci not loaded; kernel release unknown";
    c.evidence.push_back(Msg(release.status()));
    c.fix = "modprobe vfio-pci, and check --proc-root.";
    return c;
  }
  std::string moddir = sk::StrCat("lib/modules/", *release);
  std::optional<std::string> found;
  for (const char* ext : {"", ".xz", ".zst", ".gz"}) {
    std::string rel =
        sk::StrCat(moddir, "/kernel/drivers/vfio/pci/vfio-pci.ko", ext);
    if (h.sys().Exists(rel)) {
      found = h.sys().Path(rel).string();
      break;
    }
  }
  if (!found.has_value()) {
    auto dep = h.sys().ReadAttribute(sk::StrCat(moddir, "/modules.dep"));
    if (dep.ok()) {
      for (absl::string_view line : absl::StrSplit(*dep, '\n')) {
        absl::string_view mod = line.substr(0, line.find(':'));
        absl::string_view base = mod.substr(mod.rfind('/') + 1);
        if (absl::StartsWith(base, "vfio-pci.ko")) {
          found = sk::StrCat(h.sys().Path(moddir).string(), "/", mod);
          break;
        }
      }
    }
  }
  if (found.has_value()) {
    c.verdict = Verdict::kWarn;
    c.summary = "vfio-pci is installed but not loaded";
    c.evidence.push_back(sk::StrCat(*found, " exists"));
    c.fix =
        "modprobe vfio-pci; to load it at boot: echo vfio-pci > "
        "/etc/modules-load.d/vfio-pci.conf";
    return c;
  }
  c.verdict = Verdict::kFail;
  c.summary = "vfio-pci is not available in this kernel";
  c.evidence.push_back(sk::StrCat(h.sys().Path(moddir).string(),
                                  ": no vfio-pci module (kernel ", *release,
                                  ")"));
  c.fix =
      "Boot a kernel built with CONFIG_VFIO_PCI (Debian's linux-image-amd64 "
      "ships it as a module) and install its modules.";
  return c;
}

std::vector<Check> RunAllChecks(const Roots& roots) {
  HostView h(roots);
  return {CheckCpuVirtualization(h),
          CheckFirmwareTables(h),
          CheckIommuActive(h),
          CheckKernelCmdline(h),
          CheckInterruptRemapping(h),
          CheckVfioPci(h),
          CheckSriovNics(h),
          CheckSriovVfs(h),
          CheckVfioVfs(h)};
}

int ExitCodeFor(const std::vector<Check>& checks) {
  bool warn = false;
  for (const Check& c : checks) {
    if (c.verdict == Verdict::kFail) return kExitFailure;
    if (c.verdict == Verdict::kWarn) warn = true;
  }
  return warn ? kExitWarn : kExitOk;
}

}  // namespace sk::doctor
