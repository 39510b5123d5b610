#include "lib/sysfs/host.h"

#include <unistd.h>

#include <set>

#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::sysfs {
namespace {

using ::sk::testing::FakeCardOptions;
using ::sk::testing::FakeDevice;
using ::sk::testing::FakeNetdev;
using ::sk::testing::FakePf;
using ::sk::testing::FakeSysfsBuilder;
using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// GCC's -Wextra rejects partial designated initializers, so tests build the
// option structs with these.
FakeDevice Dev(std::string bdf, uint32_t class_code = 0x020000) {
  FakeDevice d;
  d.bdf = std::move(bdf);
  d.class_code = class_code;
  return d;
}
FakeDevice Numa(std::string bdf, std::optional<int> numa) {
  FakeDevice d = Dev(std::move(bdf));
  d.numa_node = numa;
  return d;
}
sk::testing::FakeVfLayout Total(int total_vfs) {
  sk::testing::FakeVfLayout l;
  l.total_vfs = total_vfs;
  return l;
}
DiscoverOptions Threads(size_t n) {
  DiscoverOptions o;
  o.threads = n;
  return o;
}

PciAddress Addr(std::string_view s) {
  auto a = PciAddress::Parse(s);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.value_or(PciAddress{});
}

std::vector<std::string> NetdevNames(const PciDevice& d) {
  std::vector<std::string> out;
  for (const NetDev& n : d.netdevs) out.push_back(n.name);
  return out;
}

class HostTest : public ::testing::Test {
 protected:
  HostSnapshot Discover(const DiscoverOptions& opts = {}) {
    EXPECT_TRUE(b_.ok());
    auto h = HostSnapshot::Discover(Sysfs(dir_.path()), opts);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *std::move(h) : HostSnapshot();
  }
  const PciDevice& Get(const HostSnapshot& h, std::string_view bdf) {
    const PciDevice* d = h.Find(Addr(bdf));
    EXPECT_NE(d, nullptr) << bdf;
    static const PciDevice kNone;
    return d != nullptr ? *d : kNone;
  }
  // Checks every VF of every PF in `pfs` against what the builder made.
  void ExpectSriovMatches(const HostSnapshot& h,
                          const std::vector<FakePf>& pfs) {
    for (const FakePf& fpf : pfs) {
      SCOPED_TRACE(fpf.bdf);
      const PciDevice& pf = Get(h, fpf.bdf);
      EXPECT_TRUE(pf.is_pf());
      EXPECT_FALSE(pf.is_vf());
      EXPECT_EQ(pf.sriov_numvfs, static_cast<int>(fpf.vfs.size()));
      std::vector<const PciDevice*> vfs = h.VfsOf(pf);
      ASSERT_EQ(vfs.size(), fpf.vfs.size());
      for (size_t i = 0; i < vfs.size(); ++i) {
        SCOPED_TRACE(fpf.vfs[i]);
        EXPECT_EQ(vfs[i]->address.ToString(), fpf.vfs[i]);
        EXPECT_TRUE(vfs[i]->is_vf());
        EXPECT_EQ(vfs[i]->physfn, pf.address);
        EXPECT_EQ(vfs[i]->vf_index, static_cast<int>(i));
        EXPECT_EQ(h.PfOf(*vfs[i]), &pf);
        EXPECT_EQ(vfs[i]->iommu_group, b_.IommuGroupOf(fpf.vfs[i]));
        if (fpf.vf_netdevs[i].empty()) {
          EXPECT_THAT(vfs[i]->netdevs, IsEmpty());
        } else {
          EXPECT_THAT(NetdevNames(*vfs[i]), ElementsAre(fpf.vf_netdevs[i]));
        }
        EXPECT_THAT(vfs[i]->warnings, IsEmpty());
      }
    }
  }

  sk::testing::FakeSysfsDir dir_;
  FakeSysfsBuilder b_{dir_.path()};
};

TEST_F(HostTest, Intel82576EveryAttribute) {
  std::vector<FakePf> pfs = sk::testing::AddIntel82576(b_);
  b_.WritePciIds();
  HostSnapshot h = Discover();
  EXPECT_THAT(h.warnings(), IsEmpty());
  ASSERT_THAT(h.PhysicalFunctions(), SizeIs(2));
  EXPECT_THAT(h.devices(), SizeIs(16));
  const PciDevice& pf = Get(h, "0000:01:00.0");
  EXPECT_EQ(pf.class_code, 0x020000u);
  EXPECT_TRUE(pf.is_network());
  EXPECT_FALSE(pf.is_accelerator());
  EXPECT_EQ(pf.vendor_id, 0x8086);
  EXPECT_EQ(pf.device_id, 0x10c9);
  EXPECT_EQ(pf.subsystem_vendor_id, 0x8086);
  EXPECT_EQ(pf.subsystem_device_id, 0xa03c);
  EXPECT_EQ(pf.vendor_name, "Intel Corporation");
  EXPECT_EQ(pf.device_name, "82576 Gigabit Network Connection");
  EXPECT_EQ(pf.driver, "igb");
  EXPECT_EQ(pf.numa_node, 0);
  EXPECT_EQ(pf.iommu_group, b_.IommuGroupOf("0000:01:00.0"));
  EXPECT_TRUE(pf.iommu_group.has_value());
  EXPECT_FALSE(pf.noiommu);
  EXPECT_FALSE(pf.acpi_index.has_value());
  EXPECT_EQ(pf.sriov_totalvfs, 8);
  EXPECT_EQ(pf.sriov_numvfs, 7);
  EXPECT_EQ(pf.pf_netdev, "enp1s0f0");
  ASSERT_THAT(pf.netdevs, SizeIs(1));
  const NetDev& nd = pf.netdevs[0];
  EXPECT_EQ(nd.name, "enp1s0f0");
  EXPECT_THAT(nd.mac, ::testing::MatchesRegex("52:54:00(:[0-9a-f]{2}){3}"));
  EXPECT_EQ(nd.mtu, 1500);
  EXPECT_EQ(nd.operstate, "up");
  EXPECT_EQ(nd.link_type, LinkType::kEther);
  EXPECT_EQ(nd.phys_port_name, "");
  EXPECT_EQ(nd.phys_switch_id, "");
  EXPECT_THAT(pf.warnings, IsEmpty());
  EXPECT_EQ(h.FindByNetdev("enp1s0f0"), &pf);
  EXPECT_EQ(h.FindByNetdev("nope"), nullptr);

  // 82576 VFs: offset 0x80, stride 2, both PFs interleaved on 01:10-13.
  EXPECT_THAT(pfs[0].vfs,
              ElementsAre("0000:01:10.0", "0000:01:10.2", "0000:01:10.4",
                          "0000:01:10.6", "0000:01:11.0", "0000:01:11.2",
                          "0000:01:11.4"));
  EXPECT_EQ(pfs[1].vfs[0], "0000:01:10.1");
  ExpectSriovMatches(h, pfs);
  const PciDevice& vf = Get(h, "0000:01:10.2");
  EXPECT_EQ(vf.device_id, 0x10ca);
  EXPECT_EQ(vf.device_name, "82576 Virtual Function");
  EXPECT_EQ(vf.driver, "igbvf");
  EXPECT_EQ(vf.numa_node, 0);
  EXPECT_FALSE(vf.is_pf());
  EXPECT_FALSE(vf.pf_netdev.has_value());
  EXPECT_EQ(vf.netdevs[0].name, "enp1s16f2");
  // Distinct groups, one per function.
  std::set<int> groups;
  for (const PciDevice& d : h.devices()) groups.insert(d.iommu_group.value());
  EXPECT_THAT(groups, SizeIs(16));
}

TEST_F(HostTest, IntelX710AcpiIndexAndIavf) {
  std::vector<FakePf> pfs = sk::testing::AddIntelX710(b_);
  b_.WritePciIds();
  HostSnapshot h = Discover();
  EXPECT_EQ(Get(h, "0000:3b:00.0").acpi_index, 1);
  EXPECT_EQ(Get(h, "0000:3b:00.1").acpi_index, 2);
  EXPECT_EQ(Get(h, "0000:3b:00.1").driver, "i40e");
  EXPECT_EQ(Get(h, "0000:3b:00.0").sriov_totalvfs, 64);
  // PF0: offset 16 -> 3b:02.0; PF1 (RID+1) offset 79 -> after PF0's 64.
  EXPECT_EQ(pfs[0].vfs[0], "0000:3b:02.0");
  EXPECT_EQ(pfs[1].vfs[0], "0000:3b:0a.0");
  ExpectSriovMatches(h, pfs);
  const PciDevice& vf = Get(h, pfs[1].vfs[3]);
  EXPECT_EQ(vf.driver, "iavf");
  EXPECT_EQ(vf.device_name, "Ethernet Virtual Function 700 Series");
  EXPECT_FALSE(vf.acpi_index.has_value());
}

TEST_F(HostTest, IntelE810AriVfsOnNextBus) {
  FakeCardOptions o;
  o.ports = 2;
  o.numa_node = 1;
  std::vector<FakePf> pfs = sk::testing::AddIntelE810(b_, o);
  HostSnapshot h = Discover();
  ASSERT_THAT(pfs[0].vfs, SizeIs(256));
  EXPECT_EQ(pfs[0].vfs.front(), "0000:5f:00.0");
  EXPECT_EQ(pfs[0].vfs.back(), "0000:5f:1f.7");
  EXPECT_EQ(pfs[1].vfs.front(), "0000:60:00.0");
  // The VFs sit beside their PF under the same bridge, not under a bus of
  // their own, and the bus link is relative.
  std::string pf_dir = b_.DeviceDir(pfs[0].bdf);
  std::string vf_dir = b_.DeviceDir(pfs[0].vfs[200]);
  EXPECT_EQ(std::filesystem::path(pf_dir).parent_path(),
            std::filesystem::path(vf_dir).parent_path());
  Sysfs fs(dir_.path());
  EXPECT_THAT(fs.ReadLinkBasename("sys/bus/pci/devices/0000:5f:19.0/physfn"),
              IsOkAndHolds("0000:5e:00.0"));
  ExpectSriovMatches(h, pfs);
  EXPECT_EQ(Get(h, "0000:60:03.1").numa_node, 1);
  EXPECT_EQ(Get(h, "0000:60:03.1").vf_index, 25);
  EXPECT_EQ(Get(h, "0000:5e:00.0").driver, "ice");
  EXPECT_EQ(Get(h, "0000:60:03.1").driver, "iavf");
  // No pci.ids under the root: names stay empty.
  EXPECT_EQ(Get(h, "0000:5e:00.0").vendor_name, "");
  EXPECT_EQ(Get(h, "0000:5e:00.0").device_name, "");
}

TEST_F(HostTest, MellanoxLegacyPfNetdev) {
  std::vector<FakePf> pfs = sk::testing::AddMellanoxCx5Legacy(b_);
  b_.WritePciIds();
  HostSnapshot h = Discover();
  const PciDevice& pf = Get(h, pfs[1].bdf);
  EXPECT_EQ(pf.vendor_name, "Mellanox Technologies");
  EXPECT_EQ(pf.device_name, "MT27800 Family [ConnectX-5]");
  EXPECT_EQ(pf.pf_netdev, "ens1f1");
  EXPECT_EQ(pf.netdevs[0].phys_port_name, "");
  ExpectSriovMatches(h, pfs);
  EXPECT_EQ(Get(h, pfs[0].vfs[0]).device_name,
            "MT27800 Family [ConnectX-5 Virtual Function]");
}

TEST_F(HostTest, SwitchdevChoosesUplinkNotFirstRepresentor) {
  std::vector<FakePf> pfs = sk::testing::AddMellanoxCx5Switchdev(b_);
  HostSnapshot h = Discover();
  for (size_t p = 0; p < pfs.size(); ++p) {
    SCOPED_TRACE(p);
    const PciDevice& pf = Get(h, pfs[p].bdf);
    // Representors sort before the uplink in the directory.
    ASSERT_THAT(pf.netdevs, SizeIs(5));
    EXPECT_EQ(pf.netdevs[0].name, pfs[p].representors[0]);
    EXPECT_EQ(pf.netdevs[0].phys_port_name, "pf" + std::to_string(p) + "vf0");
    EXPECT_EQ(pf.netdevs.back().name,
              "ens1f" + std::to_string(p) + "np" + std::to_string(p));
    EXPECT_EQ(pf.pf_netdev, pfs[p].netdev);
    EXPECT_EQ(pf.pf_netdev, pf.netdevs.back().name);
    for (const NetDev& nd : pf.netdevs)
      EXPECT_EQ(nd.phys_switch_id, pfs[p].phys_switch_id);
  }
  ExpectSriovMatches(h, pfs);
}

TEST_F(HostTest, SwitchdevUplinkByPfNAndNoUplink) {
  FakeDevice d;
  d.bdf = "0000:03:00.0";
  d.driver = "mlx5_core";
  d.netdevs = {{"a_rep", "", 1500, "up", 1, "pf0vf0", "abcd"},
               {"b_pf", "", 1500, "up", 1, "pf0", "abcd"},
               {"c_sf", "", 1500, "up", 1, "pf0sf1", "abcd"}};
  b_.AddPf(d, Total(4));
  FakeDevice only_reps = d;
  only_reps.bdf = "0000:04:00.0";
  only_reps.netdevs = {{"rep0", "", 1500, "up", 1, "pf0vf0", "abcd"}};
  b_.AddPf(only_reps, Total(4));
  HostSnapshot h = Discover();
  EXPECT_EQ(Get(h, "0000:03:00.0").pf_netdev, "b_pf");
  EXPECT_FALSE(Get(h, "0000:04:00.0").pf_netdev.has_value());
  EXPECT_EQ(Get(h, "0000:04:00.0").sriov_numvfs, 0);
  EXPECT_THAT(h.VfsOf(Get(h, "0000:04:00.0")), IsEmpty());
}

TEST_F(HostTest, WithoutNetdevDetailsVfsKeepNameAndTypePfsEverything) {
  std::vector<FakePf> pfs = sk::testing::AddMellanoxCx5Switchdev(b_);
  FakeCardOptions other_bus;
  other_bus.bus = 0x3b;
  std::vector<FakePf> ib = sk::testing::AddMellanoxCx5Infiniband(b_, other_bus);
  DiscoverOptions o;
  o.details = false;
  HostSnapshot lean = Discover(o);
  HostSnapshot full = Discover();
  // Same devices, same SR-IOV layout.
  ASSERT_EQ(lean.devices().size(), full.devices().size());
  ExpectSriovMatches(lean, pfs);
  ExpectSriovMatches(lean, ib);
  for (const FakePf& pf : pfs) {
    // The PF is read in full: its uplink is still chosen by phys_port_name.
    EXPECT_EQ(Get(lean, pf.bdf).pf_netdev, pf.netdev);
    ASSERT_EQ(Get(lean, pf.bdf).netdevs.size(),
              Get(full, pf.bdf).netdevs.size());
    EXPECT_EQ(Get(lean, pf.bdf).netdevs.back().mac,
              Get(full, pf.bdf).netdevs.back().mac);
  }
  size_t vf_netdevs = 0;
  for (const PciDevice& d : lean.devices()) {
    if (!d.is_vf()) continue;
    const PciDevice& f = Get(full, d.address.ToString());
    ASSERT_EQ(NetdevNames(d), NetdevNames(f));
    for (size_t i = 0; i < d.netdevs.size(); ++i, ++vf_netdevs) {
      EXPECT_EQ(d.netdevs[i].link_type, f.netdevs[i].link_type);
      EXPECT_NE(f.netdevs[i].mac, "");
      EXPECT_EQ(d.netdevs[i].mac, "");
      EXPECT_FALSE(d.netdevs[i].mtu.has_value());
      EXPECT_EQ(d.netdevs[i].operstate, "");
    }
  }
  EXPECT_GT(vf_netdevs, 0u);
  // InfiniBand VFs keep their link type.
  const PciDevice& ib_vf = Get(lean, ib[0].vfs[0]);
  ASSERT_THAT(ib_vf.netdevs, SizeIs(1));
  EXPECT_EQ(ib_vf.netdevs[0].link_type, LinkType::kInfiniband);
}

TEST_F(HostTest, WithoutDetailsNoIommuGroupNamesAreNotRead) {
  std::vector<FakePf> pfs = sk::testing::AddNoIommuHost(b_);
  DiscoverOptions o;
  o.details = false;
  HostSnapshot lean = Discover(o);
  HostSnapshot full = Discover();
  for (const std::string& vf : pfs[0].vfs) {
    EXPECT_TRUE(Get(full, vf).noiommu) << vf;
    EXPECT_FALSE(Get(lean, vf).noiommu) << vf;
    EXPECT_EQ(Get(lean, vf).iommu_group, Get(full, vf).iommu_group) << vf;
  }
}

TEST_F(HostTest, InfinibandLinkType) {
  std::vector<FakePf> pfs = sk::testing::AddMellanoxCx5Infiniband(b_);
  HostSnapshot h = Discover();
  const PciDevice& pf = Get(h, pfs[0].bdf);
  EXPECT_EQ(pf.class_code, 0x020700u);
  ASSERT_THAT(pf.netdevs, SizeIs(1));
  EXPECT_EQ(pf.netdevs[0].link_type, LinkType::kInfiniband);
  EXPECT_EQ(pf.netdevs[0].mtu, 4092);
  EXPECT_THAT(pf.netdevs[0].mac, SizeIs(59));  // 20 bytes
  EXPECT_EQ(std::string(LinkTypeName(pf.netdevs[0].link_type)), "infiniband");
  ExpectSriovMatches(h, pfs);
}

TEST_F(HostTest, NoIommuHostVfioVfs) {
  std::vector<FakePf> pfs = sk::testing::AddNoIommuHost(b_);
  HostSnapshot h = Discover();
  const PciDevice& pf = Get(h, pfs[0].bdf);
  EXPECT_FALSE(pf.iommu_group.has_value());
  EXPECT_FALSE(pf.noiommu);
  for (const std::string& bdf : pfs[0].vfs) {
    SCOPED_TRACE(bdf);
    const PciDevice& vf = Get(h, bdf);
    EXPECT_EQ(vf.driver, "vfio-pci");
    ASSERT_TRUE(vf.iommu_group.has_value());
    EXPECT_TRUE(vf.noiommu);
    EXPECT_THAT(vf.netdevs, IsEmpty());
    EXPECT_TRUE(std::filesystem::exists(
        dir_ / ("dev/vfio/noiommu-" + std::to_string(*vf.iommu_group))));
  }
  ExpectSriovMatches(h, pfs);
}

TEST_F(HostTest, VfioBoundUnboundAndNetnsVfs) {
  FakeCardOptions o;
  o.vf_driver = "";
  std::vector<FakePf> unbound = sk::testing::AddIntelX710(b_, o);
  std::vector<FakePf> igb = sk::testing::AddIntel82576(b_);
  b_.BindDriver(igb[0].vfs[2], "vfio-pci");
  b_.RemoveNetdevs(igb[0].vfs[4]);  // netdev moved to another netns
  HostSnapshot h = Discover();
  const PciDevice& u = Get(h, unbound[0].vfs[1]);
  EXPECT_FALSE(u.driver.has_value());
  EXPECT_THAT(u.netdevs, IsEmpty());
  EXPECT_THAT(u.warnings, IsEmpty());
  const PciDevice& v = Get(h, igb[0].vfs[2]);
  EXPECT_EQ(v.driver, "vfio-pci");
  EXPECT_FALSE(v.noiommu);
  EXPECT_THAT(v.netdevs, IsEmpty());
  EXPECT_TRUE(std::filesystem::exists(
      dir_ / ("dev/vfio/" + std::to_string(v.iommu_group.value()))));
  const PciDevice& ns = Get(h, igb[0].vfs[4]);
  EXPECT_EQ(ns.driver, "igbvf");
  EXPECT_THAT(ns.netdevs, IsEmpty());
  EXPECT_THAT(ns.warnings, IsEmpty());
  EXPECT_EQ(ns.vf_index, 4);
}

TEST_F(HostTest, KeepsOnlyNetworkAndAcceleratorClasses) {
  b_.AddDevice(Dev("0000:00:1f.2", 0x010601));  // SATA
  b_.AddDevice(Dev("0000:02:00.0", 0x010802));  // NVMe
  FakeDevice qat = Dev("0000:6b:00.0", 0x120000);
  qat.device_id = 0x0d5c;
  qat.driver = "qat_4xxx";
  b_.AddDevice(qat);
  b_.AddDevice(Dev("0000:03:00.0", 0x028000));  // other network
  HostSnapshot h = Discover();
  ASSERT_THAT(h.devices(), SizeIs(2));
  EXPECT_EQ(h.devices()[0].address.ToString(), "0000:03:00.0");
  EXPECT_TRUE(h.devices()[0].is_network());
  EXPECT_EQ(h.devices()[1].address.ToString(), "0000:6b:00.0");
  EXPECT_TRUE(h.devices()[1].is_accelerator());
  EXPECT_EQ(h.devices()[1].driver, "qat_4xxx");
  EXPECT_THAT(h.PhysicalFunctions(), IsEmpty());
}

TEST_F(HostTest, NumaMinusOneAndMissingAreUnset) {
  b_.AddDevice(Numa("0000:03:00.0", -1));
  b_.AddDevice(Numa("0000:04:00.0", std::nullopt));
  b_.AddDevice(Numa("0000:05:00.0", 3));
  HostSnapshot h = Discover();
  EXPECT_FALSE(Get(h, "0000:03:00.0").numa_node.has_value());
  EXPECT_FALSE(Get(h, "0000:04:00.0").numa_node.has_value());
  EXPECT_EQ(Get(h, "0000:05:00.0").numa_node, 3);
  for (const PciDevice& d : h.devices()) EXPECT_THAT(d.warnings, IsEmpty());
}

TEST_F(HostTest, MalformedAttributesWarnNamingAttributeAndValue) {
  std::vector<FakePf> pfs = sk::testing::AddIntel82576(b_);
  const std::string pf = pfs[0].bdf, vf = pfs[0].vfs[0], vf2 = pfs[0].vfs[1];
  b_.WriteAttribute(pf, "numa_node", "x\n");
  b_.WriteAttribute(pf, "sriov_numvfs", "lots\n");
  b_.WriteAttribute(pf, "acpi_index", "-\n");
  b_.WriteAttribute(pf, "net/enp1s0f0/mtu", "abc\n");
  b_.WriteAttribute(pf, "net/enp1s0f0/address", "zz:00\n");
  b_.WriteAttribute(pf, "net/enp1s0f0/type", "ether\n");
  b_.RelativeSymlink(b_.DeviceDir(vf) + "/iommu_group",
                     "sys/kernel/iommu_groups/abc");
  b_.WriteAttribute(vf, "uevent",
                    "DRIVER=igbvf\nPCI_CLASS=20000\nPCI_ID=80:86\n"
                    "PCI_SUBSYS_ID=8086:A03C\n");
  b_.WriteAttribute(vf, "numa_node", "-7\n");
  b_.RemoveAttribute(vf2, "uevent");
  b_.WriteAttribute(vf2, "vendor", "0xzz\n");
  b_.RemoveAttribute(vf2, "subsystem_device");
  HostSnapshot h = Discover();
  const PciDevice& p = Get(h, pf);
  EXPECT_THAT(p.warnings,
              ElementsAre("numa_node: not an integer: \"x\"",
                          "acpi_index: not an integer: \"-\"",
                          "net/enp1s0f0/type: not an integer: \"ether\"",
                          "net/enp1s0f0/address: not a hardware address: "
                          "\"zz:00\"",
                          "net/enp1s0f0/mtu: not an integer: \"abc\"",
                          "sriov_numvfs: not an integer: \"lots\""))
      << ::testing::PrintToString(p.warnings);
  // Everything else is still read.
  EXPECT_FALSE(p.numa_node.has_value());
  EXPECT_FALSE(p.sriov_numvfs.has_value());
  EXPECT_EQ(p.sriov_totalvfs, 8);
  EXPECT_EQ(p.driver, "igb");
  EXPECT_EQ(p.netdevs[0].mac, "");
  EXPECT_FALSE(p.netdevs[0].mtu.has_value());
  EXPECT_EQ(p.netdevs[0].operstate, "up");
  EXPECT_EQ(p.netdevs[0].link_type, LinkType::kUnknown);
  EXPECT_THAT(h.VfsOf(p), SizeIs(7));

  const PciDevice& v = Get(h, vf);
  EXPECT_THAT(v.warnings,
              ElementsAre("uevent: PCI_ID: not \"vvvv:dddd\": \"80:86\"",
                          "numa_node: out of range: \"-7\"",
                          "iommu_group: link target is not a group number: "
                          "\"abc\""))
      << ::testing::PrintToString(v.warnings);
  // PCI_ID fell back to the vendor/device files.
  EXPECT_EQ(v.vendor_id, 0x8086);
  EXPECT_EQ(v.device_id, 0x10ca);
  EXPECT_EQ(v.subsystem_device_id, 0xa03c);
  EXPECT_FALSE(v.iommu_group.has_value());
  EXPECT_EQ(v.vf_index, 0);

  const PciDevice& v2 = Get(h, vf2);
  EXPECT_THAT(v2.warnings, ElementsAre("vendor: not an integer: \"0xzz\"",
                                       "subsystem_device: missing"))
      << ::testing::PrintToString(v2.warnings);
  EXPECT_EQ(v2.device_id, 0x10ca);  // from the attribute file
  EXPECT_EQ(v2.driver, "igbvf");    // from the driver link
  EXPECT_EQ(v2.vf_index, 1);
}

TEST_F(HostTest, UnclassifiableEntriesAreHostWarnings) {
  b_.AddDevice(Dev("0000:03:00.0"));
  b_.AddDevice(Dev("0000:04:00.0"));
  b_.RemoveAttribute("0000:04:00.0", "uevent");
  b_.WriteAttribute("0000:04:00.0", "class", "junk\n");
  b_.MakeDirs("sys/bus/pci/devices/not-a-bdf");
  HostSnapshot h = Discover();
  ASSERT_THAT(h.devices(), SizeIs(1));
  EXPECT_THAT(h.warnings(),
              ElementsAre("0000:04:00.0: class: not an integer: \"junk\"; "
                          "skipped",
                          "sys/bus/pci/devices/not-a-bdf: not a PCI address, "
                          "skipped"));
}

TEST_F(HostTest, VfWithoutMatchingVirtfnHasNoIndex) {
  std::vector<FakePf> pfs = sk::testing::AddIntel82576(b_);
  b_.Remove(b_.DeviceDir(pfs[0].bdf) + "/virtfn3");
  HostSnapshot h = Discover();
  const PciDevice& vf = Get(h, pfs[0].vfs[3]);
  EXPECT_EQ(vf.physfn, Addr(pfs[0].bdf));
  EXPECT_FALSE(vf.vf_index.has_value());
  EXPECT_THAT(vf.warnings,
              ElementsAre("physfn: PF 0000:01:00.0 has no virtfn link to "
                          "this device; VF index unknown"));
  EXPECT_THAT(h.VfsOf(Get(h, pfs[0].bdf)), SizeIs(6));
}

TEST_F(HostTest, PciIdsLookupOrderAndOptOut) {
  FakeCardOptions o;
  o.ports = 1;
  o.num_vfs = 1;
  sk::testing::AddIntel82576(b_, o);
  b_.WritePciIds(
      "8086  Intel (hwdata copy)\n"
      "\t10c9  82576 (hwdata copy)\n"
      "\t\t10ca 0001  subsystem line, not device 10ca\n",
      "usr/share/hwdata/pci.ids");
  HostSnapshot h = Discover();
  EXPECT_EQ(Get(h, "0000:01:00.0").vendor_name, "Intel (hwdata copy)");
  EXPECT_EQ(Get(h, "0000:01:00.0").device_name, "82576 (hwdata copy)");
  EXPECT_EQ(Get(h, "0000:01:10.0").device_name, "");
  b_.WritePciIds();  // usr/share/misc/pci.ids comes first
  EXPECT_EQ(Get(Discover(), "0000:01:10.0").device_name,
            "82576 Virtual Function");
  DiscoverOptions no_names;
  no_names.resolve_names = false;
  EXPECT_EQ(Get(Discover(no_names), "0000:01:00.0").vendor_name, "");
}

TEST_F(HostTest, ScaleTreeEveryVfCorrect) {
  std::vector<FakePf> pfs = sk::testing::AddScaleTree(b_);
  HostSnapshot h = Discover();
  ASSERT_THAT(h.PhysicalFunctions(), SizeIs(8));
  size_t vfs = 0;
  for (const PciDevice& d : h.devices()) vfs += d.is_vf();
  EXPECT_EQ(vfs, 2048u);
  EXPECT_THAT(h.warnings(), IsEmpty());
  ExpectSriovMatches(h, pfs);
  for (size_t k = 0; k < pfs.size(); ++k)
    EXPECT_EQ(Get(h, pfs[k].vfs[77]).numa_node, static_cast<int>(k % 2));
  // The result does not depend on the number of threads.
  HostSnapshot one = Discover(Threads(1));
  HostSnapshot four = Discover(Threads(4));
  ASSERT_EQ(one.devices().size(), four.devices().size());
  for (size_t i = 0; i < one.devices().size(); ++i) {
    EXPECT_EQ(one.devices()[i].address, four.devices()[i].address);
    EXPECT_EQ(one.devices()[i].vf_index, four.devices()[i].vf_index);
    EXPECT_EQ(one.devices()[i].iommu_group, four.devices()[i].iommu_group);
  }
}

TEST_F(HostTest, MissingBusDirIsNotFound) {
  sk::testing::TempDir empty;
  EXPECT_THAT(
      HostSnapshot::Discover(Sysfs(empty.path())),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("sys/bus/pci/devices")));
}

TEST(ParseHwAddressTest, NormalisesAndRejects) {
  EXPECT_THAT(ParseHwAddress("AA:bb:0C:dd:ee:0F"),
              IsOkAndHolds("aa:bb:0c:dd:ee:0f"));
  EXPECT_THAT(ParseHwAddress("00"), IsOkAndHolds("00"));
  for (const char* bad : {"", "aa:bb:", "a:bb", "aa-bb", "gg:00", "aabb", ":aa",
                          "aa:bb:cc:dd:ee:ff "}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseHwAddress(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::string("\"") + bad + "\"")));
  }
}

TEST(LinkTypeNameTest, Names) {
  EXPECT_STREQ(LinkTypeName(LinkType::kEther), "ether");
  EXPECT_STREQ(LinkTypeName(LinkType::kInfiniband), "infiniband");
  EXPECT_STREQ(LinkTypeName(LinkType::kUnknown), "unknown");
}

}  // namespace
}  // namespace sk::sysfs
