#include "lib/kubevirt/sriov_hostdevs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/kubevirt/network_info.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::kubevirt {
namespace {

using ::sk::testing::FakeCardOptions;
using ::sk::testing::FakePf;
using ::sk::testing::FakeSysfsBuilder;
using ::sk::testing::IsOk;
using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const std::string kTestdata = SK_KUBEVIRT_TESTDATA;

TEST(PciDeviceEnvTest, NameFollowsDevicePluginConvention) {
  EXPECT_EQ(PciDeviceEnvName("intel.com/sriov_net"),
            "PCIDEVICE_INTEL_COM_SRIOV_NET");
  EXPECT_EQ(PciDeviceEnvName("kubevirt.io/sriov-net"),
            "PCIDEVICE_KUBEVIRT_IO_SRIOV_NET");
}

TEST(PciDeviceEnvTest, ParsesListsDroppingTrailingComma) {
  EXPECT_THAT(
      PciDeviceEnvFromEnviron(
          {"PATH=/bin", "PCIDEVICE_INTEL_COM_A=0000:01:10.0,0000:01:10.2,",
           "PCIDEVICE_INTEL_COM_B=01:10.4"}),
      IsOkAndHolds(ElementsAre(
          Pair("PCIDEVICE_INTEL_COM_A",
               ElementsAre("0000:01:10.0", "0000:01:10.2")),
          Pair("PCIDEVICE_INTEL_COM_B", ElementsAre("0000:01:10.4")))));
  EXPECT_THAT(PciDeviceEnvFromEnviron({"PCIDEVICE_X=0000:01:10.0,bogus"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environment variable PCIDEVICE_X: invalid "
                                 "PCI address \"bogus\"")));
}

TEST(PciDeviceEnvTest, LegacyResourceNameVariables) {
  EXPECT_THAT(ResourceNamesFromEnviron(
                  {"KUBEVIRT_RESOURCE_NAME_sriov-a=intel.com/a", "OTHER=1"}),
              ElementsAre(Pair("sriov-a", "intel.com/a")));
}

TEST(PciAddressPoolTest, NetworkInfoFirstAndConsumedOnce) {
  PciAddressPool pool({{"a", "0000:01:10.0"}},
                      {{"PCIDEVICE_R", {"0000:01:10.2"}}}, {{"a", "r"}});
  EXPECT_THAT(pool.Pop("a"), IsOkAndHolds("0000:01:10.0"));
  // Second lookup of the same network: network-info entry is gone, the env
  // fallback supplies the next VF of the resource.
  EXPECT_THAT(pool.Pop("a"), IsOkAndHolds("0000:01:10.2"));
  EXPECT_THAT(pool.Pop("a"),
              StatusIs(absl::StatusCode::kNotFound,
                       "PCI-Address for SR-IOV network \"a\" not found: not in "
                       "network-info and PCIDEVICE_R has no address left "
                       "(resource r)"));
}

TEST(PciAddressPoolTest, EmptySourcesGiveKubevirtsMappingError) {
  PciAddressPool pool({}, {{"PCIDEVICE_R", {}}}, {{"a", "r"}});
  EXPECT_THAT(pool.Pop("a"),
              StatusIs(absl::StatusCode::kNotFound,
                       "found no SR-IOV networks to PCI-Address mapping"));
}

TEST(PciAddressPoolTest, EnvAddressIsRemovedFromEveryResource) {
  PciAddressPool pool({},
                      {{"PCIDEVICE_A", {"0000:01:10.0", "0000:01:10.2"}},
                       {"PCIDEVICE_B", {"0000:01:10.0", "0000:01:10.4"}}},
                      {{"x", "a"}, {"y", "b"}});
  EXPECT_THAT(pool.Pop("x"), IsOkAndHolds("0000:01:10.0"));
  EXPECT_THAT(pool.Pop("y"), IsOkAndHolds("0000:01:10.4"));
}

TEST(PciAddressPoolTest, MissingNetworkNamesItAndTheReason) {
  PciAddressPool pool({{"a", "0000:01:10.0"}}, {{"PCIDEVICE_R", {}}},
                      {{"b", "r"}});
  EXPECT_THAT(pool.Pop("b"),
              StatusIs(absl::StatusCode::kNotFound,
                       "PCI-Address for SR-IOV network \"b\" not found: not in "
                       "network-info and PCIDEVICE_R has no address left "
                       "(resource r)"));
  EXPECT_THAT(pool.Pop("c"),
              StatusIs(absl::StatusCode::kNotFound,
                       "PCI-Address for SR-IOV network \"c\" not found: not in "
                       "network-info and no resource name known for the env "
                       "fallback"));
}

TEST(BuildSriovHostdevsTest, MapsInterfacesToSpecs) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  PciAddressPool pool(
      {{"sriov-a", "0000:05:10.1"}, {"sriov-b", "0000:05:10.3"}}, {}, {});
  SK_ASSERT_OK_AND_ASSIGN(auto specs, BuildSriovHostdevs(vmi, pool));
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].source.ToString(), "0000:05:10.1");
  EXPECT_EQ(specs[0].alias, "ua-sriov-sriov-a");
  EXPECT_EQ(specs[0].boot_order, 2u);
  ASSERT_TRUE(specs[0].guest_address.has_value());
  EXPECT_EQ(specs[0].guest_address->ToString(), "0000:20:00.0");
  EXPECT_EQ(specs[1].source.ToString(), "0000:05:10.3");
  EXPECT_EQ(specs[1].alias, "ua-sriov-sriov-b");
  EXPECT_FALSE(specs[1].boot_order.has_value());
  EXPECT_FALSE(specs[1].guest_address.has_value());
}

TEST(BuildSriovHostdevsTest, PoolErrorsPropagate) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  PciAddressPool pool({{"sriov-a", "0000:05:10.1"}}, {}, {});
  EXPECT_THAT(BuildSriovHostdevs(vmi, pool),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("PCI-Address for SR-IOV network \"sriov-b\" "
                                 "not found")));
}

TEST(BuildSriovHostdevsTest, RejectsMalformedGuestAddress) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  vmi.interfaces[1].pci_address = "20:00.0";
  PciAddressPool pool(
      {{"sriov-a", "0000:05:10.1"}, {"sriov-b", "0000:05:10.3"}}, {}, {});
  EXPECT_THAT(BuildSriovHostdevs(vmi, pool),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "interface sriov-a has malformed PCI address "
                       "(20:00.0)."));
}

class PreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeCardOptions o;
    o.ports = 1;
    o.num_vfs = 4;
    o.vf_driver = "vfio-pci";
    pf_ = sk::testing::AddIntel82576(b_, o)[0];
    ASSERT_TRUE(b_.ok());
  }
  std::vector<libvirt::HostdevSpec> Specs(const std::string& bdf) {
    libvirt::HostdevSpec s;
    s.source = sysfs::PciAddress::Parse(bdf).value();
    s.alias = "ua-sriov-n";
    return {s};
  }
  absl::Status Run(const std::string& bdf) {
    sysfs::Sysfs fs(dir_.path());
    return PreflightVfio(fs, fs, Specs(bdf));
  }
  sk::testing::TempDir dir_;
  FakeSysfsBuilder b_{dir_.path()};
  FakePf pf_;
};

TEST_F(PreflightTest, VfioBoundVfWithGroupNodePasses) {
  EXPECT_THAT(Run(pf_.vfs[0]), IsOk());
}

TEST_F(PreflightTest, NetdeviceDriverIsFailedPrecondition) {
  b_.BindDriver(pf_.vfs[1], "igbvf");
  EXPECT_THAT(Run(pf_.vfs[1]),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "ua-sriov-n (host " + pf_.vfs[1] +
                           "): bound to igbvf, not vfio-pci; QEMU can only "
                           "pass through a VF bound to vfio-pci (use "
                           "deviceType vfio-pci for VM resources)"));
  b_.BindDriver(pf_.vfs[1], "");
  EXPECT_THAT(Run(pf_.vfs[1]),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("bound to no driver, not vfio-pci")));
}

TEST_F(PreflightTest, UnknownDeviceIsNotFound) {
  EXPECT_THAT(Run("0000:99:00.0"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("ua-sriov-n (host 0000:99:00.0): no such PCI "
                                 "device")));
}

TEST_F(PreflightTest, MissingIommuGroupIsFailedPrecondition) {
  b_.SetIommuGroup(pf_.vfs[2], sk::testing::FakeDevice::kNoIommuGroup);
  EXPECT_THAT(Run(pf_.vfs[2]),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no iommu_group link; is the IOMMU on")));
}

TEST_F(PreflightTest, MissingDevVfioNodeIsFailedPrecondition) {
  std::optional<int> g = b_.IommuGroupOf(pf_.vfs[3]);
  ASSERT_TRUE(g.has_value());
  b_.Remove("dev/vfio/" + std::to_string(*g));
  EXPECT_THAT(Run(pf_.vfs[3]),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("IOMMU group " + std::to_string(*g) +
                                 " has no VFIO device node")));
  // A separate dev root is honoured: the sysfs tree alone is not enough.
  sk::testing::TempDir empty_dev;
  sysfs::Sysfs fs(dir_.path());
  EXPECT_THAT(
      PreflightVfio(fs, sysfs::Sysfs(empty_dev.path()), Specs(pf_.vfs[0])),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr(empty_dev.path().string() + "/dev/vfio/")));
}

TEST(PreflightNoIommuTest, NoIommuGroupIsReported) {
  sk::testing::TempDir dir;
  FakeSysfsBuilder b(dir.path());
  std::vector<FakePf> pfs = sk::testing::AddNoIommuHost(b);
  ASSERT_TRUE(b.ok());
  libvirt::HostdevSpec s;
  s.source = sysfs::PciAddress::Parse(pfs[0].vfs[0]).value();
  s.alias = "ua-sriov-n";
  sysfs::Sysfs fs(dir.path());
  EXPECT_THAT(PreflightVfio(fs, fs, {s}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is a vfio no-IOMMU group")));
}

TEST(DomainOptionsTest, NameMemoryAndVcpusFromVmi) {
  SK_ASSERT_OK_AND_ASSIGN(Vmi vmi,
                          LoadVmiFile(kTestdata + "/vm-two-sriov.json"));
  SK_ASSERT_OK_AND_ASSIGN(libvirt::DomainOptions o, DomainOptionsForVmi(vmi));
  EXPECT_EQ(o.name, "lab_vm-two-sriov");
  EXPECT_EQ(o.memory_kib, 2u * 1024 * 1024);
  EXPECT_EQ(o.vcpus, 2u);
  SK_ASSERT_OK_AND_ASSIGN(Vmi ex, LoadVmiFile(kTestdata + "/vmi-sriov.yaml"));
  SK_ASSERT_OK_AND_ASSIGN(libvirt::DomainOptions e, DomainOptionsForVmi(ex));
  EXPECT_EQ(e.memory_kib, 1000000u);  // 1024M = 1024000000 bytes
  ex.memory_request = "x";
  EXPECT_THAT(DomainOptionsForVmi(ex),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sk::kubevirt
