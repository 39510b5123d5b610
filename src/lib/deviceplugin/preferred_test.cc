#include "lib/deviceplugin/preferred.h"

#include <algorithm>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/deviceplugin_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Three PFs of 4 vfio-pci VFs each: PF A (VFs 0000:02:00.0-3) and PF B
// (0000:04:00.0-3) on NUMA node 0, PF C (0000:06:00.0-3) on node 1.
class PreferredTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_.AddPf("0000:01:00.0", "pfa", 4, "vfio-pci", 10, /*numa=*/0);
    fx_.AddPf("0000:03:00.0", "pfb", 4, "vfio-pci", 20, /*numa=*/0);
    fx_.AddPf("0000:05:00.0", "pfc", 4, "vfio-pci", 30, /*numa=*/1);
  }
  Pool MakePool(const std::string& policy_json) {
    auto c = ParseConfig(R"({"resourceList":[{"resourceName":"vf",)" +
                             policy_json + R"("selectors":{}}]})",
                         "config.json", "intel.com");
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(c->pool_errors.empty()) << c->pool_errors[0];
    EXPECT_TRUE(c->warnings.empty()) << c->warnings[0];
    Inventory inv = BuildInventory(c->resources, fx_.devices(), fs_, {});
    return inv.pools.at(0);
  }
  std::vector<std::string> All(const Pool& p) {
    std::vector<std::string> out;
    for (const auto& d : p.devices) out.push_back(d.id);
    return out;
  }

  sk::testing::TempDir dir_;
  testing::DpFixture fx_{dir_.path()};
  sysfs::Sysfs fs_{dir_.path()};
};

TEST_F(PreferredTest, PackPfFillsTheMustIncludePfFirstThenTheLargest) {
  Pool pool = MakePool(R"("allocationPolicy":"packPF",)");
  ASSERT_EQ(pool.config.allocation_policy, AllocationPolicy::kPackPf);
  // PF A offers only two VFs: its must-include VF and one more; then the
  // PF with the most offered VFs (C: 4, over B: 3).
  std::vector<std::string> avail = {
      "0000:02:00.1", "0000:02:00.3", "0000:04:00.0",
      "0000:04:00.1", "0000:04:00.2", "0000:06:00.0",
      "0000:06:00.1", "0000:06:00.2", "0000:06:00.3"};
  EXPECT_THAT(
      PreferredDevices(pool, avail, {"0000:02:00.3"}, 4),
      sk::testing::IsOkAndHolds(ElementsAre("0000:02:00.3", "0000:02:00.1",
                                            "0000:06:00.0", "0000:06:00.1")));
  // Without must-include: one PF holds all three.
  EXPECT_THAT(PreferredDevices(pool, All(pool), {}, 3),
              sk::testing::IsOkAndHolds(
                  ElementsAre("0000:02:00.0", "0000:02:00.1", "0000:02:00.2")));
}

TEST_F(PreferredTest, SpreadPfRoundRobinsAcrossPfs) {
  Pool pool = MakePool(R"("allocationPolicy":"spreadPF",)");
  EXPECT_THAT(
      PreferredDevices(pool, All(pool), {}, 4),
      sk::testing::IsOkAndHolds(ElementsAre("0000:02:00.0", "0000:04:00.0",
                                            "0000:06:00.0", "0000:02:00.1")));
  // The must-include VF counts for its PF (A), so B and C come next.
  EXPECT_THAT(PreferredDevices(pool, All(pool), {"0000:02:00.2"}, 3),
              sk::testing::IsOkAndHolds(
                  ElementsAre("0000:02:00.2", "0000:04:00.0", "0000:06:00.0")));
}

TEST_F(PreferredTest, NumaDefaultPrefersTheMustIncludeNodeThenPacks) {
  Pool pool = MakePool("");
  ASSERT_EQ(pool.config.allocation_policy, AllocationPolicy::kNuma);
  // Must-include on node 1 (PF C): the rest of node 1 first, then node 0.
  EXPECT_THAT(PreferredDevices(pool, All(pool), {"0000:06:00.2"}, 6),
              sk::testing::IsOkAndHolds(
                  ElementsAre("0000:06:00.2", "0000:06:00.0", "0000:06:00.1",
                              "0000:06:00.3", "0000:02:00.0", "0000:02:00.1")));
  // Without must-include: the node with the most offered devices (node 0:
  // 8 against 4), packed on one PF.
  EXPECT_THAT(
      PreferredDevices(pool, All(pool), {}, 2),
      sk::testing::IsOkAndHolds(ElementsAre("0000:02:00.0", "0000:02:00.1")));
  // Node 1 offers more when node 0 is mostly taken.
  std::vector<std::string> avail = {"0000:02:00.0", "0000:06:00.0",
                                    "0000:06:00.1"};
  EXPECT_THAT(
      PreferredDevices(pool, avail, {}, 2),
      sk::testing::IsOkAndHolds(ElementsAre("0000:06:00.0", "0000:06:00.1")));
}

TEST_F(PreferredTest, AnswerDoesNotDependOnTheOrderOffered) {
  for (const char* policy : {"numa", "packPF", "spreadPF"}) {
    SCOPED_TRACE(policy);
    Pool pool =
        MakePool(std::string(R"("allocationPolicy":")") + policy + "\",");
    std::vector<std::string> avail = All(pool);
    auto want = PreferredDevices(pool, avail, {"0000:04:00.1"}, 5);
    ASSERT_TRUE(want.ok()) << want.status();
    std::mt19937 rng(7);
    for (int i = 0; i < 5; ++i) {
      std::shuffle(avail.begin(), avail.end(), rng);
      EXPECT_THAT(PreferredDevices(pool, avail, {"0000:04:00.1"}, 5),
                  sk::testing::IsOkAndHolds(*want));
    }
  }
}

TEST_F(PreferredTest, UnhealthyAndUnknownIdsOnlyFillTheRest) {
  Pool pool = MakePool(R"("allocationPolicy":"packPF",)");
  for (auto& d : pool.devices) {
    if (d.id == "0000:02:00.0") d.healthy = false;
  }
  std::vector<std::string> avail = {"0000:99:00.0", "0000:02:00.0",
                                    "0000:02:00.1"};
  EXPECT_THAT(PreferredDevices(pool, avail, {}, 3),
              sk::testing::IsOkAndHolds(
                  ElementsAre("0000:02:00.1", "0000:02:00.0", "0000:99:00.0")));
}

TEST_F(PreferredTest, InconsistentRequestsAreRefusedNamingTheField) {
  Pool pool = MakePool("");
  std::vector<std::string> all = All(pool);
  EXPECT_THAT(PreferredDevices(pool, all, {}, 13),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("allocation_size 13: must be between the 0 "
                                 "must-include and the 12 available")));
  EXPECT_THAT(PreferredDevices(pool, all, {"0000:02:00.0", "0000:02:00.1"}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("allocation_size 1")));
  EXPECT_THAT(PreferredDevices(pool, {"0000:02:00.0"}, {"0000:04:00.0"}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must_include_deviceIDs[0]: device ID "
                                 "\"0000:04:00.0\" is not in "
                                 "available_deviceIDs")));
  EXPECT_THAT(PreferredDevices(pool, {"0000:02:00.0", "0000:02:00.0"}, {}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("available_deviceIDs[1]: device ID "
                                 "\"0000:02:00.0\" offered twice")));
  std::vector<std::string> huge(kMaxPreferredIds + 1);
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = std::to_string(i);
  EXPECT_THAT(PreferredDevices(pool, huge, {}, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("available_deviceIDs: 16385 device IDs; at "
                                 "most 16384 are accepted")));
}

TEST_F(PreferredTest, UnknownPolicyIsAConfigErrorNamingTheValue) {
  auto c = ParseConfig(
      R"({"resourceList":[{"resourceName":"vf","allocationPolicy":"fast",
          "selectors":{}}]})",
      "config.json", "intel.com");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->pool_errors.size(), 1u);
  EXPECT_EQ(c->pool_errors[0].message(),
            "config.json: resourceList[0].allocationPolicy: expected one of "
            "\"numa\", \"packPF\", \"spreadPF\", got \"fast\"");
}

}  // namespace
}  // namespace sk::deviceplugin
