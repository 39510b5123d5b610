#include "lib/deviceplugin/selectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sk::deviceplugin {
namespace {

DeviceFacts Vf(int index) {
  DeviceFacts f;
  f.pci_address = "0000:86:02.1";
  f.vendor = "8086";
  f.device = "154c";
  f.driver = "vfio-pci";
  f.acpi_index = "3";
  f.pf_name = "ens1f0";
  f.pf_address = "0000:86:00.0";
  f.vf_index = index;
  f.link_type = "ether";
  return f;
}

PfSelector Pf(const char* text) { return *PfSelector::Parse(text); }

TEST(SelectorTest, EmptySelectorMatchesEverything) {
  EXPECT_TRUE(Matches(Selector{}, Vf(0)));
  DeviceFacts pf;
  pf.pci_address = "0000:01:00.0";
  EXPECT_TRUE(Matches(Selector{}, pf));
}

TEST(SelectorTest, FieldsAreAndedValuesAreOred) {
  Selector s;
  s.vendors = {"15b3", "8086"};
  s.drivers = {"vfio-pci"};
  EXPECT_TRUE(Matches(s, Vf(0)));
  s.drivers = {"iavf"};
  EXPECT_FALSE(Matches(s, Vf(0)));
  EXPECT_EQ(Explain(s, Vf(0)), "drivers: \"vfio-pci\" not in [iavf]");
}

TEST(SelectorTest, EachFilterRejectsWithItsReason) {
  struct Case {
    const char* name;
    Selector s;
    const char* reason;
  };
  Selector v;
  v.vendors = {"15b3"};
  Selector d;
  d.devices = {"1889"};
  Selector pci;
  pci.pci_addresses = {"0000:86:02.2"};
  Selector acpi;
  acpi.acpi_indexes = {"4"};
  Selector pfn;
  pfn.pf_names = {Pf("ens1f0#1-3")};
  Selector root;
  root.root_devices = {Pf("0000:86:00.1")};
  Selector lt;
  lt.link_types = {"infiniband"};
  Selector rdma;
  rdma.is_rdma = true;
  Case cases[] = {
      {"vendors", v, "vendors: \"8086\" not in [15b3]"},
      {"devices", d, "devices: \"154c\" not in [1889]"},
      {"pciAddresses", pci,
       "pciAddresses: \"0000:86:02.1\" not in [0000:86:02.2]"},
      {"acpiIndexes", acpi, "acpiIndexes: \"3\" not in [4]"},
      {"pfNames", pfn, "pfNames: PF \"ens1f0\" VF 0 not in [ens1f0#1-3]"},
      {"rootDevices", root,
       "rootDevices: PF \"0000:86:00.0\" VF 0 not in [0000:86:00.1]"},
      {"linkTypes", lt, "linkTypes: \"ether\" not in [infiniband]"},
      {"isRdma", rdma, "isRdma: device has no RDMA device"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(Matches(c.s, Vf(0)));
    EXPECT_EQ(Explain(c.s, Vf(0)), c.reason);
  }
}

TEST(SelectorTest, PfNamesHonourVfRangesAndCase) {
  Selector s;
  s.pf_names = {Pf("ENS1F0#0,2-3")};
  EXPECT_TRUE(Matches(s, Vf(0)));
  EXPECT_FALSE(Matches(s, Vf(1)));
  EXPECT_TRUE(Matches(s, Vf(2)));
  EXPECT_TRUE(Matches(s, Vf(3)));
  EXPECT_FALSE(Matches(s, Vf(4)));
}

TEST(SelectorTest, RepeatedPfEntriesAreUnioned) {
  Selector s;
  s.pf_names = {Pf("ens1f0#0-1"), Pf("ens1f0#5")};
  EXPECT_TRUE(Matches(s, Vf(1)));
  EXPECT_TRUE(Matches(s, Vf(5)));
  EXPECT_FALSE(Matches(s, Vf(3)));
}

TEST(SelectorTest, RootDevicesCompareNormalisedAddressesWithRanges) {
  Selector s;
  s.root_devices = {Pf("0000:86:00.0#8-15")};
  EXPECT_FALSE(Matches(s, Vf(7)));
  EXPECT_TRUE(Matches(s, Vf(8)));
  s.root_devices = {Pf("0000:86:00.0")};
  EXPECT_TRUE(Matches(s, Vf(100)));
}

TEST(SelectorTest, PfNamesAndRootDevicesNeverMatchNonVfs) {
  DeviceFacts pf;
  pf.pci_address = "0000:86:00.0";
  Selector s;
  s.root_devices = {Pf("0000:86:00.0")};
  EXPECT_FALSE(Matches(s, pf));
  Selector n;
  n.pf_names = {Pf("ens1f0")};
  EXPECT_FALSE(Matches(n, pf));
}

TEST(SelectorTest, PciAddressesNeedTheFullFormButIgnoreHexCase) {
  Selector s;
  s.pci_addresses = {"0000:86:02.1"};
  EXPECT_TRUE(Matches(s, Vf(0)));
  s.pci_addresses = {"86:02.1"};
  EXPECT_FALSE(Matches(s, Vf(0)));
  DeviceFacts f = Vf(0);
  f.pci_address = "0000:3b:02.1";
  s.pci_addresses = {"0000:3B:02.1"};
  EXPECT_TRUE(Matches(s, f));
}

TEST(SelectorTest, RdmaAndLinkTypeMatchWhenPresent) {
  Selector s;
  s.is_rdma = true;
  s.link_types = {"ETHER"};
  DeviceFacts f = Vf(0);
  f.rdma = true;
  EXPECT_TRUE(Matches(s, f));
}

}  // namespace
}  // namespace sk::deviceplugin
