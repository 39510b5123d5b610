#include "lib/deviceplugin/explain.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/deviceplugin_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // PF ens1 with 2 vfio-pci VFs (0000:02:00.0, 0000:02:00.1); an unbound
    // NIC; a NIC carrying the default route; an ixgbe NIC; a NIC pooled by
    // the second pool.
    fx_.AddPf("0000:01:00.0", "ens1", 2, "vfio-pci", 10);
    fx_.Add("0000:05:00.0", 0x020000, 0x8086, 0x1533, "");
    auto& routed = fx_.Add("0000:06:00.0", 0x020000, 0x8086, 0x1533, "igb");
    sysfs::NetDev eth0;
    eth0.name = "eth0";
    routed.netdevs.push_back(eth0);
    fx_.Add("0000:07:00.0", 0x020000, 0x8086, 0x10fb, "ixgbe");
    fx_.Add("0000:08:00.0", 0x020000, 0x15b3, 0x1018, "mlx5_core");
    fx_.MkFile(
        "proc/net/route",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n");
  }
  std::vector<ResourceConfig> Resources() {
    auto c = ParseConfig(R"({"resourceList":[
        {"resourceName":"vfio","selectors":{"drivers":["vfio-pci"],
                                            "pfNames":["ens1#1"]}},
        {"resourceName":"mlx","selectors":[{"vendors":["15b3"]}]}]})",
                         "config.json", "intel.com");
    EXPECT_TRUE(c.ok()) << c.status();
    return c->resources;
  }

  sk::testing::TempDir dir_;
  testing::DpFixture fx_{dir_.path()};
  sysfs::Sysfs fs_{dir_.path()};
};

TEST_F(ExplainTest, TableNamesThePoolOrTheReasonForEveryNetworkFunction) {
  auto v = ExplainDevices(Resources(), fx_.devices(), fs_, {});
  EXPECT_EQ(ExplainTable(v),
            "DEVICE        ID         DRIVER     PF            POOL            "
            "SELECTOR  REASON\n"
            "0000:01:00.0  8086:10c9  igb        -             -               "
            "-         PF with 2 VFs (its VFs are candidates)\n"
            "0000:02:00.0  8086:10ca  vfio-pci   0000:01:00.0  -               "
            "-         intel.com/vfio selector 0: pfNames: PF \"ens1\" VF 0 "
            "not in [ens1#1]; intel.com/mlx selector 0: vendors: \"8086\" not "
            "in [15b3]\n"
            "0000:02:00.1  8086:10ca  vfio-pci   0000:01:00.0  intel.com/vfio  "
            "0         -\n"
            "0000:05:00.0  8086:1533  -          -             -               "
            "-         no driver bound\n"
            "0000:06:00.0  8086:1533  igb        -             -               "
            "-         netdev eth0 has the IPv4 default route "
            "(--exclude-default-route=false keeps it)\n"
            "0000:07:00.0  8086:10fb  ixgbe      -             -               "
            "-         intel.com/vfio selector 0: drivers: \"ixgbe\" not in "
            "[vfio-pci]; intel.com/mlx selector 0: vendors: \"8086\" not in "
            "[15b3]\n"
            "0000:08:00.0  15b3:1018  mlx5_core  -             intel.com/mlx   "
            "0         -\n");
}

TEST_F(ExplainTest, JsonCarriesTheCategory) {
  auto v = ExplainDevices(Resources(), fx_.devices(), fs_,
                          {.exclude_default_route = false});
  std::string j = ExplainJson(v);
  EXPECT_THAT(j, HasSubstr(R"({
      "device": "0000:05:00.0",
      "vendor": "8086",
      "deviceId": "1533",
      "driver": null,
      "pf": null,
      "pool": null,
      "selector": null,
      "excluded": "driver",
      "reason": "no driver bound"
    })"));
  EXPECT_THAT(j, HasSubstr(R"({
      "device": "0000:02:00.1",
      "vendor": "8086",
      "deviceId": "10ca",
      "driver": "vfio-pci",
      "pf": "0000:01:00.0",
      "pool": "intel.com/vfio",
      "selector": 0,
      "excluded": null,
      "reason": null
    })"));
  // Routed NIC no longer excluded for its route: the selectors decide.
  EXPECT_THAT(
      j,
      HasSubstr(
          R"("reason": "intel.com/vfio selector 0: drivers: \"igb\" not in [vfio-pci]; intel.com/mlx selector 0: vendors: \"8086\" not in [15b3]")"));
}

TEST_F(ExplainTest, NoPoolOfTheTypeIsAClassReason) {
  auto c = ParseConfig(
      R"({"resourceList":[{"resourceName":"qat","deviceType":"accelerator",
          "selectors":{"vendors":["8086"]}}]})",
      "config.json", "intel.com");
  ASSERT_TRUE(c.ok());
  fx_.Add("0000:09:00.0", 0x120000, 0x8086, 0x37c9, "vfio-pci");
  auto v = ExplainDevices(c->resources, fx_.devices(), fs_, {});
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v[0].reason, "class 0x020000: no netDevice pool configured");
  EXPECT_EQ(v[0].category, "class");
  EXPECT_EQ(v[7].device, "0000:09:00.0");
  EXPECT_EQ(v[7].pool, "intel.com/qat");
}

TEST_F(ExplainTest, ExplainHostReportsConfigErrorsNamingTheKey) {
  std::ofstream(dir_.path() / "config.json")
      << R"({"resourceList":[{"resourceName":"x","selectors":{"vendors":8086}}]})";
  ExplainOptions o;
  o.config_file = (dir_.path() / "config.json").string();
  o.sysfs_root = dir_.path().string();
  EXPECT_THAT(ExplainHost(o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("resourceList[0].selectors.vendors: expected "
                                 "a list of strings, got 8086")));
  o.config_file = (dir_.path() / "missing.json").string();
  EXPECT_THAT(ExplainHost(o),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.json")));
}

}  // namespace
}  // namespace sk::deviceplugin
