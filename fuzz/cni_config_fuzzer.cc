// Fuzzes the CNI plugin's parsers of bytes we do not control: stdin config
// (strict and lenient), CNI_ARGS, cached state files (possibly written by
// the Go plugin) and IPAM results.
#include <cstdint>
#include <string>

#include "lib/cni/config.h"
#include "lib/cni/env.h"
#include "lib/cni/result.h"
#include "lib/cni/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto strict = sk::cni::ParseNetConf(text, sk::cni::Strictness::kFull);
  if (strict.ok()) {
    (void)sk::cni::EffectiveMac(*strict, {});
    (void)strict->vlan_proto_ethertype();
  }
  (void)sk::cni::ParseNetConf(text, sk::cni::Strictness::kLenient);
  (void)sk::cni::ParseCniArgs(text);
  auto cache = sk::cni::DecodeCache(text);
  if (cache.ok()) {
    // Our own encoding of a decoded cache must decode again.
    if (!sk::cni::DecodeCache(sk::cni::EncodeCache(*cache)).ok())
      __builtin_trap();
  }
  auto result = sk::cni::ParseResultText(text);
  if (result.ok()) (void)sk::cni::ResultToJson(*result, "0.3.1");
  return 0;
}
