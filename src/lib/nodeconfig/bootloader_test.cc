#include "lib/nodeconfig/bootloader.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/testdata.h"

namespace sk::nodeconfig {
namespace {

namespace fs = std::filesystem;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const fs::path kGoldens = fs::path(SK_NODECONFIG_TESTDATA) / "kargs";

const std::vector<KernelArg> kIntelVfio = {{"intel_iommu", "on", ""},
                                           {"iommu", "pt", ""}};

void Put(const fs::path& p, const std::string& text) {
  ASSERT_THAT(MakeDirs(p.parent_path()), IsOk());
  std::ofstream(p) << text;
}

std::string Read(const fs::path& p) {
  absl::StatusOr<std::string> s = ReadFile(p);
  return s.ok() ? *s : "<" + std::string(s.status().message()) + ">";
}

// Compares `p` with the golden; SK_UPDATE_GOLDENS=1 rewrites the golden.
void ExpectGolden(const fs::path& p, const std::string& golden) {
  if (getenv("SK_UPDATE_GOLDENS") !=
      nullptr) {  // NOLINT(concurrency-mt-unsafe)
    std::ofstream(kGoldens / golden) << Read(p);
  }
  EXPECT_EQ(Read(p), sk::testing::ReadTestFile(kGoldens, golden)) << golden;
}

// Records commands and answers from a script keyed by argv[0] + argv[1].
class FakeRunner : public CommandRunner {
 public:
  absl::StatusOr<CommandResult> Run(
      const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    std::string key = argv[0] + (argv.size() > 1 ? " " + argv[1] : "");
    if (auto it = replies.find(key); it != replies.end()) return it->second;
    return CommandResult{0, ""};
  }
  std::map<std::string, CommandResult> replies;
  std::vector<std::vector<std::string>> calls;
};

std::string NextBoot(Bootloader& b) {
  absl::StatusOr<std::string> s = b.NextBootArgs();
  EXPECT_THAT(s.status(), IsOk());
  return s.ok() ? *s : "";
}

constexpr char kUbuntuGrub[] =
    "# If you change this file, run 'update-grub'\n"
    "GRUB_DEFAULT=0\n"
    "GRUB_TIMEOUT=5\n"
    "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=off\"\n"
    "GRUB_CMDLINE_LINUX=\"console=ttyS0 dyndbg=\\\"file a.c +p\\\"\"\n";

TEST(GrubDefaultsTest, DropInAndConflictReplacedInPlace) {
  sk::testing::TempDir d;
  Put(d / "etc/default/grub", kUbuntuGrub);
  Put(d / "etc/default/grub.d/50-cloudimg.cfg",
      "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
      "iommu=nopt\"\n");
  Put(d / "usr/sbin/update-grub", "");
  FakeRunner runner;
  absl::StatusOr<std::unique_ptr<Bootloader>> b =
      DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ((*b)->Name(), "grub-defaults");
  EXPECT_EQ(NextBoot(**b),
            "console=ttyS0 dyndbg=\"file a.c +p\" quiet splash intel_iommu=off "
            "iommu=nopt");
  std::vector<std::string> steps;
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  ExpectGolden(d / "etc/default/grub", "grub-dropin.default-grub");
  ExpectGolden(d / "etc/default/grub.d/50-cloudimg.cfg",
               "grub-dropin.50-cloudimg.cfg");
  EXPECT_FALSE(fs::exists(d / "etc/default/grub.d/99-sriovkit.cfg"));
  EXPECT_EQ(Read(d / "etc/default/grub.sriovkit.bak"), kUbuntuGrub);
  EXPECT_THAT(runner.calls, ElementsAre(ElementsAre("update-grub")));
  EXPECT_EQ(NextBoot(**b),
            "console=ttyS0 dyndbg=\"file a.c +p\" quiet splash intel_iommu=on "
            "iommu=pt");

  // Idempotent: nothing written, nothing run.
  steps.clear();
  runner.calls.clear();
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  EXPECT_THAT(steps, IsEmpty());
  EXPECT_THAT(runner.calls, IsEmpty());
}

TEST(GrubDefaultsTest, MissingArgumentsGoToOurDropIn) {
  sk::testing::TempDir d;
  Put(d / "etc/default/grub",
      "GRUB_CMDLINE_LINUX_DEFAULT='quiet'\nGRUB_CMDLINE_LINUX=\"\"\n");
  Put(d / "etc/default/grub.d/10-a.cfg", "# nothing\n");
  Put(d / "usr/sbin/grub2-mkconfig", "");
  Put(d / "boot/grub2/grub.cfg",
      "menuentry 'Linux' {\n  linux /vmlinuz root=/dev/vda ro quiet\n}\n");
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  std::vector<std::string> steps;
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  ExpectGolden(d / "etc/default/grub.d/99-sriovkit.cfg",
               "grub-new.99-sriovkit.cfg");
  EXPECT_FALSE(fs::exists(d / "etc/default/grub.sriovkit.bak"));
  EXPECT_THAT(runner.calls, ElementsAre(ElementsAre("grub2-mkconfig", "-o",
                                                    "/boot/grub2/grub.cfg")));
  // grub.cfg (the fake did not regenerate it) still lacks them: the
  // next Apply regenerates again but writes nothing.
  steps.clear();
  runner.calls.clear();
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  EXPECT_THAT(steps, ElementsAre("ran grub2-mkconfig -o /boot/grub2/grub.cfg"));
}

TEST(GrubDefaultsTest, WithoutGrubDEditsGrubCmdlineLinux) {
  sk::testing::TempDir d;
  Put(d / "etc/default/grub",
      "GRUB_TIMEOUT=1\nGRUB_CMDLINE_LINUX=\"rhgb quiet iommu=pt\"  # ours\n"
      "GRUB_DISABLE_RECOVERY=true\n");
  Put(d / "usr/sbin/grub2-mkconfig", "");
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  std::vector<std::string> steps;
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  ExpectGolden(d / "etc/default/grub", "grub-nodir.default-grub");
  EXPECT_THAT(steps, ElementsAre(HasSubstr("edited "),
                                 "ran grub2-mkconfig -o /boot/grub2/grub.cfg"));
}

TEST(GrubDefaultsTest, NextBootReadsTheDefaultEntryOfGrubCfg) {
  sk::testing::TempDir d;
  Put(d / "etc/default/grub", "GRUB_CMDLINE_LINUX=\"intel_iommu=on\"\n");
  Put(d / "boot/grub/grub.cfg",
      "set default=\"1\"\n"
      "menuentry 'Debian' --class debian $menuentry_id_option 'deb-simple' {\n"
      "\tlinux\t/boot/vmlinuz-6.1 root=UUID=x ro quiet\n"
      "}\n"
      "submenu 'Advanced' {\n"
      "\tmenuentry 'Debian, 6.1 (recovery)' {\n"
      "\t\tlinux /boot/vmlinuz-6.1 root=UUID=x ro single\n"
      "\t}\n"
      "}\n"
      "menuentry 'Second' $menuentry_id_option 'second' {\n"
      "\tlinux\t/boot/vmlinuz-6.2 root=UUID=y ro intel_iommu=on iommu=pt\n"
      "}\n");
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ(NextBoot(**b), "root=UUID=y ro intel_iommu=on iommu=pt");
}

TEST(GrubDefaultsTest, MultiLineValueIsAClearError) {
  sk::testing::TempDir d;
  Put(d / "etc/default/grub", "GRUB_CMDLINE_LINUX=\"quiet\n splash\"\n");
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  absl::StatusOr<std::string> n = (*b)->NextBootArgs();
  EXPECT_THAT(n.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(n.status().message(), HasSubstr("etc/default/grub:1"));
}

constexpr char kEntryOld[] =
    "title Fedora (6.5.6) 39\nversion 6.5.6\nlinux /vmlinuz-6.5.6\n"
    "options root=UUID=x ro rhgb quiet intel_iommu=off\n";
constexpr char kEntryNew[] =
    "title Fedora (6.10.2) 39\nversion 6.10.2\nlinux /vmlinuz-6.10.2\n"
    "options root=UUID=x ro \"acpi_osi=Windows 2020\" iommu=pt iommu=pt\n";

TEST(BlsTest, EditsEveryEntryWithoutGrubby) {
  sk::testing::TempDir d;
  Put(d / "boot/loader/entries/abc-6.5.6.conf", kEntryOld);
  Put(d / "boot/loader/entries/abc-6.10.2.conf", kEntryNew);
  Put(d / "etc/default/grub", "GRUB_CMDLINE_LINUX=\"\"\n");  // BLS first
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ((*b)->Name(), "bls");
  // The newest version (6.10.2 > 6.5.6) boots by default.
  EXPECT_EQ(NextBoot(**b),
            "root=UUID=x ro \"acpi_osi=Windows 2020\" iommu=pt iommu=pt");
  std::vector<std::string> steps;
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  EXPECT_EQ(steps.size(), 2u);
  ExpectGolden(d / "boot/loader/entries/abc-6.5.6.conf", "bls.abc-6.5.6.conf");
  ExpectGolden(d / "boot/loader/entries/abc-6.10.2.conf",
               "bls.abc-6.10.2.conf");
  EXPECT_EQ(Read(d / "boot/loader/entries/abc-6.5.6.conf.sriovkit.bak"),
            kEntryOld);
  steps.clear();
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  EXPECT_THAT(steps, IsEmpty());
  EXPECT_THAT(runner.calls, IsEmpty());
}

TEST(BlsTest, SavedEntryAndKernelopts) {
  sk::testing::TempDir d;
  Put(d / "boot/loader/entries/a-6.5.6.conf",
      "linux /vmlinuz\noptions $kernelopts intel_iommu=on\n");
  Put(d / "boot/loader/entries/a-6.10.2.conf", kEntryNew);
  Put(d / "boot/grub2/grubenv",
      "# GRUB Environment Block\nsaved_entry=a-6.5.6\n"
      "kernelopts=root=/dev/vda ro iommu=pt\n");
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ(NextBoot(**b), "root=/dev/vda ro iommu=pt intel_iommu=on");
}

TEST(BlsTest, GrubbyWhenPresent) {
  sk::testing::TempDir d;
  Put(d / "boot/loader/entries/abc-6.5.6.conf", kEntryOld);
  Put(d / "usr/sbin/grubby", "");
  FakeRunner runner;
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  std::vector<std::string> steps;
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  EXPECT_THAT(runner.calls,
              ElementsAre(ElementsAre("grubby", "--update-kernel=ALL",
                                      "--remove-args=intel_iommu",
                                      "--args=intel_iommu=on iommu=pt")));
  EXPECT_EQ(Read(d / "boot/loader/entries/abc-6.5.6.conf"), kEntryOld);
}

TEST(RpmOstreeTest, DeletesConflictsAndAppends) {
  sk::testing::TempDir d;
  Put(d / "run/ostree-booted", "");
  Put(d / "boot/loader/entries/ostree-1.conf", kEntryOld);  // ignored
  FakeRunner runner;
  runner.replies["rpm-ostree kargs"] =
      CommandResult{0, "rw intel_iommu=off,sm_on iommu=pt\n"};
  auto b = DetectBootloader(d.path(), runner);
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ((*b)->Name(), "rpm-ostree");
  std::vector<std::string> steps;
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  ASSERT_EQ(runner.calls.size(), 2u);
  EXPECT_THAT(runner.calls[1], ElementsAre("rpm-ostree", "kargs",
                                           "--delete=intel_iommu=off,sm_on",
                                           "--append=intel_iommu=sm_on,on"));
  runner.calls.clear();
  runner.replies["rpm-ostree kargs"] =
      CommandResult{0, "rw intel_iommu=sm_on,on iommu=pt\n"};
  steps.clear();
  ASSERT_THAT((*b)->Apply(kIntelVfio, &steps), IsOk());
  EXPECT_EQ(runner.calls.size(), 1u);  // read only
  runner.replies["rpm-ostree kargs"] = CommandResult{1, ""};
  EXPECT_THAT((*b)->NextBootArgs().status(),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(ReplaceFileWithBackupTest, RefusesSymlinksAndKeepsFirstBackup) {
  sk::testing::TempDir d;
  Put(d / "target", "secret");
  fs::create_symlink(d / "target", d / "link");
  EXPECT_THAT(ReplaceFileWithBackup(d / "link", "x").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Read(d / "target"), "secret");
  Put(d / "f", "one");
  chmod((d / "f").c_str(), 0600);
  EXPECT_THAT(ReplaceFileWithBackup(d / "f", "two"),
              sk::testing::IsOkAndHolds(true));
  EXPECT_THAT(ReplaceFileWithBackup(d / "f", "two"),
              sk::testing::IsOkAndHolds(false));
  EXPECT_THAT(ReplaceFileWithBackup(d / "f", "three"),
              sk::testing::IsOkAndHolds(true));
  EXPECT_EQ(Read(d / "f"), "three");
  EXPECT_EQ(Read(d / "f.sriovkit.bak"), "one");
  struct stat st {};
  ASSERT_EQ(stat((d / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ProcessRunnerTest, RunsAndCapturesOutput) {
  ProcessRunner r;
  absl::StatusOr<CommandResult> ok = r.Run({"sh", "-c", "echo hi; exit 3"});
  ASSERT_THAT(ok.status(), IsOk());
  EXPECT_EQ(ok->exit_code, 3);
  EXPECT_EQ(ok->output, "hi\n");
  EXPECT_THAT(r.Run({"/nonexistent/sk-no-such-program"}).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ProcessRunnerTest, ACommandPastItsTimeoutIsKilled) {
  ProcessRunner r("/", absl::Milliseconds(200));
  EXPECT_THAT(r.Run({"sleep", "30"}).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace sk::nodeconfig
