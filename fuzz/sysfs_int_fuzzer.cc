// Fuzzes sk::sysfs::ParseSysfsInt (numa_node, mtu, sriov_numvfs, class...).
// Invariant: an accepted decimal value prints back to a string that parses
// to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/sysfs/sysfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto v = sk::sysfs::ParseSysfsInt(in);
  if (!v.ok()) return 0;
  auto again = sk::sysfs::ParseSysfsInt(std::to_string(*v));
  if (!again.ok() || *again != *v) __builtin_trap();
  return 0;
}
