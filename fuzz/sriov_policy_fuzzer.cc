// Fuzzes the SriovNetworkNodePolicy and SriovNetwork readers of
// `sriovctl apply` / `sriovctl render` (lib/nodeconfig): the bounded
// YAML/JSON loader, the typed field readers and the static webhook checks.
// Invariants: nothing throws, crashes, loops or allocates without bound; a
// parsed policy has a name, a valid resourceName and, when its pfNames
// carry a range, one that ParsePfNameRange accepts; a parsed SriovNetwork
// renders a NAD config that is valid JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nlohmann/json.hpp"

#include "lib/nodeconfig/policy.h"
#include "lib/nodeconfig/render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ps = sk::nodeconfig::ParsePolicies(in, "fuzz.yaml");
  if (ps.ok()) {
    for (const auto& p : *ps) {
      if (p.name.empty() || p.resource_name.empty()) __builtin_trap();
      for (const auto& n : p.nic_selector.pf_names) {
        (void)sk::nodeconfig::ParsePfNameRange(n);
      }
    }
    sk::nodeconfig::NodeInfo node{"n", {}};
    sk::sysfs::HostSnapshot host;
    (void)sk::nodeconfig::ValidatePolicies(*ps, node, host);
  }
  auto nets = sk::nodeconfig::ParseSriovNetworks(in, "fuzz.yaml");
  if (nets.ok()) {
    for (const auto& n : *nets) {
      if (!nlohmann::json::accept(sk::nodeconfig::RenderNadConfig(n)))
        __builtin_trap();
    }
  }
  return 0;
}
