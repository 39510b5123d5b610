#pragma once
// The pci.ids database (the PCI ID Repository's format, as Debian's
// pciutils/hwdata ship it in /usr/share/misc/pci.ids): vendor and device
// names for a set of IDs.
//
// Format: "vvvv  Vendor" lines at column 0, "\tdddd  Device" lines below
// their vendor, "\t\t..." subsystem lines (skipped), '#' comments, and the
// "C xx" class section, which ends the vendor list. Malformed lines are
// skipped; the parser never fails and reads each line once.
//
//   PciNames n = ParsePciIds(text, {0x808610ca});
//   n.vendors[0x8086] == "Intel Corporation"
//   n.devices[0x808610ca] == "82576 Virtual Function"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace sk::sysfs {

struct PciNames {
  std::unordered_map<uint16_t, std::string> vendors;  // vendor id -> name
  std::unordered_map<uint32_t, std::string> devices;  // vendor<<16|device
};

// Names for the IDs in `wanted` (vendor << 16 | device) only; a vendor's
// name is kept when any wanted ID has that vendor.
PciNames ParsePciIds(std::string_view text,
                     const std::unordered_set<uint32_t>& wanted);

// Four hex digits at the start of `s` (any case); false otherwise.
bool ParseHex4(std::string_view s, uint16_t* out);

}  // namespace sk::sysfs
