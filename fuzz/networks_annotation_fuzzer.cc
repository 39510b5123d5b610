// Fuzzes the parsers of pod-supplied and node-supplied text in the
// meta-plugin: the k8s.v1.cni.cncf.io/networks annotation (both forms), the
// shim's CNI config, a NAD's spec.config, the saved delegate list, and a
// delegate's result turned into network-status.
#include <cstdint>
#include <string>

#include "lib/base/json.h"
#include "lib/netattach/config.h"
#include "lib/netattach/delegate_conf.h"
#include "lib/netattach/metaplugin.h"
#include "lib/netattach/networks.h"
#include "lib/netattach/status.h"

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
  auto conf = sk::netattach::ParseNetConfig(text, "fallback", "fuzz");
  if (conf.ok()) {
    sk::netattach::InjectDeviceId(*conf, "0000:03:02.0");
    sk::netattach::MergeCniArgs(*conf, nlohmann::json::object({{"k", 1}}));
    if (conf->plugin_types.empty()) __builtin_trap();
  }
  auto saved = sk::netattach::DecodeAttachments(text);
  if (saved.ok()) {
    // Our encoding of a decoded list must decode again.
    if (!sk::netattach::DecodeAttachments(
             sk::netattach::EncodeAttachments(*saved))
             .ok())
      __builtin_trap();
  }
  auto result = sk::ParseJsonBounded(text);
  if (result.ok())
    (void)sk::netattach::NetworkStatusJson(
        sk::netattach::NetworkStatusEntries("n", *result, true, *result));
  return 0;
}
