#include "lib/sysfs/host.h"

#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::sysfs {
namespace {

using ::sk::testing::AddIntel82576;
using ::sk::testing::FakePf;
using ::sk::testing::FakeSysfsBuilder;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

PciAddress Addr(std::string_view s) { return *PciAddress::Parse(s); }

class HostTest : public ::testing::Test {
 protected:
  HostSnapshot Discover() {
    auto h = HostSnapshot::Discover(Sysfs(dir_.path()));
    EXPECT_TRUE(h.ok()) << h.status();
    return *std::move(h);
  }
  sk::testing::TempDir dir_;
  FakeSysfsBuilder b_{dir_.path()};
};

TEST_F(HostTest, Intel82576PfAndVfs) {
  std::vector<FakePf> pfs = AddIntel82576(b_);
  b_.WritePciIds();
  ASSERT_TRUE(b_.ok());
  HostSnapshot h = Discover();
  ASSERT_EQ(h.PhysicalFunctions().size(), 2u);
  const PciDevice* pf = h.Find(Addr(pfs[0].bdf));
  ASSERT_NE(pf, nullptr);
  EXPECT_EQ(pf->address.ToString(), "0000:01:00.0");
  EXPECT_EQ(pf->class_code, 0x020000u);
  EXPECT_EQ(pf->vendor_id, 0x8086);
  EXPECT_EQ(pf->device_id, 0x10c9);
  EXPECT_EQ(pf->vendor_name, "Intel Corporation");
  EXPECT_EQ(pf->device_name, "82576 Gigabit Network Connection");
  EXPECT_EQ(pf->driver, "igb");
  EXPECT_EQ(pf->sriov_totalvfs, 8);
  EXPECT_EQ(pf->sriov_numvfs, 7);
  EXPECT_EQ(pf->pf_netdev, "enp1s0f0");
  EXPECT_THAT(pf->warnings, IsEmpty());
  std::vector<const PciDevice*> vfs = h.VfsOf(*pf);
  ASSERT_EQ(vfs.size(), 7u);
  EXPECT_EQ(vfs[0]->address.ToString(), "0000:01:10.0");
  EXPECT_EQ(vfs[1]->address.ToString(), "0000:01:10.2");
  for (size_t i = 0; i < vfs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(vfs[i]->address.ToString(), pfs[0].vfs[i]);
    EXPECT_EQ(vfs[i]->vf_index, static_cast<int>(i));
    EXPECT_EQ(vfs[i]->physfn, pf->address);
    EXPECT_EQ(vfs[i]->driver, "igbvf");
    EXPECT_EQ(vfs[i]->device_name, "82576 Virtual Function");
    EXPECT_EQ(vfs[i]->iommu_group, b_.IommuGroupOf(pfs[0].vfs[i]));
    ASSERT_EQ(vfs[i]->netdevs.size(), 1u);
    EXPECT_EQ(vfs[i]->netdevs[0].name, pfs[0].vf_netdevs[i]);
  }
}

TEST_F(HostTest, MissingBusDirIsNotFound) {
  sk::testing::TempDir empty;
  EXPECT_THAT(
      HostSnapshot::Discover(Sysfs(empty.path())),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("sys/bus/pci/devices")));
}

}  // namespace
}  // namespace sk::sysfs
