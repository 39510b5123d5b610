// The sriovctl command line as a whole (every subcommand registered, as
// src/cmd/sriovctl/main.cc does): global flags in any position, --help of
// every subcommand, unknown and missing commands, input path checks.
#include "lib/ctl/ctl.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lib/base/exit_code.h"
#include "lib/ctl/doctor_cmd.h"
#include "lib/ctl/inventory_cmd.h"
#include "lib/ctl/kubevirt_cmd.h"
#include "lib/version/version.h"
#include "tests/testing/ctl_runner.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Result = ::sk::testing::CtlResult;

void AddAll(CLI::App& app, const CtlOptions& o, RunFn* run) {
  static const std::vector<std::string> kNoEnv;
  AddDoctorCommand(app, o, run);
  AddKubevirtCommand(app, o, run, &kNoEnv);
  AddInventoryCommand(app, o, run);
}

Result RunCtl(std::vector<std::string> args) {
  return ::sk::testing::RunCtl(AddAll, std::move(args));
}

// Every subcommand path ("doctor", "kubevirt domain", ...) of the real tree.
std::vector<std::vector<std::string>> CommandPaths() {
  CLI::App app{"", "sriovctl"};
  CtlOptions o;
  RunFn run;
  AddAll(app, o, &run);
  std::vector<std::vector<std::string>> out;
  std::function<void(CLI::App*, std::vector<std::string>)> walk =
      [&](CLI::App* a, std::vector<std::string> path) {
        for (CLI::App* s : a->get_subcommands([](CLI::App*) { return true; })) {
          if (s->get_name().empty()) continue;
          std::vector<std::string> p = path;
          p.push_back(s->get_name());
          out.push_back(p);
          walk(s, p);
        }
      };
  walk(&app, {});
  return out;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

TEST(CtlGlobalFlagsTest, EveryHelpListsTheGlobalFlags) {
  std::vector<std::vector<std::string>> paths = CommandPaths();
  ASSERT_GE(paths.size(), 7u);  // doctor, inventory, kubevirt + its 4
  paths.push_back({});          // sriovctl --help itself
  for (std::vector<std::string> p : paths) {
    SCOPED_TRACE(Joined(p));
    p.push_back("--help");
    Result r = RunCtl(p);
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_THAT(r.out, HasSubstr("Global options:"));
    for (const char* flag :
         {"--sysfs-root DIR", "--proc-root DIR", "--dev-root DIR", "--version"})
      EXPECT_THAT(r.out, HasSubstr(flag));
    EXPECT_THAT(r.out, HasSubstr("env SRIOVKIT_SYSFS_ROOT"));
  }
}

TEST(CtlGlobalFlagsTest, VersionAfterAnySubcommand) {
  for (std::vector<std::string> p : CommandPaths()) {
    SCOPED_TRACE(Joined(p));
    p.push_back("--version");
    Result r = RunCtl(p);
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(r.out, sk::version::VersionLine("sriovctl") + "\n");
  }
}

// doctor --json reports the roots it used, so it shows where each flag went.
nlohmann::json DoctorRoots(const std::vector<std::string>& args) {
  Result r = RunCtl(args);
  EXPECT_NE(r.code, kExitUsage) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j["roots"];
}

TEST(CtlGlobalFlagsTest, DoctorAcceptsRootsBeforeOrAfterTheSubcommand) {
  sk::testing::TempDir a, b;
  const std::string pa = a.path().string(), pb = b.path().string();
  nlohmann::json want = {{"sysfs", pa}, {"proc", pa}, {"dev", pa}};
  EXPECT_EQ(DoctorRoots({"doctor", "--json", "--sysfs-root", pa, "--proc-root",
                         pa, "--dev-root", pa}),
            want);
  EXPECT_EQ(DoctorRoots({"--sysfs-root", pa, "--proc-root", pa, "--dev-root",
                         pa, "doctor", "--json"}),
            want);
  // Given on both sides, the one after the subcommand wins.
  EXPECT_EQ(DoctorRoots({"--sysfs-root", pa, "doctor", "--sysfs-root", pb,
                         "--json"})["sysfs"],
            pb);
}

TEST(CtlGlobalFlagsTest, EnvironmentIsTheDefaultAndAFlagOverridesIt) {
  sk::testing::TempDir a, b;
  ASSERT_EQ(::setenv("SRIOVKIT_PROC_ROOT", a.path().c_str(), 1), 0);
  nlohmann::json from_env = DoctorRoots({"doctor", "--json"});
  nlohmann::json from_flag =
      DoctorRoots({"doctor", "--json", "--proc-root", b.path().string()});
  nlohmann::json flag_before =
      DoctorRoots({"--proc-root", b.path().string(), "doctor", "--json"});
  ::unsetenv("SRIOVKIT_PROC_ROOT");
  EXPECT_EQ(from_env["proc"], a.path().string());
  EXPECT_EQ(from_flag["proc"], b.path().string());
  EXPECT_EQ(flag_before["proc"], b.path().string());
}

TEST(CtlGlobalFlagsTest, NestedSubcommandAcceptsThemAnywhere) {
  // An empty sysfs root: domain's preflight names the VF's path under it,
  // which proves --sysfs-root reached the command from each position.
  sk::testing::TempDir root;
  const std::string vmi = (std::filesystem::path(SK_CTL_SOURCE_DIR) / ".." /
                           "kubevirt" / "testdata" / "vm-two-sriov.json")
                              .string();
  const std::string info = (root / "network-info").string();
  std::ofstream(info)
      << R"({"interfaces":[{"network":"sriov-a","deviceInfo":{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:01:10.2"}}},)"
         R"({"network":"sriov-b","deviceInfo":{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:01:10.4"}}}]})";
  const std::string r = root.path().string();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--sysfs-root", r, "kubevirt", "domain", "--vmi", vmi,
            "--network-info", info},
           {"kubevirt", "--sysfs-root", r, "domain", "--vmi", vmi,
            "--network-info", info},
           {"kubevirt", "domain", "--vmi", vmi, "--network-info", info,
            "--sysfs-root", r}}) {
    SCOPED_TRACE(Joined(args));
    Result res = RunCtl(args);
    EXPECT_EQ(res.code, kExitNoInput) << res.err;
    EXPECT_THAT(res.err, HasSubstr("no such PCI device " + r +
                                   "/sys/bus/pci/devices/0000:01:10.2"));
  }
}

TEST(CtlUnknownCommandTest, NamesTheWordAndTheClosestCommand) {
  Result r = RunCtl({"invntory"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("sriovctl: unknown command \"invntory\" for "
                               "\"sriovctl\"; did you mean \"inventory\"?\n"));
  EXPECT_THAT(r.out, IsEmpty());

  Result nested = RunCtl({"kubevirt", "domian", "--vmi", "x.yaml"});
  EXPECT_EQ(nested.code, kExitUsage);
  EXPECT_THAT(nested.err,
              HasSubstr("sriovctl: unknown command \"domian\" for \"sriovctl "
                        "kubevirt\"; did you mean \"domain\"?\n"));

  Result with_flag = RunCtl({"--sysfs-root", "/x", "doctr", "--json"});
  EXPECT_EQ(with_flag.code, kExitUsage);
  EXPECT_THAT(with_flag.err, HasSubstr("\"doctr\" for \"sriovctl\"; did you "
                                       "mean \"doctor\"?"));
}

TEST(CtlUnknownCommandTest, FarFromEveryCommandListsThem) {
  Result r = RunCtl({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\" for "
                               "\"sriovctl\"; commands: doctor, kubevirt, "
                               "inventory\n"));
}

TEST(CtlUnknownCommandTest, MissingCommandListsTheChoices) {
  Result top = RunCtl({});
  EXPECT_EQ(top.code, kExitUsage);
  EXPECT_THAT(top.err, HasSubstr("sriovctl: a command is required (one of: "
                                 "doctor, kubevirt, inventory)"));
  Result kv = RunCtl({"kubevirt"});
  EXPECT_EQ(kv.code, kExitUsage);
  EXPECT_THAT(kv.err, HasSubstr("sriovctl kubevirt: a command is required "
                                "(one of: validate, render-pod, network-info, "
                                "domain)"));
}

TEST(CtlUnknownCommandTest, UnknownFlagBeforeAnyCommandIsNamed) {
  Result r = RunCtl({"--bogus"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(
      r.err,
      HasSubstr("sriovctl: unknown flag \"--bogus\" for \"sriovctl\"\n"));
  Result kv = RunCtl({"kubevirt", "--bogus"});
  EXPECT_EQ(kv.code, kExitUsage);
  EXPECT_THAT(kv.err, HasSubstr("sriovctl: unknown flag \"--bogus\" for "
                                "\"sriovctl kubevirt\"\n"));
}

TEST(CtlUnknownCommandTest, UnknownFlagKeepsCliElevensMessage) {
  Result r = RunCtl({"inventory", "--jsn"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--jsn"));
  EXPECT_THAT(r.err, Not(HasSubstr("unknown command")));
}

TEST(ClosestNameTest, Table) {
  const std::vector<std::string> names = {"doctor", "inventory", "kubevirt"};
  struct Case {
    const char* word;
    const char* want;
  } cases[] = {
      {"invntory", "inventory"},                         // deletion
      {"inventroy", "inventory"},                        // transposition
      {"DOCTOR", "doctor"},                              // case
      {"docter", "doctor"},                              // substitution
      {"kubvirt", "kubevirt"},    {"inv", "inventory"},  // prefix
      {"frobnicate", ""},         {"", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.word);
    EXPECT_EQ(ClosestName(c.word, names), c.want);
  }
}

TEST(CheckInputPathTest, CodesAndMessagesNameFlagAndPath) {
  sk::testing::TempDir d;
  std::ofstream(d / "f") << "x";
  ASSERT_EQ(::symlink("loop", (d / "loop").c_str()), 0);
  const std::string p = d.path().string();
  EXPECT_THAT(CheckInputPath("--vmi", d / "f", PathKind::kFile), IsOk());
  EXPECT_THAT(CheckInputPath("--nad-dir", d.path(), PathKind::kDirectory),
              IsOk());
  EXPECT_THAT(
      CheckInputPath("--vmi", "/nope", PathKind::kFile),
      StatusIs(absl::StatusCode::kNotFound, "--vmi /nope: no such file"));
  EXPECT_THAT(CheckInputPath("--nad", d / "f" / "x", PathKind::kFile),
              StatusIs(absl::StatusCode::kNotFound,
                       "--nad " + p + "/f/x: no such file"));
  EXPECT_THAT(CheckInputPath("--nad", d / "loop", PathKind::kFile),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("--nad " + p + "/loop: symlink loop")));
  EXPECT_THAT(CheckInputPath("--vmi", d.path(), PathKind::kFile),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--vmi " + p + ": is a directory, expected a file"));
  EXPECT_THAT(CheckInputPath("--nad-dir", d / "f", PathKind::kDirectory),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--nad-dir " + p + "/f: not a directory"));
}

}  // namespace
}  // namespace sk::ctl
