// Fuzzes the parsers of pod-supplied and node-supplied text in the
// meta-plugin: the k8s.v1.cni.cncf.io/networks annotation (both forms) and
// the shim's CNI config.
#include <cstdint>
#include <string>

#include "lib/netattach/config.h"
#include "lib/netattach/networks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto nets = sk::netattach::ParseNetworkSelections(text, "ns", "pod", "ns");
  if (nets.ok()) {
    for (const auto& n : *nets) {
      // Every accepted element has a name and a namespace, and a requested
      // interface name the kernel would accept.
      if (n.name.empty() || n.ns.empty()) __builtin_trap();
      if (!n.interface.empty() && !sk::netattach::IsValidIfName(n.interface))
        __builtin_trap();
    }
  }
  (void)sk::netattach::ParseShimConfig(text);
  return 0;
}
