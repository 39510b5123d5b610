#include "tests/testing/fake_sysfs.h"

#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

namespace sk::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Link(const fs::path& p) { return fs::read_symlink(p).string(); }
std::string Read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FakeSysfsBuilderTest, RealisticLayoutWithRelativeLinks) {
  FakeSysfsDir dir;
  FakeSysfsBuilder b(dir.path());
  std::vector<FakePf> pfs = AddIntel82576(b);
  b.BindDriver(pfs[0].vfs[1], "vfio-pci");
  ASSERT_TRUE(b.ok());
  const fs::path root = dir.path();
  const std::string pf = pfs[0].bdf, vf = pfs[0].vfs[1];
  EXPECT_EQ(b.DeviceDir(pf), "sys/devices/pci0000:00/0000:00:00.0/" + pf);
  EXPECT_EQ(Link(root / "sys/bus/pci/devices" / pf),
            "../../../devices/pci0000:00/0000:00:00.0/" + pf);
  const fs::path pdir = root / b.DeviceDir(pf);
  EXPECT_EQ(Link(pdir / "driver"), "../../../../bus/pci/drivers/igb");
  EXPECT_TRUE(fs::exists(root / "sys/bus/pci/drivers/igb/bind"));
  EXPECT_EQ(Link(root / "sys/bus/pci/drivers/igb" / pf),
            "../../../../devices/pci0000:00/0000:00:00.0/" + pf);
  EXPECT_THAT(Link(pdir / "iommu_group"),
              StartsWith("../../../../kernel/iommu_groups/"));
  EXPECT_EQ(Link(pdir / "virtfn1"), "../" + vf);
  EXPECT_EQ(Link(root / b.DeviceDir(vf) / "physfn"), "../" + pf);
  EXPECT_EQ(Read(pdir / "sriov_numvfs"), "7\n");
  EXPECT_EQ(Read(pdir / "class"), "0x020000\n");
  EXPECT_THAT(Read(pdir / "uevent"),
              HasSubstr("DRIVER=igb\nPCI_CLASS=20000\nPCI_ID=8086:10C9\n"));
  EXPECT_EQ(Link(root / "sys/class/net/enp1s0f0"),
            "../../devices/pci0000:00/0000:00:00.0/" + pf + "/net/enp1s0f0");
  // vfio-pci: netdev gone, driver and uevent switched, /dev/vfio node made.
  const fs::path vdir = root / b.DeviceDir(vf);
  EXPECT_FALSE(fs::exists(vdir / "net"));
  EXPECT_FALSE(fs::exists(root / "sys/class/net" / pfs[0].vf_netdevs[1]));
  EXPECT_EQ(Link(vdir / "driver"), "../../../../bus/pci/drivers/vfio-pci");
  EXPECT_THAT(Read(vdir / "uevent"), StartsWith("DRIVER=vfio-pci\n"));
  std::optional<int> g = b.IommuGroupOf(vf);
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(fs::exists(root / "dev/vfio/vfio"));
  EXPECT_TRUE(fs::exists(root / ("dev/vfio/" + std::to_string(*g))));
  EXPECT_TRUE(fs::is_symlink(root / "sys/kernel/iommu_groups" /
                             std::to_string(*g) / "devices" / vf));
  EXPECT_TRUE(fs::exists(root / "sys/class/iommu/dmar0"));
}

TEST(FakeSysfsBuilderTest, NoIommuGroupsAndAriBuses) {
  FakeSysfsDir dir;
  FakeSysfsBuilder b(dir.path());
  std::vector<FakePf> pfs = AddNoIommuHost(b);
  std::vector<FakePf> e810 = AddIntelE810(b, [] {
    FakeCardOptions o;
    o.num_vfs = 3;
    return o;
  }());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b.IommuGroupOf(pfs[0].bdf).has_value());
  std::optional<int> g = b.IommuGroupOf(pfs[0].vfs[0]);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(
      Read(dir / ("sys/kernel/iommu_groups/" + std::to_string(*g) + "/name")),
      "vfio-noiommu\n");
  EXPECT_TRUE(fs::exists(dir / ("dev/vfio/noiommu-" + std::to_string(*g))));
  EXPECT_FALSE(fs::exists(dir / "sys/class/iommu/dmar0"));
  EXPECT_EQ(e810[0].vfs[2], "0000:5f:00.2");
  EXPECT_EQ(Link(dir / "sys/bus/pci/devices/0000:5f:00.2"),
            "../../../devices/pci0000:5d/0000:5d:00.0/0000:5f:00.2");
}

TEST(FakeSysfsBuilderTest, UnknownDeviceIsATestFailure) {
  FakeSysfsDir dir;
  FakeSysfsBuilder b(dir.path());
  EXPECT_NONFATAL_FAILURE(b.BindDriver("0000:09:00.0", "igb"),
                          "unknown device 0000:09:00.0");
  EXPECT_FALSE(b.ok());
}

}  // namespace
}  // namespace sk::testing
