// Runs the real sriovctl binary (path from the build: SK_SRIOVCTL_PATH) on
// the 8 x 256 scale fixture:
//   sriovctl inventory --sysfs-root <scale fixture> --json
// and checks every PF and VF in its output against the fixture; and checks
// that main wires the command line as the library tests expect (a global
// flag after the subcommand, an unknown command).
#include <stdio.h>
#include <sys/wait.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/fake_sysfs.h"

namespace {

struct Output {
  int exit_code = -1;
  std::string out;
};

Output Exec(const std::string& cmd) {
  Output o;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return o;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) o.out.append(buf, n);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

TEST(SriovctlInventoryBinaryTest, ScaleFixtureJsonLists8PfsAnd2048Vfs) {
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddScaleTree(b);
  ASSERT_TRUE(b.ok());
  Output o = Exec(std::string(SK_SRIOVCTL_PATH) + " inventory --sysfs-root '" +
                  dir.path().string() + "' --json");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  nlohmann::json j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["schema"], "sriovkit.inventory/v1");
  EXPECT_EQ(j["summary"]["pfs"], 8);
  EXPECT_EQ(j["summary"]["vfs"], 2048);
  ASSERT_EQ(j["pfs"].size(), pfs.size());
  size_t vfs = 0;
  for (size_t p = 0; p < pfs.size(); ++p) {
    const auto& jp = j["pfs"][p];
    ASSERT_EQ(jp["address"], pfs[p].bdf);
    ASSERT_EQ(jp["vfs"].size(), pfs[p].vfs.size());
    for (size_t i = 0; i < pfs[p].vfs.size(); ++i) {
      const auto& jv = jp["vfs"][i];
      SCOPED_TRACE(pfs[p].vfs[i]);
      ASSERT_EQ(jv["address"], pfs[p].vfs[i]);
      ASSERT_EQ(jv["pf"], pfs[p].bdf);
      ASSERT_EQ(jv["vf_index"], i);
      ASSERT_EQ(jv["iommu_group"], b.IommuGroupOf(pfs[p].vfs[i]).value());
      ++vfs;
    }
  }
  EXPECT_EQ(vfs, 2048u);
}

TEST(SriovctlBinaryTest, GlobalFlagAfterTheSubcommand) {
  sk::testing::FakeSysfsDir dir;
  const std::string root = dir.path().string();
  Output o =
      Exec(std::string(SK_SRIOVCTL_PATH) + " doctor --json --sysfs-root '" +
           root + "' --proc-root '" + root + "' --dev-root '" + root + "'");
  ASSERT_EQ(o.exit_code, 2) << o.out;  // an empty root fails its checks
  nlohmann::json j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["roots"],
            nlohmann::json({{"sysfs", root}, {"proc", root}, {"dev", root}}));
}

TEST(SriovctlBinaryTest, UnknownCommandNamesTheClosestOne) {
  Output o = Exec(std::string(SK_SRIOVCTL_PATH) + " invntory 2>&1");
  EXPECT_EQ(o.exit_code, 64);
  EXPECT_EQ(o.out,
            "sriovctl: unknown command \"invntory\" for \"sriovctl\"; did "
            "you mean \"inventory\"?\nRun with --help for more "
            "information.\n");
}

}  // namespace
