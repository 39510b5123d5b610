#include "lib/deviceplugin/inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/deviceplugin_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<std::string> Ids(const Pool& p) {
  std::vector<std::string> out;
  for (const auto& d : p.devices) out.push_back(d.id);
  return out;
}

std::vector<ResourceConfig> Resources(const std::string& json) {
  auto c = ParseConfig(json, "config.json", "intel.com");
  EXPECT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->pool_errors, IsEmpty());
  EXPECT_THAT(c->warnings, IsEmpty());  // pfCarrierHealth is a known key
  return c->resources;
}

class InventoryTest : public ::testing::Test {
 protected:
  sk::testing::TempDir dir_;
  testing::DpFixture fx_{dir_.path()};
  sysfs::Sysfs fs_{dir_.path()};
};

TEST_F(InventoryTest, PfWithVfsIsHiddenAndItsVfsArePooled) {
  fx_.AddPf("0000:01:00.0", "ens1", 2, "vfio-pci", 10);
  Inventory inv = BuildInventory(
      Resources(R"({"resourceList":[{"resourceName":"all","selectors":{}}]})"),
      fx_.devices(), fs_, {});
  ASSERT_THAT(inv.pools, SizeIs(1));
  EXPECT_THAT(Ids(inv.pools[0]), ElementsAre("0000:02:00.0", "0000:02:00.1"));
  EXPECT_THAT(inv.log, Contains("0000:01:00.0: excluded: PF with 2 VFs (its "
                                "VFs are candidates)"));
  const PoolDevice& d = inv.pools[0].devices[1];
  EXPECT_EQ(d.facts.pf_name, "ens1");
  EXPECT_EQ(d.facts.pf_address, "0000:01:00.0");
  EXPECT_EQ(d.facts.vf_index, 1);
  EXPECT_EQ(d.facts.vendor, "8086");
  EXPECT_EQ(d.facts.device, "10ca");
  EXPECT_EQ(d.facts.link_type, "ether");  // from the PF: no netdev on vfio
  EXPECT_EQ(d.numa_node, 0);
}

TEST_F(InventoryTest, UnboundAndDefaultRouteDevicesAreExcludedWithReasons) {
  fx_.Add("0000:05:00.0", 0x020000, 0x8086, 0x1533, "");
  auto& nic = fx_.Add("0000:06:00.0", 0x020000, 0x8086, 0x1533, "igb");
  sysfs::NetDev eth0;
  eth0.name = "eth0";
  nic.netdevs.push_back(eth0);
  fx_.MkFile("proc/net/route",
             "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
             "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n");
  auto res =
      Resources(R"({"resourceList":[{"resourceName":"a","selectors":{}}]})");
  Inventory inv = BuildInventory(res, fx_.devices(), fs_, {});
  EXPECT_THAT(Ids(inv.pools[0]), IsEmpty());
  EXPECT_THAT(inv.log, ElementsAre("0000:05:00.0: excluded: no driver bound",
                                   "0000:06:00.0: excluded: netdev eth0 has "
                                   "the IPv4 default route "
                                   "(--exclude-default-route=false keeps it)"));
  Inventory keep =
      BuildInventory(res, fx_.devices(), fs_, {.exclude_default_route = false});
  EXPECT_THAT(Ids(keep.pools[0]), ElementsAre("0000:06:00.0"));
}

TEST_F(InventoryTest, FirstMatchWinsAcrossResourcesAndSelectors) {
  fx_.AddPf("0000:01:00.0", "ens1", 4, "vfio-pci", 10);
  Inventory inv = BuildInventory(Resources(R"({"resourceList":[
      {"resourceName":"low","selectors":[{"pfNames":["ens1#0-1"]},
                                         {"rootDevices":["0000:01:00.0#1-2"],
                                          "needVhostNet":true}]},
      {"resourceName":"rest","selectors":{"drivers":["vfio-pci"]}}]})"),
                                 fx_.devices(), fs_, {});
  ASSERT_THAT(inv.pools, SizeIs(2));
  EXPECT_THAT(Ids(inv.pools[0]),
              ElementsAre("0000:02:00.0", "0000:02:00.1", "0000:02:00.2"));
  EXPECT_THAT(Ids(inv.pools[1]), ElementsAre("0000:02:00.3"));
  // VF 1 came through the first selector object, VF 2 through the second.
  EXPECT_EQ(inv.pools[0].devices[1].selector_index, 0u);
  EXPECT_FALSE(inv.pools[0].devices[1].need_vhost_net);
  EXPECT_EQ(inv.pools[0].devices[2].selector_index, 1u);
  EXPECT_TRUE(inv.pools[0].devices[2].need_vhost_net);
  EXPECT_THAT(inv.log, Contains("0000:02:00.0: not added to intel.com/rest: "
                                "already in intel.com/low (first match wins)"));
}

TEST_F(InventoryTest, AcceleratorsUseClass12AndExcludeTopologyDropsNuma) {
  fx_.Add("0000:07:00.0", 0x120000, 0x8086, 0x0d5c, "vfio-pci", 1);
  fx_.AddPf("0000:01:00.0", "ens1", 1, "vfio-pci", 10, 1);
  Inventory inv = BuildInventory(Resources(R"({"resourceList":[
      {"resourceName":"fec","deviceType":"accelerator",
       "excludeTopology":true,"selectors":{"drivers":["vfio-pci"]}},
      {"resourceName":"net","selectors":{"drivers":["vfio-pci"]}}]})"),
                                 fx_.devices(), fs_, {});
  EXPECT_THAT(Ids(inv.pools[0]), ElementsAre("0000:07:00.0"));
  EXPECT_EQ(inv.pools[0].devices[0].numa_node, std::nullopt);
  EXPECT_THAT(Ids(inv.pools[1]), ElementsAre("0000:02:00.0"));
  EXPECT_EQ(inv.pools[1].devices[0].numa_node, 1);
}

TEST_F(InventoryTest, RdmaSelectorNeedsInfinibandDevices) {
  fx_.AddPf("0000:01:00.0", "ens1", 2, "mlx5_core", 10, 0, 0x15b3, 0x1017,
            0x1018);
  fx_.MkDir("sys/bus/pci/devices/0000:02:00.1/infiniband/mlx5_3");
  Inventory inv = BuildInventory(Resources(R"({"resourceList":[
      {"resourceName":"rdma","selectors":{"vendors":["15b3"],"isRdma":true}}]})"),
                                 fx_.devices(), fs_, {});
  ASSERT_THAT(Ids(inv.pools[0]), ElementsAre("0000:02:00.1"));
  EXPECT_THAT(inv.pools[0].devices[0].rdma_devices, ElementsAre("mlx5_3"));
}

TEST_F(InventoryTest, PfCarrierHealthMarksVfsOfALinkDownPfUnhealthy) {
  fx_.AddPf("0000:01:00.0", "ens1", 1, "vfio-pci", 10);
  fx_.AddPf("0000:03:00.0", "ens3", 1, "vfio-pci", 20);
  fx_.MkFile("sys/class/net/ens1/carrier", "0\n");
  // ens3: carrier unreadable (link administratively down): operstate.
  fx_.MkFile("sys/class/net/ens3/operstate", "down\n");
  EXPECT_FALSE(PfHasCarrier(fs_, "ens1"));
  EXPECT_FALSE(PfHasCarrier(fs_, "ens3"));
  EXPECT_TRUE(PfHasCarrier(fs_, "missing"));  // unknown counts as carrier
  EXPECT_TRUE(PfHasCarrier(fs_, ".."));
  auto res = Resources(R"({"resourceList":[
      {"resourceName":"a","pfCarrierHealth":true,"selectors":{}}]})");
  Inventory inv = BuildInventory(res, fx_.devices(), fs_, {});
  ASSERT_THAT(inv.pools[0].devices, SizeIs(2));
  EXPECT_FALSE(inv.pools[0].devices[0].healthy);
  EXPECT_FALSE(inv.pools[0].devices[1].healthy);
  EXPECT_THAT(inv.log, Contains("0000:02:00.0: unhealthy in intel.com/a: PF "
                                "ens1 has no carrier (pfCarrierHealth)"));
  fx_.MkFile("sys/class/net/ens1/carrier", "1\n");
  fx_.MkFile("sys/class/net/ens3/operstate", "up\n");
  inv = BuildInventory(res, fx_.devices(), fs_, {});
  EXPECT_TRUE(inv.pools[0].devices[0].healthy);
  EXPECT_TRUE(inv.pools[0].devices[1].healthy);
}

TEST_F(InventoryTest, PoolFindLooksUpById) {
  fx_.AddPf("0000:01:00.0", "ens1", 3, "vfio-pci", 10);
  Inventory inv = BuildInventory(
      Resources(R"({"resourceList":[{"resourceName":"a","selectors":{}}]})"),
      fx_.devices(), fs_, {});
  ASSERT_NE(inv.pools[0].Find("0000:02:00.2"), nullptr);
  EXPECT_EQ(inv.pools[0].Find("0000:02:00.2")->facts.vf_index, 2);
  EXPECT_EQ(inv.pools[0].Find("0000:02:00.7"), nullptr);
}

}  // namespace
}  // namespace sk::deviceplugin
