// Fuzzes the kubeconfig parser (src/lib/kube/kubeconfig.h) with the text as
// the file. Invariants: nothing throws, crashes, loops or allocates without
// bound; a config that parses names an http(s) server, and a client
// certificate comes with its key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/kube/kubeconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // A relative origin: file references resolve under a directory that does
  // not exist, so the fuzzer never reads real files.
  auto cfg = sk::kube::ParseKubeconfig(in, "/nonexistent-sk-fuzz/config",
                                       {.context = "", .allow_insecure = true});
  if (cfg.ok()) {
    if (cfg->server.rfind("http", 0) != 0) __builtin_trap();
    if (cfg->client_cert_pem.empty() != cfg->client_key_pem.empty())
      __builtin_trap();
  }
  return 0;
}
