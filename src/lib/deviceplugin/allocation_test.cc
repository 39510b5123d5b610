#include "lib/deviceplugin/allocation.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/file_util.h"
#include "tests/testing/deviceplugin_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Golden files live in testdata/; SK_UPDATE_GOLDEN=1 rewrites them.
void ExpectGolden(const std::string& name, const std::string& actual) {
  std::string path = std::string(SK_DP_GOLDEN_DIR) + "/" + name;
  if (std::getenv("SK_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    return;
  }
  auto want = sk::ReadFile(path);
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(actual, *want) << "golden " << path;
}

class AllocationTest : public ::testing::Test {
 protected:
  Pool MakePool(const std::string& json) {
    auto c = ParseConfig(json, "config.json", "intel.com");
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(c->pool_errors.empty());
    Inventory inv = BuildInventory(c->resources, fx_.devices(), fs_, {});
    return inv.pools.at(0);
  }

  sk::testing::TempDir dir_;
  testing::DpFixture fx_{dir_.path()};
  sysfs::Sysfs fs_{dir_.path()};
};

TEST_F(AllocationTest, VfioDeviceGetsContainerAndGroupNodes) {
  fx_.AddPf("0000:01:00.0", "ens1", 2, "vfio-pci", 40);
  Pool pool =
      MakePool(R"({"resourceList":[{"resourceName":"vfio","selectors":{}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto out,
                          ComputeDeviceOutputs(pool, pool.devices[1], fs_));
  EXPECT_THAT(out.specs,
              ElementsAre(DeviceNode{"/dev/vfio/vfio", "/dev/vfio/vfio"},
                          DeviceNode{"/dev/vfio/41", "/dev/vfio/41"}));
  EXPECT_EQ(out.info.at("vfio").at("dev-mount"), "/dev/vfio/41");
}

TEST_F(AllocationTest, GroupIsReadLiveAtAllocateTime) {
  fx_.AddPf("0000:01:00.0", "ens1", 1, "vfio-pci", 40);
  Pool pool =
      MakePool(R"({"resourceList":[{"resourceName":"vfio","selectors":{}}]})");
  // A reboot renumbered the group after discovery
  // (k8snetworkplumbingwg/sriov-network-device-plugin#451).
  fx_.SetGroup(fx_.devices()[1], 77);
  SK_ASSERT_OK_AND_ASSIGN(auto out,
                          ComputeDeviceOutputs(pool, pool.devices[0], fs_));
  EXPECT_EQ(out.specs.at(1).host_path, "/dev/vfio/77");
}

TEST_F(AllocationTest, NoIommuGroupMapsHostPath) {
  fx_.AddPf("0000:01:00.0", "ens1", 1, "vfio-pci", 0);
  fx_.SetGroup(fx_.devices()[1], 3, /*noiommu=*/true);
  Pool pool =
      MakePool(R"({"resourceList":[{"resourceName":"vfio","selectors":{}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto out,
                          ComputeDeviceOutputs(pool, pool.devices[0], fs_));
  EXPECT_EQ(out.specs.at(1),
            (DeviceNode{"/dev/vfio/3", "/dev/vfio/noiommu-3", "rw"}));
  EXPECT_EQ(out.info.at("vfio").at("dev-mount"), "/dev/vfio/3");
}

TEST_F(AllocationTest, VfioWithoutGroupIsFailedPrecondition) {
  fx_.AddPf("0000:01:00.0", "ens1", 1, "vfio-pci", 5);
  Pool pool =
      MakePool(R"({"resourceList":[{"resourceName":"vfio","selectors":{}}]})");
  std::filesystem::remove(fx_.Dev("0000:02:00.0") / "iommu_group");
  EXPECT_THAT(ComputeDeviceOutputs(pool, pool.devices[0], fs_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("device 0000:02:00.0 is bound to vfio-pci "
                                 "but")));
}

TEST_F(AllocationTest, UioDeviceGetsItsUioNode) {
  fx_.AddPf("0000:01:00.0", "ens1", 1, "igb_uio", 0);
  fx_.MkDir("sys/bus/pci/devices/0000:02:00.0/uio/uio4");
  Pool pool =
      MakePool(R"({"resourceList":[{"resourceName":"u","selectors":{}}]})");
  SK_ASSERT_OK_AND_ASSIGN(auto out,
                          ComputeDeviceOutputs(pool, pool.devices[0], fs_));
  EXPECT_THAT(out.specs, ElementsAre(DeviceNode{"/dev/uio4", "/dev/uio4"}));
  EXPECT_EQ(out.info.at("uio").at("mount"), "/dev/uio4");
}

TEST_F(AllocationTest, EnvNamesFollowUpstreamRuleWithShellSafeAlias) {
  ResourceConfig r;
  r.resource_prefix = "intel.com";
  r.resource_name = "sriov_net";
  EXPECT_EQ(EnvVarName(r), "PCIDEVICE_INTEL_COM_SRIOV_NET");
  EXPECT_EQ(EnvVarAlias(r), EnvVarName(r));
  r.resource_prefix = "my-org.io";
  r.resource_name = "sriov-net";
  EXPECT_EQ(EnvVarName(r), "PCIDEVICE_MY-ORG_IO_SRIOV-NET");
  EXPECT_EQ(EnvVarAlias(r), "PCIDEVICE_MY_ORG_IO_SRIOV_NET");
}

TEST_F(AllocationTest, FileNamesMatchUpstream) {
  ResourceConfig r;
  r.resource_prefix = "intel.com";
  r.resource_name = "sriov_dpdk";
  EXPECT_EQ(DeviceInfoFileName(r, "0000:03:02.1"),
            "intel.com-sriov_dpdk-0000:03:02.1-device.json");
  EXPECT_EQ(CdiSpecFileName(r), "sriov-dp-intel.com-net-pci-sriov_dpdk.yaml");
  EXPECT_EQ(CdiDeviceName(r, "0000:03:02.1"), "intel.com/net-pci=0000:03:02.1");
  r.device_type = DeviceType::kAccelerator;
  EXPECT_EQ(CdiSpecFileName(r), "sriov-dp-intel.com-net-accel-sriov_dpdk.yaml");
}

// The golden scenario: two vfio VFs with vhost-net and additionalInfo, one
// of them with a per-BDF override.
class GoldenTest : public AllocationTest {
 protected:
  void SetUp() override {
    fx_.AddPf("0000:3b:00.0", "ens785f0", 2, "vfio-pci", 168);
    fx_.MkFile("dev/vhost-net");
    fx_.MkFile("dev/net/tun");
    pool_ = MakePool(R"({"resourceList":[{"resourceName":"dpdk",
        "selectors":[{"drivers":["vfio-pci"],"needVhostNet":true}],
        "additionalInfo":{"*":{"token":"abc"},
                          "0000:3c:00.1":{"token":"special","x":"y"}}}]})");
    ASSERT_EQ(pool_.devices.size(), 2u);
  }
  Pool pool_;
};

TEST_F(GoldenTest, InfoEnvMatchesGolden) {
  std::map<std::string, ProviderInfo> by_device;
  for (const auto& d : pool_.devices) {
    SK_ASSERT_OK_AND_ASSIGN(auto out, ComputeDeviceOutputs(pool_, d, fs_));
    by_device[d.id] = out.info;
  }
  std::ostringstream env;
  env << EnvVarName(pool_.config) << "=0000:3c:00.0,0000:3c:00.1\n"
      << EnvVarName(pool_.config) << "_INFO=" << InfoJson(by_device) << "\n";
  ExpectGolden("env_vfio_vhost.txt", env.str());
}

TEST_F(GoldenTest, DeviceInfoMatchesGolden) {
  SK_ASSERT_OK_AND_ASSIGN(auto out,
                          ComputeDeviceOutputs(pool_, pool_.devices[1], fs_));
  ExpectGolden("devinfo_vfio_vhost.json",
               DeviceInfoJson(pool_.devices[1], out) + "\n");
}

TEST_F(GoldenTest, CdiSpecMatchesGolden) {
  std::vector<std::string> errors;
  ExpectGolden("cdi_vfio_vhost.yaml", CdiSpecYaml(pool_, fs_, &errors));
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace sk::deviceplugin
