// Fuzzes the /proc/cmdline tokenizer and its IOMMU reading
// (lib/doctor/kernel_cmdline.h).
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/doctor/kernel_cmdline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sk::doctor::KernelCmdline c = sk::doctor::ParseKernelCmdline(text);
  (void)sk::doctor::InterpretIommuCmdline(c);
  // /proc/cmdline ends with a newline; trailing whitespace never changes the
  // arguments (an open quote swallows it into the last value, so only check
  // inputs whose quotes are balanced).
  size_t quotes = 0;
  for (char ch : text) quotes += ch == '"';
  if (quotes % 2 == 0) {
    sk::doctor::KernelCmdline again =
        sk::doctor::ParseKernelCmdline(std::string(text) + " \n");
    if (again.params != c.params || again.init_args != c.init_args) {
      __builtin_trap();
    }
  }
  // Tokens never exceed the input.
  size_t total = 0;
  for (const auto& p : c.params)
    total += p.name.size() + p.value.value_or("").size();
  if (total > size) __builtin_trap();
  return 0;
}
