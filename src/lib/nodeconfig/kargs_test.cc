#include "lib/nodeconfig/kargs.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <nlohmann/json.hpp>

#include "lib/base/file_util.h"
#include "lib/nodeconfig/bootloader.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::nodeconfig {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const KernelArg kIntelOn{"intel_iommu", "on", ""};
const KernelArg kPt{"iommu", "pt", ""};
const KernelArg kRealloc{"pci", "realloc", ""};

TEST(ArgEffectiveTest, ReadsTheCommandLineAsTheKernelDoes) {
  struct Case {
    std::string cmdline;
    KernelArg arg;
    bool effective;
  };
  const std::vector<Case> cases = {
      {"ro intel_iommu=on", kIntelOn, true},
      // sriov-network-operator issue #359: sm_on is an extra option.
      {"ro intel_iommu=on,sm_on", kIntelOn, true},
      {"ro intel_iommu=sm_on,on", kIntelOn, true},
      {"ro intel-iommu=on", kIntelOn, true},
      {"ro \"intel_iommu=on\"", kIntelOn, true},
      {"intel_iommu=\"on\"", kIntelOn, true},
      {"intel_iommu=on intel_iommu=off", kIntelOn, false},
      {"intel_iommu=off intel_iommu=on", kIntelOn, true},
      {"intel_iommu=off,sm_on", kIntelOn, false},
      {"ro", kIntelOn, false},
      {"ro -- intel_iommu=on", kIntelOn, false},  // init's, not the kernel's
      {"myopt.intel_iommu=on", kIntelOn, false},
      {"iommu=pt", kPt, true},
      {"iommu=pt,nopt", kPt, false},
      {"iommu=nopt iommu=pt", kPt, true},
      {"iommu=off iommu=pt", kPt, false},
      {"iommu.passthrough=1", kPt, true},
      {"iommu=pt iommu.passthrough=0", kPt, false},
      {"iommu=pt amd_iommu=off", kPt, false},
      {"pci=realloc", kRealloc, true},
      {"pci=assign-busses,realloc", kRealloc, true},
      {"pci=realloc=on", kRealloc, true},
      {"pci=realloc pci=realloc=off", kRealloc, false},
      {"pci=nocrs", kRealloc, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cmdline + " / " + c.arg.Text());
    EXPECT_EQ(ArgEffective(doctor::ParseKernelCmdline(c.cmdline), c.arg),
              c.effective);
  }
}

TEST(EditKernelArgsTest, ReplacesConflictsInPlaceAndAppendsTheRest) {
  struct Case {
    std::string in;
    std::vector<KernelArg> want;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"ro quiet", {kIntelOn, kPt}, "ro quiet intel_iommu=on iommu=pt"},
      {"", {kPt}, "iommu=pt"},
      // Already effective: untouched, byte for byte.
      {"ro  intel_iommu=on,sm_on   iommu=pt",
       {kIntelOn, kPt},
       "ro  intel_iommu=on,sm_on   iommu=pt"},
      // Replaced where it was, keeping its other options.
      {"ro intel_iommu=off quiet", {kIntelOn}, "ro intel_iommu=on quiet"},
      {"intel_iommu=off,sm_on quiet", {kIntelOn}, "intel_iommu=sm_on,on quiet"},
      // Duplicates: the first becomes the merged one, later ones go.
      {"intel_iommu=on a intel_iommu=off b", {kIntelOn}, "intel_iommu=on a b"},
      {"intel-iommu=off", {kIntelOn}, "intel_iommu=on"},
      {"iommu=nopt quiet", {kPt}, "iommu=pt quiet"},
      {"iommu.passthrough=0 quiet", {kPt}, "iommu=pt quiet"},
      {"amd_iommu=off iommu=pt", {kPt}, "iommu=pt"},
      {"amd_iommu=fullflush,off", {kPt}, "amd_iommu=fullflush iommu=pt"},
      {"pci=assign-busses", {kRealloc}, "pci=assign-busses,realloc"},
      {"pci=realloc=off,nocrs", {kRealloc}, "pci=nocrs,realloc"},
      // Quoted values keep their quotes; init's arguments stay after "--".
      {"dyndbg=\"file a.c +p\" ro -- single",
       {kPt},
       "dyndbg=\"file a.c +p\" ro iommu=pt -- single"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    std::string out = EditKernelArgs(c.in, c.want);
    EXPECT_EQ(out, c.out);
    // Whatever the edit, the result makes every argument effective, and a
    // second edit changes nothing.
    for (const KernelArg& a : c.want)
      EXPECT_TRUE(ArgEffective(doctor::ParseKernelCmdline(out), a)) << a.Text();
    EXPECT_EQ(EditKernelArgs(out, c.want), out);
  }
}

TEST(DesiredKernelArgsTest, FollowsVendorAndEnomem) {
  auto texts = [](const std::vector<KernelArg>& v) {
    std::vector<std::string> out;
    for (const KernelArg& a : v) out.push_back(a.Text());
    return out;
  };
  EXPECT_THAT(texts(DesiredKernelArgs(true, false, CpuVendor::kIntel)),
              ElementsAre("intel_iommu=on", "iommu=pt"));
  EXPECT_THAT(texts(DesiredKernelArgs(true, false, CpuVendor::kAmd)),
              ElementsAre("iommu=pt"));
  EXPECT_THAT(texts(DesiredKernelArgs(true, true, CpuVendor::kUnknown)),
              ElementsAre("iommu=pt", "pci=realloc"));
  EXPECT_THAT(texts(DesiredKernelArgs(false, true, CpuVendor::kIntel)),
              ElementsAre("pci=realloc"));
  EXPECT_THAT(DesiredKernelArgs(false, false, CpuVendor::kIntel), IsEmpty());
}

void Put(const std::filesystem::path& p, const std::string& text) {
  ASSERT_THAT(MakeDirs(p.parent_path()), IsOk());
  std::ofstream(p) << text;
}

TEST(DetectCpuVendorTest, ReadsVendorId) {
  sk::testing::TempDir d;
  EXPECT_THAT(DetectCpuVendor(d.path()).status(),
              StatusIs(absl::StatusCode::kNotFound));
  struct Case {
    std::string cpuinfo;
    CpuVendor want;
  };
  for (const Case& c : std::vector<Case>{
           {"processor\t: 0\nvendor_id\t: GenuineIntel\n", CpuVendor::kIntel},
           {"processor\t: 0\nvendor_id\t: AuthenticAMD\n", CpuVendor::kAmd},
           {"processor\t: 0\nBogoMIPS\t: 50.00\n", CpuVendor::kUnknown},
       }) {
    SCOPED_TRACE(c.cpuinfo);
    Put(d / "proc/cpuinfo", c.cpuinfo);
    absl::StatusOr<CpuVendor> v = DetectCpuVendor(d.path());
    ASSERT_THAT(v.status(), IsOk());
    EXPECT_EQ(*v, c.want);
  }
}

TEST(DetectIommuVendorTest, FirmwareTableDecidesBeforeTheCpu) {
  const std::string tables = "sys/firmware/acpi/tables/";
  struct Case {
    const char* name;
    std::vector<std::string> tables;  // present under sys/firmware/...
    std::string cpuinfo;              // "" = no proc/cpuinfo
    CpuVendor want;
    VendorSource want_source;
  };
  for (const Case& c : std::vector<Case>{
           {"DMAR only",
            {"DMAR"},
            "",
            CpuVendor::kIntel,
            VendorSource::kAcpiDmar},
           {"IVRS only",
            {"IVRS"},
            "",
            CpuVendor::kAmd,
            VendorSource::kAcpiIvrs},
           {"neither, AMD cpu",
            {"APIC"},
            "vendor_id\t: AuthenticAMD\n",
            CpuVendor::kAmd,
            VendorSource::kCpuinfo},
           {"neither, Intel cpu",
            {},
            "vendor_id\t: GenuineIntel\n",
            CpuVendor::kIntel,
            VendorSource::kCpuinfo},
           {"DMAR with an AMD cpu (QEMU intel-iommu)",
            {"DMAR", "APIC"},
            "vendor_id\t: AuthenticAMD\n",
            CpuVendor::kIntel,
            VendorSource::kAcpiDmar},
       }) {
    SCOPED_TRACE(c.name);
    sk::testing::TempDir d;
    for (const std::string& t : c.tables) Put(d / (tables + t), "table");
    if (!c.cpuinfo.empty()) Put(d / "proc/cpuinfo", c.cpuinfo);
    absl::StatusOr<IommuVendor> v = DetectIommuVendor(d.path());
    ASSERT_THAT(v.status(), IsOk());
    EXPECT_EQ(v->vendor, c.want);
    EXPECT_EQ(v->source, c.want_source);
  }
  sk::testing::TempDir empty;
  EXPECT_THAT(DetectIommuVendor(empty.path()).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

// Records commands; fails any that is not expected.
class RecordingRunner : public CommandRunner {
 public:
  absl::StatusOr<CommandResult> Run(
      const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    return CommandResult{0, ""};
  }
  std::vector<std::vector<std::string>> calls;
};

class PlanKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    in_.root = d_.path();
    in_.want_vfio = true;
    Put(d_ / "proc/cpuinfo", "vendor_id\t: GenuineIntel\n");
    Put(d_ / "etc/default/grub",
        "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
        "GRUB_CMDLINE_LINUX=\"\"\n");
    ASSERT_THAT(MakeDirs(d_ / "etc/default/grub.d"), IsOk());
  }
  sk::testing::TempDir d_;
  KernelInputs in_;
  RecordingRunner runner_;
};

TEST_F(PlanKernelTest, DmarTableWinsOverAnAmdCpuAndTheOutputSaysSo) {
  Put(d_ / "proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
  Put(d_ / "sys/firmware/acpi/tables/DMAR", "table");
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_EQ(p->vendor, CpuVendor::kIntel);
  EXPECT_EQ(p->vendor_source, VendorSource::kAcpiDmar);
  ASSERT_FALSE(p->args.empty());
  EXPECT_EQ(p->args[0].arg.Text(), "intel_iommu=on");
  EXPECT_THAT(FormatKernelPlanText(*p),
              HasSubstr("iommu intel from acpi-dmar"));
  nlohmann::json j = nlohmann::json::parse(FormatKernelPlanJson(*p));
  EXPECT_EQ(j["cpuVendor"], "intel");
  EXPECT_EQ(j["vendorSource"], "acpi-dmar");
}

TEST_F(PlanKernelTest, WithoutAcpiTablesTheCpuDecides) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_EQ(p->vendor, CpuVendor::kIntel);
  EXPECT_EQ(p->vendor_source, VendorSource::kCpuinfo);
  nlohmann::json j = nlohmann::json::parse(FormatKernelPlanJson(*p));
  EXPECT_EQ(j["vendorSource"], "cpuinfo");
  EXPECT_THAT(FormatKernelPlanText(*p), HasSubstr("iommu intel from cpuinfo"));
}

TEST_F(PlanKernelTest, EffectiveArgumentsNeverChangeAnything) {
  Put(d_ / "proc/cmdline",
      "BOOT_IMAGE=/vmlinuz ro intel_iommu=on,sm_on "
      "iommu=pt quiet\n");
  Put(d_ / "etc/modules-load.d/sriovkit-vfio.conf", "x");
  ASSERT_THAT(MakeDirs(d_ / "etc/modules-load.d"), IsOk());
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_FALSE(p->needs_write());
  EXPECT_FALSE(p->needs_reboot());
  ASSERT_EQ(p->args.size(), 2u);
  EXPECT_EQ(p->args[0].state, ArgState::kEffective);
  // Running but not in the GRUB defaults: a warning, never a write.
  EXPECT_TRUE(p->args[0].lost_at_next_boot);
  EXPECT_EQ(p->modules_load, ModulesLoadAction::kWrite);  // wrong contents
  absl::StatusOr<KernelApplyResult> r = ApplyKernel(*p, in_, runner_);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_FALSE(r->needs_reboot);
  EXPECT_THAT(r->effective, ElementsAre("intel_iommu=on", "iommu=pt"));
  EXPECT_THAT(runner_.calls, IsEmpty());
  EXPECT_FALSE(
      std::filesystem::exists(d_ / "etc/default/grub.d/99-sriovkit.cfg"));
}

TEST_F(PlanKernelTest, MissingThenPendingThenNothing) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  Put(d_ / "usr/sbin/update-grub", "");
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_EQ(p->bootloader, "grub-defaults");
  EXPECT_TRUE(p->needs_write());
  EXPECT_EQ(p->modules_load, ModulesLoadAction::kWrite);
  absl::StatusOr<KernelApplyResult> r = ApplyKernel(*p, in_, runner_);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(r->needs_reboot);
  EXPECT_THAT(r->pending_next_boot, ElementsAre("intel_iommu=on", "iommu=pt"));
  EXPECT_THAT(runner_.calls, ElementsAre(ElementsAre("update-grub")));
  absl::StatusOr<std::string> ml =
      ReadFile(d_ / "etc/modules-load.d/sriovkit-vfio.conf");
  ASSERT_THAT(ml.status(), IsOk());
  EXPECT_THAT(*ml, HasSubstr("\nvfio-pci\n"));

  // Second plan: the bootloader has them: pending, no write, still a reboot.
  runner_.calls.clear();
  p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_FALSE(p->changes());
  EXPECT_TRUE(p->needs_reboot());
  EXPECT_EQ(p->args[0].state, ArgState::kPending);
  r = ApplyKernel(*p, in_, runner_);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_THAT(r->steps, IsEmpty());
  EXPECT_THAT(runner_.calls, IsEmpty());

  // After the reboot: effective; vfio no longer wanted removes our drop-in.
  Put(d_ / "proc/cmdline", "ro quiet intel_iommu=on iommu=pt\n");
  in_.want_vfio = false;
  p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_FALSE(p->needs_reboot());
  EXPECT_EQ(p->modules_load, ModulesLoadAction::kRemove);
  r = ApplyKernel(*p, in_, runner_);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_FALSE(
      std::filesystem::exists(d_ / "etc/modules-load.d/sriovkit-vfio.conf"));
}

TEST_F(PlanKernelTest, ForeignModulesLoadFileIsKept) {
  Put(d_ / "proc/cmdline", "ro\n");
  Put(d_ / "etc/modules-load.d/sriovkit-vfio.conf", "vfio-pci\n");
  in_.want_vfio = false;
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  EXPECT_EQ(p->modules_load, ModulesLoadAction::kNone);
  EXPECT_FALSE(p->changes());
}

TEST_F(PlanKernelTest, UnknownBootloaderNamesEveryPlace) {
  Put(d_ / "proc/cmdline", "ro\n");
  std::filesystem::remove(d_ / "etc/default/grub");
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  EXPECT_THAT(p.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p.status().message(), HasSubstr("run/ostree-booted"));
  EXPECT_THAT(p.status().message(), HasSubstr("boot/loader/entries/*.conf"));
  EXPECT_THAT(p.status().message(), HasSubstr("etc/default/grub"));
}

TEST_F(PlanKernelTest, EnomemAddsPciRealloc) {
  Put(d_ / "proc/cmdline", "ro intel_iommu=on iommu=pt\n");
  in_.vf_enomem = true;
  absl::StatusOr<KernelPlan> p = PlanKernel(in_, runner_);
  ASSERT_THAT(p.status(), IsOk());
  ASSERT_EQ(p->args.size(), 3u);
  EXPECT_EQ(p->args[2].arg.Text(), "pci=realloc");
  EXPECT_EQ(p->args[2].state, ArgState::kMissing);
  EXPECT_THAT(FormatKernelPlanText(*p), HasSubstr("reboot needed: yes"));
}

TEST_F(PlanKernelTest, MissingCmdlineIsNotFound) {
  EXPECT_THAT(PlanKernel(in_, runner_).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace sk::nodeconfig
