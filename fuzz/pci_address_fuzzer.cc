// Fuzzes sk::sysfs::PciAddress::Parse (sysfs directory names and --pf
// values). Invariant: an accepted address prints in canonical form, and that
// form parses back to the same address.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/sysfs/pci.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = sk::sysfs::PciAddress::Parse(in);
  if (!a.ok()) return 0;
  std::string s = a->ToString();
  auto again = sk::sysfs::PciAddress::Parse(s);
  if (!again.ok() || *again != *a || again->ToString() != s || s.size() != 12) {
    __builtin_trap();
  }
  return 0;
}
