// Fuzzes the pci.ids parser (a file under the sysfs root: not ours).
// Invariants: nothing crashes; every named device's vendor is named and was
// wanted.
#include <cstdint>
#include <string_view>

#include "lib/sysfs/pci_ids.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::unordered_set<uint32_t> wanted = {0x808610ca, 0x808610c9,
                                               0x15b31018, 0x00000000};
  sk::sysfs::PciNames n = sk::sysfs::ParsePciIds(text, wanted);
  for (const auto& [key, name] : n.devices) {
    if (!wanted.count(key)) __builtin_trap();
    if (!n.vendors.count(static_cast<uint16_t>(key >> 16))) __builtin_trap();
  }
  return 0;
}
