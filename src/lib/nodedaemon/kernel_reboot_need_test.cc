#include "lib/nodedaemon/kernel_reboot_need.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::nodedaemon {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

void Put(const std::filesystem::path& p, const std::string& text) {
  ASSERT_THAT(MakeDirs(p.parent_path()), IsOk());
  std::ofstream(p) << text;
}

// Records the bootloader tools run (update-grub); runs nothing.
class RecordingRunner : public nodeconfig::CommandRunner {
 public:
  absl::StatusOr<nodeconfig::CommandResult> Run(
      const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    return nodeconfig::CommandResult{0, ""};
  }
  std::vector<std::vector<std::string>> calls;
};

// A GRUB-defaults root (Intel CPU) and the running kernel's command line.
class KernelRebootNeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Put(d_ / "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
    Put(d_ / "etc/default/grub",
        "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
        "GRUB_CMDLINE_LINUX=\"\"\n");
    ASSERT_THAT(MakeDirs(d_ / "etc/default/grub.d"), IsOk());
    Put(d_ / "usr/sbin/update-grub", "");
  }
  KernelRebootNeed Need(bool want_vfio) {
    nodeconfig::KernelInputs in;
    in.root = d_.path();
    in.want_vfio = want_vfio;
    return KernelRebootNeed(in, runner_);
  }
  std::filesystem::path DropIn() const {
    return d_ / "etc/default/grub.d/99-sriovkit.cfg";
  }
  sk::testing::TempDir d_;
  RecordingRunner runner_;
};

TEST_F(KernelRebootNeedTest, SmOnIsEffectiveNoRebootNoBootloaderWrite) {
  Put(d_ / "proc/cmdline",
      "BOOT_IMAGE=/vmlinuz ro intel_iommu=on,sm_on iommu=pt quiet\n");
  KernelRebootNeed need = Need(true);
  absl::StatusOr<drain::RebootNeedStatus> s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_FALSE(s->needed) << s->reason;
  EXPECT_THAT(runner_.calls, IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(DropIn()));
  // Only the modules-load drop-in (vfio-pci at boot) was written.
  EXPECT_THAT(need.last_steps(),
              ElementsAre(HasSubstr("etc/modules-load.d/sriovkit-vfio.conf")));
}

TEST_F(KernelRebootNeedTest, NoVfioWantedNeedsNothing) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  KernelRebootNeed need = Need(false);
  absl::StatusOr<drain::RebootNeedStatus> s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_FALSE(s->needed);
  EXPECT_THAT(runner_.calls, IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(DropIn()));
}

TEST_F(KernelRebootNeedTest, WritesBeforeTheRebootThenPendingThenTookEffect) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  KernelRebootNeed need = Need(false);
  need.SetWantVfio(true);
  absl::StatusOr<drain::RebootNeedStatus> s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_TRUE(s->needed);
  EXPECT_THAT(s->reason,
              HasSubstr("intel_iommu=on iommu=pt are not in effect"));
  EXPECT_THAT(s->reason, HasSubstr("the next boot (grub-defaults) has"));
  // The bootloader configuration was written and regenerated.
  EXPECT_THAT(runner_.calls, ElementsAre(ElementsAre("update-grub")));
  absl::StatusOr<std::string> drop = ReadFile(DropIn());
  ASSERT_THAT(drop.status(), IsOk());
  EXPECT_THAT(*drop, HasSubstr("intel_iommu=on"));
  EXPECT_THAT(*drop, HasSubstr("iommu=pt"));

  // Asked again before the reboot: pending, nothing written again.
  runner_.calls.clear();
  s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_TRUE(s->needed);
  EXPECT_THAT(runner_.calls, IsEmpty());
  EXPECT_THAT(need.last_steps(), IsEmpty());

  // After the boot the command line has them (as the kernel reads them).
  Put(d_ / "proc/cmdline",
      "BOOT_IMAGE=/vmlinuz ro quiet intel-iommu=on iommu=pt\n");
  s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_FALSE(s->needed) << s->reason;
  EXPECT_THAT(runner_.calls, IsEmpty());
}

TEST_F(KernelRebootNeedTest, VfEnomemWantsPciReallocStickyPerPf) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  KernelRebootNeed need = Need(false);
  absl::StatusOr<drain::RebootNeedStatus> s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_FALSE(s->needed);

  need.SetVfEnomem("0000:01:00.0", true);
  need.SetVfEnomem("0000:02:00.0", true);
  s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_TRUE(s->needed);
  EXPECT_THAT(s->reason, HasSubstr("pci=realloc is not in effect"));
  absl::StatusOr<std::string> drop = ReadFile(DropIn());
  ASSERT_THAT(drop.status(), IsOk());
  EXPECT_THAT(*drop, HasSubstr("pci=realloc"));
  EXPECT_THAT(*drop, Not(HasSubstr("iommu")));  // no vfio-pci wanted

  // One PF applied; the other still failed: still wanted.
  need.SetVfEnomem("0000:01:00.0", false);
  EXPECT_TRUE(need.vf_enomem());
  s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_TRUE(s->needed);
  // Both applied: no longer wanted, so no reboot for it.
  need.SetVfEnomem("0000:02:00.0", false);
  EXPECT_FALSE(need.vf_enomem());
  s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_FALSE(s->needed) << s->reason;

  // After the boot with it: effective, nothing to do.
  need.SetVfEnomem("0000:02:00.0", true);
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet pci=realloc\n");
  s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_FALSE(s->needed) << s->reason;
}

TEST_F(KernelRebootNeedTest, ArgumentThatDidNotTakeEffectIsNamed) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  KernelRebootNeed need = Need(true);
  ASSERT_THAT(need.Check().status(), IsOk());
  // "Rebooted", but iommu=pt was overridden later on the command line.
  Put(d_ / "proc/cmdline",
      "BOOT_IMAGE=/vmlinuz ro quiet intel_iommu=on iommu=pt iommu=nopt\n");
  absl::StatusOr<drain::RebootNeedStatus> s = need.Check();
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_TRUE(s->needed);
  EXPECT_THAT(s->reason,
              HasSubstr("kernel argument iommu=pt is not in effect"));
  EXPECT_THAT(s->reason, Not(HasSubstr("intel_iommu=on is")));
  EXPECT_THAT(s->reason, HasSubstr("iommu=nopt"));  // the command line read
}

TEST_F(KernelRebootNeedTest, UnknownBootloaderIsAnErrorNotANoOp) {
  Put(d_ / "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  std::filesystem::remove_all(d_ / "etc/default");
  KernelRebootNeed need = Need(true);
  EXPECT_THAT(need.Check().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("etc/default/grub")));
}

TEST_F(KernelRebootNeedTest, MissingCmdlineIsNotFound) {
  KernelRebootNeed need = Need(true);
  EXPECT_THAT(need.Check().status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace sk::nodedaemon
