#include "lib/sysfs/pci_ids.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::sysfs {
namespace {

using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Lines as Debian's /usr/share/misc/pci.ids has them.
constexpr char kIds[] =
    "#\n"
    "#\tList of PCI ID's\n"
    "#\n"
    "15b3  Mellanox Technologies\n"
    "\t1018  MT28800 Family [ConnectX-5 Ex Virtual Function]\n"
    "8086  Intel Corporation\n"
    "\t10c9  82576 Gigabit Network Connection\n"
    "\t\t8086 a03c  Ethernet Server Adapter I340-T2\n"
    "\t10ca  82576 Virtual Function\n"
    "\t1572  Ethernet Controller X710 for 10GbE SFP+\n"
    "80861 not an ID line\n"
    "\t10cb  stray device under a malformed vendor\n"
    "# List of known device classes, subclasses and programming interfaces\n"
    "C 02  Network controller\n"
    "8086  after the class section\n";

TEST(PciIdsTest, NamesOnlyTheWantedIds) {
  PciNames n = ParsePciIds(kIds, {0x808610ca, 0x808610c9});
  EXPECT_THAT(n.vendors,
              UnorderedElementsAre(Pair(0x8086, "Intel Corporation")));
  EXPECT_THAT(n.devices,
              UnorderedElementsAre(
                  Pair(0x808610c9u, "82576 Gigabit Network Connection"),
                  Pair(0x808610cau, "82576 Virtual Function")));
}

TEST(PciIdsTest, SubsystemLinesAreNotDevices) {
  // "\t\t8086 a03c" is a subsystem of 10c9, never device a03c.
  PciNames n = ParsePciIds(kIds, {0x8086a03c});
  EXPECT_THAT(n.devices, IsEmpty());
  EXPECT_EQ(n.vendors.at(0x8086), "Intel Corporation");
}

TEST(PciIdsTest, MalformedVendorLineEndsTheVendorAndClassSectionEndsTheList) {
  // 10cb sits below "80861 ...", which is not a vendor line; the "8086"
  // line after "C 02" is in the class section and renames nothing.
  PciNames n = ParsePciIds(kIds, {0x808610cb});
  EXPECT_THAT(n.devices, IsEmpty());
  EXPECT_THAT(n.vendors,
              UnorderedElementsAre(Pair(0x8086, "Intel Corporation")));
}

TEST(PciIdsTest, UnknownIdsAndEmptyInput) {
  EXPECT_THAT(ParsePciIds(kIds, {0x12341234}).vendors, IsEmpty());
  EXPECT_THAT(ParsePciIds("", {0x808610ca}).devices, IsEmpty());
  EXPECT_THAT(ParsePciIds(kIds, {}).vendors, IsEmpty());
}

TEST(PciIdsTest, UpperCaseHexAndNoTrailingNewline) {
  PciNames n = ParsePciIds("15B3  Mellanox\n\t101A  CX5 VF", {0x15b3101a});
  EXPECT_EQ(n.vendors.at(0x15b3), "Mellanox");
  EXPECT_EQ(n.devices.at(0x15b3101a), "CX5 VF");
}

TEST(PciIdsTest, ParseHex4) {
  uint16_t v = 0;
  EXPECT_TRUE(ParseHex4("10cA", &v));
  EXPECT_EQ(v, 0x10ca);
  EXPECT_FALSE(ParseHex4("10c", &v));
  EXPECT_FALSE(ParseHex4("10cg", &v));
}

}  // namespace
}  // namespace sk::sysfs
