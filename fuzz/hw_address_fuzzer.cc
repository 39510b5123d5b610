// Fuzzes sk::sysfs::ParseHwAddress (net/<if>/address). Invariant: accepted
// input keeps its length, comes back lower case, and is a fixed point.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/sysfs/host.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto mac = sk::sysfs::ParseHwAddress(in);
  if (!mac.ok()) return 0;
  if (mac->size() != in.size()) __builtin_trap();
  for (char c : *mac)
    if (c >= 'A' && c <= 'Z') __builtin_trap();
  auto again = sk::sysfs::ParseHwAddress(*mac);
  if (!again.ok() || *again != *mac) __builtin_trap();
  return 0;
}
