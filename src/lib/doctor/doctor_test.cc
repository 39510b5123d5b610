#include "lib/doctor/doctor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/exit_code.h"
#include "tests/testing/fake_lab_guest.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

namespace sk::doctor {

void PrintTo(const Check& c, std::ostream* os) {
  *os << VerdictName(c.verdict) << " " << c.name << ": " << c.summary;
  for (const std::string& e : c.evidence) *os << "\n  evidence: " << e;
  if (!c.fix.empty()) *os << "\n  fix: " << c.fix;
}

namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

auto HasVerdict(Verdict v) { return Field(&Check::verdict, v); }
auto EvidenceHas(const std::string& s) {
  return Field(&Check::evidence, Contains(HasSubstr(s)));
}
auto FixHas(const std::string& s) { return Field(&Check::fix, HasSubstr(s)); }
auto SummaryHas(const std::string& s) {
  return Field(&Check::summary, HasSubstr(s));
}

constexpr char kIntelCpu[] =
    "processor\t: 0\nvendor_id\t: GenuineIntel\n"
    "flags\t\t: fpu vme de pse msr vmx ept sse2\n\n"
    "processor\t: 1\nvendor_id\t: GenuineIntel\n"
    "flags\t\t: fpu vme de pse msr vmx ept sse2\n\n";
constexpr char kAmdCpu[] =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
    "flags\t\t: fpu vme de svm npt\n\n";
constexpr char kNoVirtCpu[] =
    "processor\t: 0\nvendor_id\t: GenuineIntel\n"
    "flags\t\t: fpu vme de pse hypervisor\n\n"
    "processor\t: 1\nvendor_id\t: GenuineIntel\n"
    "flags\t\t: fpu vme de pse hypervisor\n\n";
constexpr char kArmCpu[] =
    "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\n\n";

// One temp dir used as all three roots; files written through the fixture
// builder's raw helpers.
class DoctorTest : public ::testing::Test {
 protected:
  DoctorTest() : b_(dir_.path()) {}

  HostView View() const {
    Roots r;
    r.sysfs = r.proc = r.dev = dir_.path();
    return HostView(r);
  }
  void Write(std::string_view rel, std::string_view text) {
    b_.WriteFile(rel, text);
  }

  sk::testing::TempDir dir_;
  sk::testing::FakeSysfsBuilder b_;
};

// ------------------------------------------------------------- CPU

TEST_F(DoctorTest, CpuPassesWithVmxAndKvm) {
  Write("proc/cpuinfo", kIntelCpu);
  Write("dev/kvm", "");
  Check c = CheckCpuVirtualization(View());
  EXPECT_EQ(c.name, "cpu-virtualization");
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kPass), EvidenceHas("vmx on 2 of 2 CPUs"),
               EvidenceHas("dev/kvm present")));
  EXPECT_THAT(c.fix, IsEmpty());
}

TEST_F(DoctorTest, CpuWarnsWhenKvmModuleNotLoaded) {
  Write("proc/cpuinfo", kAmdCpu);
  Check c = CheckCpuVirtualization(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kWarn), EvidenceHas("svm on 1 of 1 CPUs"),
               EvidenceHas("dev/kvm missing"), FixHas("modprobe kvm_amd")));
}

TEST_F(DoctorTest, CpuWarnsOnKvmWithoutFlags) {
  Write("proc/cpuinfo", kNoVirtCpu);
  Write("dev/kvm", "");
  Check c = CheckCpuVirtualization(View());
  EXPECT_THAT(c,
              AllOf(HasVerdict(Verdict::kWarn),
                    EvidenceHas("neither vmx nor svm in flags (2 CPUs, vendor "
                                "GenuineIntel)")));
}

TEST_F(DoctorTest, CpuFailsWithoutFlagsOrKvm) {
  Write("proc/cpuinfo", kNoVirtCpu);
  Check c = CheckCpuVirtualization(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kFail), FixHas("VT-x"), FixHas("BIOS")));
}

TEST_F(DoctorTest, CpuOnNonX86UsesDevKvm) {
  Write("proc/cpuinfo", kArmCpu);
  EXPECT_THAT(CheckCpuVirtualization(View()),
              AllOf(HasVerdict(Verdict::kFail), EvidenceHas("not x86")));
  Write("dev/kvm", "");
  EXPECT_THAT(CheckCpuVirtualization(View()), HasVerdict(Verdict::kPass));
}

TEST_F(DoctorTest, CpuWarnsWhenCpuinfoUnreadable) {
  EXPECT_THAT(CheckCpuVirtualization(View()),
              AllOf(HasVerdict(Verdict::kWarn), EvidenceHas("proc/cpuinfo")));
}

// ------------------------------------------------------ firmware tables

TEST_F(DoctorTest, FirmwareTablesPassWithDmarOrIvrs) {
  struct Case {
    const char* table;
    const char* meaning;
  };
  for (const Case& t : {Case{"DMAR", "Intel VT-d"}, Case{"IVRS", "AMD-Vi"},
                        Case{"IORT", "Arm SMMU"}}) {
    SCOPED_TRACE(t.table);
    sk::testing::TempDir d;
    sk::testing::FakeSysfsBuilder b(d.path());
    b.WriteFile("sys/firmware/acpi/tables/APIC", "");
    b.WriteFile(std::string("sys/firmware/acpi/tables/") + t.table, "");
    Roots r;
    r.sysfs = d.path();
    Check c = CheckFirmwareTables(HostView(r));
    EXPECT_EQ(c.name, "firmware-iommu-tables");
    EXPECT_THAT(
        c, AllOf(HasVerdict(Verdict::kPass),
                 SummaryHas(std::string(t.table) + " (" + t.meaning + ")")));
  }
}

TEST_F(DoctorTest, FirmwareTablesFailWithoutIommuTable) {
  for (const char* t : {"APIC", "DSDT", "FACP", "MCFG"}) {
    Write(std::string("sys/firmware/acpi/tables/") + t, "");
  }
  b_.MakeDirs("sys/firmware/acpi/tables/dynamic");
  Check c = CheckFirmwareTables(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kFail), EvidenceHas("APIC DSDT FACP MCFG;"),
               FixHas("Intel VT-d"), FixHas("AMD-Vi"), FixHas("BIOS")));
}

TEST_F(DoctorTest, FirmwareTablesWarnWhenDirectoryMissing) {
  EXPECT_THAT(CheckFirmwareTables(View()),
              AllOf(HasVerdict(Verdict::kWarn), SummaryHas("cannot list")));
}

// ------------------------------------------------------------- IOMMU

TEST_F(DoctorTest, IommuActivePasses) {
  b_.MakeDirs("sys/class/iommu/dmar0");
  b_.MakeDirs("sys/kernel/iommu_groups/0/devices");
  b_.MakeDirs("sys/kernel/iommu_groups/1/devices");
  Check c = CheckIommuActive(View());
  EXPECT_EQ(c.name, "iommu-active");
  EXPECT_THAT(c, AllOf(HasVerdict(Verdict::kPass),
                       SummaryHas("dmar0 active, 2 IOMMU groups")));
}

TEST_F(DoctorTest, IommuFailsWhenNothingRegistered) {
  b_.MakeDirs("sys/class/iommu");
  b_.MakeDirs("sys/kernel/iommu_groups");
  Check c = CheckIommuActive(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kFail), SummaryHas("no IOMMU is active"),
               EvidenceHas("class/iommu: empty"), EvidenceHas("0 groups"),
               FixHas("intel_iommu=on")));
}

TEST_F(DoctorTest, IommuFailsWithOnlyNoiommuGroups) {
  b_.MakeDirs("sys/kernel/iommu_groups/0/devices");
  Write("sys/kernel/iommu_groups/0/name", "vfio-noiommu\n");
  Check c = CheckIommuActive(View());
  EXPECT_THAT(c, AllOf(HasVerdict(Verdict::kFail), SummaryHas("vfio-noiommu"),
                       EvidenceHas("1 groups (1 vfio-noiommu)")));
}

TEST_F(DoctorTest, IommuFailsWithUnitButNoGroups) {
  b_.MakeDirs("sys/class/iommu/dmar0");
  EXPECT_THAT(CheckIommuActive(View()),
              AllOf(HasVerdict(Verdict::kFail), SummaryHas("no IOMMU groups")));
}

TEST_F(DoctorTest, IommuWarnsWhenStateUnreadable) {
  // A file where sysfs has a directory: listing fails with ENOTDIR, which is
  // not "empty" and must not be reported as a missing IOMMU.
  Write("sys/class/iommu", "");
  b_.MakeDirs("sys/kernel/iommu_groups/0");
  EXPECT_THAT(CheckIommuActive(View()),
              AllOf(HasVerdict(Verdict::kWarn), SummaryHas("cannot read"),
                    EvidenceHas("sys/class/iommu")));
}

// ------------------------------------------------------ kernel cmdline

struct CmdlineCase {
  const char* label;
  const char* cpuinfo;
  const char* table;  // firmware table present, or nullptr
  bool iommu_active;
  const char* cmdline;
  Verdict want;
  const char* want_text;  // in summary (PASS) or fix (FAIL)
};

TEST(KernelCmdlineCheckTest, Table) {
  const CmdlineCase cases[] = {
      {"intel on", kIntelCpu, "DMAR", true, "ro intel_iommu=on,sm_on iommu=pt",
       Verdict::kPass, "intel_iommu=on, iommu=pt"},
      {"intel missing", kIntelCpu, "DMAR", false, "ro quiet", Verdict::kFail,
       "add intel_iommu=on iommu=pt"},
      {"intel default on", kIntelCpu, "DMAR", true, "ro quiet", Verdict::kPass,
       "Intel IOMMU on by kernel default"},
      {"intel off", kIntelCpu, "DMAR", false, "intel_iommu=off", Verdict::kFail,
       "replace intel_iommu=off with intel_iommu=on"},
      {"dash spelling", kIntelCpu, "DMAR", false, "intel-iommu=on",
       Verdict::kPass, "intel_iommu=on"},
      {"after --", kIntelCpu, "DMAR", false, "ro -- intel_iommu=on",
       Verdict::kFail, "add intel_iommu=on"},
      {"quoted", kIntelCpu, "DMAR", false, R"(x="a b" "intel_iommu=on")",
       Verdict::kPass, "intel_iommu=on"},
      {"amd default", kAmdCpu, "IVRS", true, "ro", Verdict::kPass,
       "AMD-Vi not disabled"},
      {"amd off", kAmdCpu, "IVRS", false, "amd_iommu=off", Verdict::kFail,
       "remove amd_iommu=off"},
      {"iommu off", kIntelCpu, "DMAR", false, "intel_iommu=on iommu=off",
       Verdict::kFail, "remove iommu=off"},
      {"intremap off", kIntelCpu, "DMAR", true, "intel_iommu=on intremap=off",
       Verdict::kFail, "remove intremap=off"},
      // DMAR decides the vendor even when the CPU says AMD (QEMU's qemu64).
      {"dmar with amd cpu", kAmdCpu, "DMAR", false, "console=ttyS0",
       Verdict::kFail, "add intel_iommu=on"},
      {"unknown vendor", kArmCpu, nullptr, false, "ro", Verdict::kPass,
       "nothing disables the IOMMU"},
  };
  for (const CmdlineCase& t : cases) {
    SCOPED_TRACE(t.label);
    sk::testing::TempDir d;
    sk::testing::FakeSysfsBuilder b(d.path());
    b.WriteFile("proc/cpuinfo", t.cpuinfo);
    b.WriteFile("proc/cmdline", std::string(t.cmdline) + "\n");
    if (t.table != nullptr) {
      b.WriteFile(std::string("sys/firmware/acpi/tables/") + t.table, "");
    }
    if (t.iommu_active) b.MakeDirs("sys/class/iommu/dmar0");
    Roots r;
    r.sysfs = r.proc = d.path();
    Check c = CheckKernelCmdline(HostView(r));
    EXPECT_EQ(c.name, "kernel-cmdline");
    EXPECT_EQ(c.verdict, t.want) << ::testing::PrintToString(c);
    if (t.want == Verdict::kPass) {
      EXPECT_THAT(c.summary, HasSubstr(t.want_text));
      EXPECT_THAT(c.fix, IsEmpty());
    } else {
      EXPECT_THAT(c.fix, HasSubstr(t.want_text));
      EXPECT_THAT(c.fix, HasSubstr("GRUB_CMDLINE_LINUX"));
    }
  }
}

TEST_F(DoctorTest, KernelCmdlineReportsPciOptionsAndPassthrough) {
  Write("proc/cpuinfo", kIntelCpu);
  Write("proc/cmdline",
        "BOOT_IMAGE=/vmlinuz ro intel_iommu=on pci=realloc,assign-busses "
        "amd_iommu=on\n");
  Write("sys/firmware/acpi/tables/DMAR", "");
  Check c = CheckKernelCmdline(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kPass),
               EvidenceHas(
                   "intel_iommu=on pci=realloc,assign-busses amd_iommu=on"),
               EvidenceHas("pci=realloc on"), EvidenceHas("pci=assign-busses"),
               EvidenceHas("iommu=pt not set"),
               EvidenceHas("amd_iommu=on is not an amd_iommu option")));
}

TEST_F(DoctorTest, KernelCmdlineWarnsWhenUnreadable) {
  EXPECT_THAT(CheckKernelCmdline(View()),
              AllOf(HasVerdict(Verdict::kWarn), EvidenceHas("proc/cmdline")));
}

// ------------------------------------------------- interrupt remapping

TEST_F(DoctorTest, InterruptRemappingPassesOnIrChips) {
  Write("proc/interrupts",
        "           CPU0\n"
        "  0:   38  IR-IO-APIC    2-edge      timer\n"
        " 24:    0  DMAR-MSI    0-edge      dmar0\n"
        " 25:    0  IR-PCI-MSIX-0000:01:00.0    0-edge      enp1s0\n"
        " 26:    0  IR-PCI-MSI 524288-edge      nvme0q0\n");
  Check c = CheckInterruptRemapping(View());
  EXPECT_EQ(c.name, "interrupt-remapping");
  EXPECT_THAT(c,
              AllOf(HasVerdict(Verdict::kPass),
                    EvidenceHas("3 interrupts through IR-IO-APIC, IR-PCI-MSI, "
                                "IR-PCI-MSIX")));
}

constexpr char kPlainInterrupts[] =
    "           CPU0       CPU1\n"
    " 24:    1    0  IO-APIC   5-edge      ACPI:Ged\n"
    " 28:    0    0 PCI-MSIX-0000:00:01.0   0-edge      virtio0-config\n"
    " 29:    0    0  DMAR-MSI    0-edge      dmar0\n";

TEST_F(DoctorTest, InterruptRemappingWarnsWhenUnsafeAllowed) {
  Write("proc/interrupts", kPlainInterrupts);
  Write("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
        "Y\n");
  Check c = CheckInterruptRemapping(View());
  EXPECT_THAT(
      c,
      AllOf(HasVerdict(Verdict::kWarn), EvidenceHas("no IR- interrupt chips"),
            EvidenceHas("allow_unsafe_interrupts = Y"), FixHas("forge MSIs")));
}

TEST_F(DoctorTest, InterruptRemappingFailsWhenUnsafeNotAllowed) {
  Write("proc/interrupts", kPlainInterrupts);
  Write("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
        "N\n");
  Check c = CheckInterruptRemapping(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kFail),
               EvidenceHas("allow_unsafe_interrupts = N"),
               FixHas("allow_unsafe_interrupts=1"), FixHas("intremap=on")));
}

TEST_F(DoctorTest, InterruptRemappingFailsWhenVfioNotLoaded) {
  Write("proc/interrupts", kPlainInterrupts);
  EXPECT_THAT(CheckInterruptRemapping(View()),
              AllOf(HasVerdict(Verdict::kFail),
                    EvidenceHas("vfio_iommu_type1 not loaded")));
}

TEST_F(DoctorTest, InterruptRemappingWarnsWhenUnreadable) {
  EXPECT_THAT(
      CheckInterruptRemapping(View()),
      AllOf(HasVerdict(Verdict::kWarn), EvidenceHas("proc/interrupts")));
}

// ------------------------------------------------------------- vfio-pci

TEST_F(DoctorTest, VfioPciPassesWhenDriverRegistered) {
  b_.MakeDirs("sys/bus/pci/drivers/vfio-pci");
  Check c = CheckVfioPci(View());
  EXPECT_EQ(c.name, "vfio-pci");
  EXPECT_THAT(c, AllOf(HasVerdict(Verdict::kPass), SummaryHas("registered")));
}

TEST_F(DoctorTest, VfioPciPassesWhenModuleLoaded) {
  b_.MakeDirs("sys/module/vfio_pci/parameters");
  EXPECT_THAT(CheckVfioPci(View()),
              AllOf(HasVerdict(Verdict::kPass), SummaryHas("module loaded")));
}

TEST_F(DoctorTest, VfioPciWarnsWhenOnlyInstalled) {
  Write("proc/sys/kernel/osrelease", "6.1.0-27-amd64\n");
  Write("lib/modules/6.1.0-27-amd64/kernel/drivers/vfio/pci/vfio-pci.ko.xz",
        "");
  Check c = CheckVfioPci(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kWarn),
               EvidenceHas(
                   "6.1.0-27-amd64/kernel/drivers/vfio/pci/vfio-pci.ko.xz"),
               FixHas("modprobe vfio-pci")));
}

TEST_F(DoctorTest, VfioPciFoundThroughModulesDep) {
  Write("proc/sys/kernel/osrelease", "6.1.0-27-amd64\n");
  Write("lib/modules/6.1.0-27-amd64/modules.dep",
        "kernel/drivers/vfio/vfio.ko: kernel/drivers/iommu/iommufd/iommufd.ko\n"
        "updates/dkms/vfio-pci.ko.zst: kernel/drivers/vfio/vfio.ko\n");
  EXPECT_THAT(CheckVfioPci(View()),
              AllOf(HasVerdict(Verdict::kWarn),
                    EvidenceHas("updates/dkms/vfio-pci.ko.zst")));
}

TEST_F(DoctorTest, VfioPciFailsWhenModuleIsForAnotherKernel) {
  Write("proc/sys/kernel/osrelease", "6.18.44\n");
  Write("lib/modules/6.1.0-27-amd64/kernel/drivers/vfio/pci/vfio-pci.ko", "");
  Check c = CheckVfioPci(View());
  EXPECT_THAT(c,
              AllOf(HasVerdict(Verdict::kFail), EvidenceHas("(kernel 6.18.44)"),
                    FixHas("CONFIG_VFIO_PCI")));
}

TEST_F(DoctorTest, VfioPciWarnsWhenReleaseUnknown) {
  EXPECT_THAT(CheckVfioPci(View()),
              AllOf(HasVerdict(Verdict::kWarn), EvidenceHas("osrelease")));
}

// ------------------------------------------------------------ aggregate

TEST(ExitCodeForTest, WorstVerdictWins) {
  auto checks = [](std::vector<Verdict> vs) {
    std::vector<Check> out;
    for (Verdict v : vs) out.push_back(Check{"x", "x", v, "", {}, ""});
    return out;
  };
  EXPECT_EQ(ExitCodeFor({}), kExitOk);
  EXPECT_EQ(ExitCodeFor(checks({Verdict::kPass, Verdict::kSkip})), 0);
  EXPECT_EQ(
      ExitCodeFor(checks({Verdict::kPass, Verdict::kWarn, Verdict::kSkip})), 1);
  EXPECT_EQ(ExitCodeFor(checks({Verdict::kFail, Verdict::kWarn})), 2);
  EXPECT_EQ(ExitCodeFor(checks({Verdict::kWarn, Verdict::kFail})), 2);
}

TEST(VerdictNameTest, Names) {
  EXPECT_STREQ(VerdictName(Verdict::kPass), "PASS");
  EXPECT_STREQ(VerdictName(Verdict::kWarn), "WARN");
  EXPECT_STREQ(VerdictName(Verdict::kFail), "FAIL");
  EXPECT_STREQ(VerdictName(Verdict::kSkip), "SKIP");
}

std::vector<std::string> Names(const std::vector<Check>& checks) {
  std::vector<std::string> n;
  for (const Check& c : checks) n.push_back(c.name);
  return n;
}

TEST(RunAllChecksTest, EmptyRootsFailHonestly) {
  sk::testing::TempDir d;
  Roots r;
  r.sysfs = r.proc = r.dev = d.path();
  std::vector<Check> checks = RunAllChecks(r);
  EXPECT_THAT(
      Names(checks),
      ElementsAre("cpu-virtualization", "firmware-iommu-tables", "iommu-active",
                  "kernel-cmdline", "interrupt-remapping", "vfio-pci",
                  "sriov-nics", "sriov-vfs", "vfio-vfs"));
  EXPECT_EQ(ExitCodeFor(checks), kExitFailure);
  EXPECT_THAT(checks[6],
              AllOf(HasVerdict(Verdict::kFail), SummaryHas("cannot read")));
  EXPECT_THAT(checks[7], HasVerdict(Verdict::kSkip));
  EXPECT_THAT(checks[8], HasVerdict(Verdict::kSkip));
}

TEST(RunAllChecksTest, ReadsEachTreeFromItsOwnRoot) {
  sk::testing::TempDir sys, proc, dev;
  sk::testing::BuildLabGuest(sys.path(), {.with_kvm = true});
  // Move proc/ and dev/ to their own roots: the checks must follow them.
  std::filesystem::rename(sys / "proc", proc / "proc");
  std::filesystem::rename(sys / "dev", dev / "dev");
  Roots r{sys.path(), proc.path(), dev.path()};
  std::vector<Check> checks = RunAllChecks(r);
  for (const Check& c : checks) {
    EXPECT_EQ(c.verdict, Verdict::kPass) << ::testing::PrintToString(c);
  }
  // With the proc root pointing at the sysfs tree, /proc is gone.
  Roots wrong{sys.path(), sys.path(), dev.path()};
  EXPECT_THAT(RunAllChecks(wrong)[0],
              AllOf(HasVerdict(Verdict::kWarn),
                    EvidenceHas((sys / "proc/cpuinfo").string())));
}

// ------------------------------------------------------------ lab guest

TEST(LabGuestTest, EveryPassthroughCheckPasses) {
  sk::testing::TempDir d;
  sk::testing::LabGuest g = sk::testing::BuildLabGuest(d.path());
  Roots r{d.path(), d.path(), d.path()};
  std::vector<Check> checks = RunAllChecks(r);
  ASSERT_EQ(checks.size(), 9u);
  for (size_t i = 1; i < checks.size(); ++i) {
    EXPECT_EQ(checks[i].verdict, Verdict::kPass)
        << ::testing::PrintToString(checks[i]);
  }
  EXPECT_THAT(checks[2], SummaryHas("dmar0 active"));
  EXPECT_THAT(checks[3], SummaryHas("intel_iommu=on"));
  EXPECT_THAT(checks[4], EvidenceHas("IR-IO-APIC, IR-PCI-MSI"));
  EXPECT_THAT(checks[6],
              EvidenceHas("0000:01:00.0 (" + g.pf.netdev +
                          ") driver igb: sriov_totalvfs=7 sriov_numvfs=4"));
  EXPECT_THAT(checks[8],
              AllOf(SummaryHas("1 of 4 VFs bound to vfio-pci"),
                    EvidenceHas("0000:01:10.2: vfio-pci, IOMMU group " +
                                std::to_string(g.vfio_group))));
  // TCG's qemu64 CPU has svm but the lab does not load kvm_amd: a warning,
  // so the guest's exit code is 1.
  EXPECT_THAT(checks[0], AllOf(HasVerdict(Verdict::kWarn),
                               EvidenceHas("svm on 2 of 2 CPUs"),
                               FixHas("modprobe kvm_amd")));
  EXPECT_EQ(ExitCodeFor(checks), kExitWarn);
}

TEST(LabGuestTest, AllPassWithKvm) {
  sk::testing::TempDir d;
  sk::testing::BuildLabGuest(d.path(), {.with_kvm = true});
  std::vector<Check> checks = RunAllChecks(Roots{d.path(), d.path(), d.path()});
  for (const Check& c : checks) {
    EXPECT_EQ(c.verdict, Verdict::kPass) << ::testing::PrintToString(c);
  }
  EXPECT_EQ(ExitCodeFor(checks), kExitOk);
}

}  // namespace
}  // namespace sk::doctor
