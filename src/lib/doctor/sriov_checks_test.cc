// Tests of the SR-IOV checks (sriov_checks.cc) on FakeSysfsBuilder trees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/doctor/doctor.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

namespace sk::doctor {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

auto HasVerdict(Verdict v) { return Field(&Check::verdict, v); }
auto EvidenceHas(const std::string& s) {
  return Field(&Check::evidence, Contains(HasSubstr(s)));
}
auto FixHas(const std::string& s) { return Field(&Check::fix, HasSubstr(s)); }
auto SummaryHas(const std::string& s) {
  return Field(&Check::summary, HasSubstr(s));
}

// One 82576 port with 7 igbvf VFs: enough for the per-VF checks, and half
// the files of the default two-port card.
sk::testing::FakeCardOptions OnePort() {
  sk::testing::FakeCardOptions o;
  o.ports = 1;
  return o;
}

class SriovChecksTest : public ::testing::Test {
 protected:
  SriovChecksTest() : b_(dir_.path()) {}

  HostView View() const {
    Roots r;
    r.sysfs = r.proc = r.dev = dir_.path();
    return HostView(r);
  }

  sk::testing::TempDir dir_;
  sk::testing::FakeSysfsBuilder b_;
};

TEST(SriovChecksNoTreeTest, UnreadablePciTreeFailsAndSkipsTheRest) {
  sk::testing::TempDir empty;  // no FakeSysfsBuilder: not even sys/bus/pci
  Roots r{empty.path(), empty.path(), empty.path()};
  HostView h(r);
  EXPECT_THAT(CheckSriovNics(h),
              AllOf(HasVerdict(Verdict::kFail),
                    SummaryHas("cannot read the PCI devices"),
                    EvidenceHas("sys/bus/pci/devices")));
  EXPECT_THAT(CheckSriovVfs(h), HasVerdict(Verdict::kSkip));
  EXPECT_THAT(CheckVfioVfs(h), HasVerdict(Verdict::kSkip));
}

TEST_F(SriovChecksTest, NoSriovNicFails) {
  sk::testing::FakeDevice nic;
  nic.bdf = "0000:00:03.0";
  nic.vendor_id = 0x1af4;
  nic.device_id = 0x1041;
  nic.driver = "virtio-pci";
  b_.AddDevice(nic);
  HostView h = View();
  Check c = CheckSriovNics(h);
  EXPECT_EQ(c.name, "sriov-nics");
  EXPECT_THAT(
      c,
      AllOf(HasVerdict(Verdict::kFail), SummaryHas("no SR-IOV capable"),
            EvidenceHas("1 network function(s), none with sriov_totalvfs > 0"),
            FixHas("CONFIG_PCI_IOV")));
  EXPECT_THAT(CheckSriovVfs(h), AllOf(HasVerdict(Verdict::kSkip),
                                      SummaryHas("no SR-IOV capable NIC")));
  EXPECT_THAT(CheckVfioVfs(h),
              AllOf(HasVerdict(Verdict::kSkip), SummaryHas("no VFs")));
}

TEST_F(SriovChecksTest, SriovDisabledInFirmwareFails) {
  sk::testing::FakeDevice pf;
  pf.bdf = "0000:3b:00.0";
  pf.device_id = 0x1572;
  pf.driver = "i40e";
  sk::testing::FakeVfLayout layout;  // total_vfs 0
  b_.AddPf(pf, layout);
  Check c = CheckSriovNics(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kFail),
               EvidenceHas("sriov_totalvfs=0 on 0000:3b:00.0"),
               FixHas("enable SR-IOV in the BIOS/UEFI and the NIC firmware")));
}

TEST_F(SriovChecksTest, PfWithoutVfsWarnsWithCreationHint) {
  sk::testing::FakeCardOptions o;
  o.ports = 1;
  o.num_vfs = 0;
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddIntel82576(b_, o);
  b_.WriteAttribute(pfs[0].bdf, "sriov_totalvfs", "7\n");
  HostView h = View();
  EXPECT_THAT(
      CheckSriovNics(h),
      AllOf(HasVerdict(Verdict::kPass), SummaryHas("1 SR-IOV capable NIC port"),
            EvidenceHas("sriov_totalvfs=7 sriov_numvfs=0")));
  Check c = CheckSriovVfs(h);
  EXPECT_EQ(c.name, "sriov-vfs");
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kWarn), SummaryHas("no VFs created"),
               EvidenceHas("0 of 7 VFs"),
               FixHas("sys/bus/pci/devices/" + pfs[0].bdf + "/sriov_numvfs"),
               FixHas("pci=realloc"), FixHas("pci=assign-busses")));
  EXPECT_THAT(CheckVfioVfs(h), HasVerdict(Verdict::kSkip));
}

TEST_F(SriovChecksTest, VfCreationHintOmitsOptionsAlreadyOnCmdline) {
  sk::testing::FakeCardOptions o;
  o.ports = 1;
  o.num_vfs = 0;
  sk::testing::AddIntel82576(b_, o);
  b_.WriteFile("proc/cmdline", "ro pci=assign-busses,realloc\n");
  Check c = CheckSriovVfs(View());
  EXPECT_THAT(c, AllOf(HasVerdict(Verdict::kWarn), Not(FixHas("pci=realloc")),
                       Not(FixHas("pci=assign-busses"))));
}

TEST_F(SriovChecksTest, VfsOnKernelDriversWarnForVfio) {
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddIntel82576(b_);
  HostView h = View();
  EXPECT_THAT(CheckSriovVfs(h), AllOf(HasVerdict(Verdict::kPass),
                                      SummaryHas("14 VFs on 2 of 2 PFs")));
  Check c = CheckVfioVfs(h);
  EXPECT_EQ(c.name, "vfio-vfs");
  EXPECT_THAT(c, AllOf(HasVerdict(Verdict::kWarn),
                       SummaryHas("none of 14 VFs is bound to vfio-pci"),
                       FixHas("echo vfio-pci > /sys/bus/pci/devices/" +
                              pfs[0].vfs[0] + "/driver_override")));
}

TEST_F(SriovChecksTest, UnboundVfsAreCountedAsUnbound) {
  sk::testing::FakeCardOptions o = OnePort();
  o.vf_driver = "";
  sk::testing::AddIntel82576(b_, o);
  EXPECT_THAT(CheckVfioVfs(View()),
              AllOf(HasVerdict(Verdict::kWarn),
                    EvidenceHas("7 of 7 VFs on other drivers: unbound 7")));
}

TEST_F(SriovChecksTest, VfioBoundVfWithNodesPasses) {
  std::vector<sk::testing::FakePf> pfs =
      sk::testing::AddIntel82576(b_, OnePort());
  b_.BindDriver(pfs[0].vfs[2], "vfio-pci");
  int g = b_.IommuGroupOf(pfs[0].vfs[2]).value();
  Check c = CheckVfioVfs(View());
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kPass), SummaryHas("1 of 7 VFs bound"),
               EvidenceHas(pfs[0].vfs[2] + ": vfio-pci, IOMMU group " +
                           std::to_string(g) + ", " +
                           (dir_ / ("dev/vfio/" + std::to_string(g))).string() +
                           " present"),
               EvidenceHas("6 of 7 VFs on other drivers: igbvf 6")));
  EXPECT_THAT(c.fix, IsEmpty());
}

TEST_F(SriovChecksTest, MissingGroupNodeFails) {
  std::vector<sk::testing::FakePf> pfs =
      sk::testing::AddIntel82576(b_, OnePort());
  b_.BindDriver(pfs[0].vfs[0], "vfio-pci");
  int g = b_.IommuGroupOf(pfs[0].vfs[0]).value();
  b_.Remove("dev/vfio/" + std::to_string(g));
  Check c = CheckVfioVfs(View());
  EXPECT_THAT(c, AllOf(HasVerdict(Verdict::kFail),
                       SummaryHas("dev/vfio/" + std::to_string(g) +
                                  " missing for " + pfs[0].vfs[0]),
                       FixHas("devtmpfs")));
}

TEST_F(SriovChecksTest, MissingContainerNodeFails) {
  std::vector<sk::testing::FakePf> pfs =
      sk::testing::AddIntel82576(b_, OnePort());
  b_.BindDriver(pfs[0].vfs[0], "vfio-pci");
  b_.Remove("dev/vfio/vfio");
  EXPECT_THAT(
      CheckVfioVfs(View()),
      AllOf(HasVerdict(Verdict::kFail), SummaryHas("/dev/vfio/vfio missing")));
}

TEST_F(SriovChecksTest, VfioVfWithoutGroupFails) {
  std::vector<sk::testing::FakePf> pfs =
      sk::testing::AddIntel82576(b_, OnePort());
  b_.BindDriver(pfs[0].vfs[0], "vfio-pci");
  b_.SetIommuGroup(pfs[0].vfs[0], sk::testing::FakeDevice::kNoIommuGroup);
  EXPECT_THAT(CheckVfioVfs(View()),
              AllOf(HasVerdict(Verdict::kFail),
                    SummaryHas(pfs[0].vfs[0] + " has no IOMMU group")));
}

TEST_F(SriovChecksTest, NoIommuHostWarnsAboutDmaIsolation) {
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddNoIommuHost(b_);
  HostView h = View();
  Check c = CheckVfioVfs(h);
  EXPECT_THAT(
      c, AllOf(HasVerdict(Verdict::kWarn),
               SummaryHas("14 VFs bound to vfio-pci without IOMMU protection"),
               EvidenceHas("(vfio-noiommu)"), EvidenceHas("dev/vfio/noiommu-"),
               FixHas("enable_unsafe_noiommu_mode")));
  EXPECT_THAT(CheckIommuActive(h),
              AllOf(HasVerdict(Verdict::kFail),
                    SummaryHas("only vfio-noiommu groups")));
}

}  // namespace
}  // namespace sk::doctor
