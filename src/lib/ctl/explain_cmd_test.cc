#include "lib/ctl/explain_cmd.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/exit_code.h"
#include "tests/testing/ctl_runner.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

using ::testing::HasSubstr;

::sk::testing::CtlResult RunExplain(std::vector<std::string> args) {
  return ::sk::testing::RunCtl(
      [](CLI::App& app, const CtlOptions& o, RunFn* run) {
        AddExplainCommand(app, o, run);
      },
      std::move(args));
}

TEST(ExplainCmdTest, ExplainsAFixtureTreeAsTableAndJson) {
  ::sk::testing::TempDir dir;
  ::sk::testing::FakeSysfsBuilder b(dir.path());
  ::sk::testing::FakeCardOptions co;
  co.vf_driver = "vfio-pci";
  auto pfs = ::sk::testing::AddIntel82576(b, co);
  ASSERT_TRUE(b.ok());
  std::string cfg = (dir.path() / "config.json").string();
  std::ofstream(cfg) << R"({"resourceList":[{"resourceName":"vfio",
      "selectors":{"pfNames":[")" +
                            pfs[0].netdev + R"(#0-1"]}}]})";
  auto r = RunExplain(
      {"--sysfs-root", dir.path().string(), "explain", "--config", cfg});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("DEVICE  "));
  EXPECT_THAT(r.out, HasSubstr(pfs[0].bdf + "  8086:10c9"));
  EXPECT_THAT(r.out, HasSubstr("PF with 7 VFs (its VFs are candidates)"));
  EXPECT_THAT(r.out, HasSubstr(pfs[0].vfs[1] + "  8086:10ca  vfio-pci  " +
                               pfs[0].bdf + "  intel.com/vfio  0"));
  EXPECT_THAT(r.out, HasSubstr("intel.com/vfio selector 0: pfNames: PF \"" +
                               pfs[0].netdev + "\" VF 2 not in [" +
                               pfs[0].netdev + "#0-1]"));

  r = RunExplain({"--sysfs-root", dir.path().string(), "explain", "--config",
                  cfg, "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"pool\": \"intel.com/vfio\""));
  EXPECT_THAT(r.out, HasSubstr("\"excluded\": \"pf\""));
}

TEST(ExplainCmdTest, BadConfigIsADataErrorNamingTheKey) {
  ::sk::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "sys/bus/pci/devices");
  std::string cfg = (dir.path() / "config.json").string();
  std::ofstream(cfg) << R"({"resourceList":[{"resourceName":"v",
      "allocationPolicy":"fast","selectors":{}}]})";
  auto r = RunExplain(
      {"--sysfs-root", dir.path().string(), "explain", "--config", cfg});
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_THAT(r.err, HasSubstr("sriovctl explain: " + cfg +
                               ": resourceList[0].allocationPolicy: expected "
                               "one of \"numa\", \"packPF\", \"spreadPF\", "
                               "got \"fast\""));
  r = RunExplain({"explain"});
  EXPECT_EQ(r.code, kExitUsage);
}

}  // namespace
}  // namespace sk::ctl
