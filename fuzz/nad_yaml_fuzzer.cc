// Fuzzes the NetworkAttachmentDefinition file path of `sriovctl kubevirt`
// (render-pod/domain --nad/--nad-dir): the bounded YAML/JSON loader and
// NadStore on top of it. Invariants: nothing throws, crashes, loops or
// allocates without bound (libFuzzer's -rss_limit_mb and -timeout catch the
// last two); a file that loads adds only NADs that can be found again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/kubevirt/input.h"
#include "lib/kubevirt/launcher_pod.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto docs = sk::kubevirt::LoadYamlDocuments(in);
  // Every document takes at least one byte of input.
  if (docs.ok() && docs->size() > size + 1) __builtin_trap();
  sk::kubevirt::NadStore nads("default");
  if (!nads.AddText(in, "fuzz.yaml").ok() && nads.size() != 0) {
    __builtin_trap();  // a failing file must add nothing
  }
  return 0;
}
