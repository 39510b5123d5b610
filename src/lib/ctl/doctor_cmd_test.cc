#include "lib/ctl/doctor_cmd.h"

#include <sstream>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lib/base/exit_code.h"
#include "tests/testing/ctl_runner.h"
#include "tests/testing/fake_lab_guest.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Result = ::sk::testing::CtlResult;

// Parses `args` as sriovctl would (global flags + the doctor subcommand) and
// runs the selected command.
Result RunCtl(std::vector<std::string> args) {
  return ::sk::testing::RunCtl(
      [](CLI::App& app, const CtlOptions& o, RunFn* run) {
        AddDoctorCommand(app, o, run);
      },
      std::move(args));
}

std::vector<std::string> Roots(const std::filesystem::path& root,
                               std::vector<std::string> rest) {
  std::vector<std::string> args = {"--sysfs-root", root.string(),
                                   "--proc-root",  root.string(),
                                   "--dev-root",   root.string()};
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

TEST(DoctorCmdTest, LabGuestWithoutKvmWarns) {
  sk::testing::TempDir d;
  sk::testing::BuildLabGuest(d.path());
  Result r = RunCtl(Roots(d.path(), {"doctor"}));
  EXPECT_EQ(r.code, kExitWarn);
  EXPECT_THAT(r.out,
              HasSubstr("PASS  IOMMU active [iommu-active]: dmar0 active"));
  EXPECT_THAT(r.out,
              HasSubstr("PASS  Interrupt remapping [interrupt-remapping]"));
  EXPECT_THAT(r.out, HasSubstr("PASS  vfio-pci driver [vfio-pci]"));
  EXPECT_THAT(r.out, HasSubstr("WARN  CPU virtualization (VT-x/AMD-V) "
                               "[cpu-virtualization]: svm present but /dev/kvm "
                               "missing"));
  EXPECT_THAT(r.out,
              HasSubstr("      fix: Load the KVM module: modprobe kvm_amd"));
  EXPECT_THAT(r.out,
              HasSubstr("8 passed, 1 warnings, 0 failed, 0 skipped: usable, "
                        "see warnings (exit 1)"));
}

TEST(DoctorCmdTest, LabGuestWithKvmPassesEverything) {
  sk::testing::TempDir d;
  sk::testing::BuildLabGuest(d.path(), {.with_kvm = true});
  Result r = RunCtl(Roots(d.path(), {"doctor"}));
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, Not(HasSubstr("fix:")));
  EXPECT_THAT(r.out,
              HasSubstr("9 passed, 0 warnings, 0 failed, 0 skipped: ready for "
                        "VM passthrough (exit 0)"));
}

TEST(DoctorCmdTest, EmptyHostFailsWithFixes) {
  sk::testing::TempDir d;
  Result r = RunCtl(Roots(d.path(), {"doctor"}));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("FAIL  SR-IOV capable NICs [sriov-nics]"));
  EXPECT_THAT(r.out, HasSubstr("SKIP  VFs created [sriov-vfs]: skipped"));
  EXPECT_THAT(r.out, HasSubstr("(exit 2)"));
  EXPECT_THAT(r.out,
              HasSubstr("sriovctl doctor: sysfs root " + d.path().string()));
}

TEST(DoctorCmdTest, JsonFollowsTheSchema) {
  sk::testing::TempDir d;
  sk::testing::LabGuest g = sk::testing::BuildLabGuest(d.path());
  Result r = RunCtl(Roots(d.path(), {"doctor", "--json"}));
  EXPECT_EQ(r.code, kExitWarn);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["schema"], "sriovkit.doctor/v1");
  EXPECT_EQ(j["roots"]["sysfs"], d.path().string());
  EXPECT_EQ(j["roots"]["proc"], d.path().string());
  EXPECT_EQ(j["roots"]["dev"], d.path().string());
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(
      j["summary"],
      nlohmann::json({{"pass", 8}, {"warn", 1}, {"fail", 0}, {"skip", 0}}));
  ASSERT_EQ(j["checks"].size(), 9u);
  std::vector<std::string> names;
  for (const auto& c : j["checks"]) {
    names.push_back(c["name"]);
    EXPECT_TRUE(c["title"].is_string());
    EXPECT_TRUE(c["summary"].is_string());
    EXPECT_TRUE(c["evidence"].is_array());
    EXPECT_TRUE(c["fix"].is_string());
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre(
                  "cpu-virtualization", "firmware-iommu-tables", "iommu-active",
                  "kernel-cmdline", "interrupt-remapping", "vfio-pci",
                  "sriov-nics", "sriov-vfs", "vfio-vfs"));
  const auto& cpu = j["checks"][0];
  EXPECT_EQ(cpu["verdict"], "WARN");
  EXPECT_THAT(cpu["fix"].get<std::string>(), HasSubstr("modprobe kvm_amd"));
  const auto& vfio = j["checks"][8];
  EXPECT_EQ(vfio["verdict"], "PASS");
  EXPECT_EQ(vfio["fix"], "");
  EXPECT_THAT(vfio["evidence"][0].get<std::string>(),
              HasSubstr(g.vfio_vf + ": vfio-pci, IOMMU group"));
}

TEST(DoctorCmdTest, JsonExitCodeMatchesTextOnFailure) {
  sk::testing::TempDir d;
  Result r = RunCtl(Roots(d.path(), {"doctor", "--json"}));
  EXPECT_EQ(r.code, kExitFailure);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_GE(j["summary"]["fail"].get<int>(), 1);
}

TEST(DoctorCmdTest, MissingRootIsNotFoundNamingTheFlag) {
  sk::testing::TempDir d;
  Result r = RunCtl({"doctor", "--dev-root", (d / "nope").string()});
  EXPECT_EQ(r.code, kExitNoInput);
  EXPECT_EQ(r.err, "sriovctl doctor: --dev-root " + (d / "nope").string() +
                       ": no such directory\n");
  EXPECT_EQ(r.out, "");
}

TEST(DoctorCmdTest, UnknownFlagIsUsageError) {
  Result r = RunCtl({"doctor", "--jsn"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--jsn"));
}

TEST(DoctorCmdTest, TextWrapsLongLinesUnderTheirLabel) {
  std::vector<doctor::Check> checks = {{"x",
                                        "X",
                                        doctor::Verdict::kFail,
                                        "s",
                                        {},
                                        std::string(30, 'a') + " " +
                                            std::string(40, 'b') + " " +
                                            std::string(40, 'c')}};
  std::string out = FormatDoctorText(doctor::Roots{}, checks);
  EXPECT_THAT(out, HasSubstr("      fix: " + std::string(30, 'a') + " " +
                             std::string(40, 'b') + "\n           " +
                             std::string(40, 'c') + "\n"));
}

}  // namespace
}  // namespace sk::ctl
