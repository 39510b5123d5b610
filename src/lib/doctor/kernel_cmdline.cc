#include "lib/doctor/kernel_cmdline.h"

#include <cctype>

#include "absl/strings/str_split.h"

#include "lib/base/strings.h"

namespace sk::doctor {
namespace {

bool IsSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// One argument starting at text[pos] (not a space). Mirrors next_arg(): the
// quote state, not the quote position, decides where an argument ends.
KernelParam NextArg(std::string_view text, size_t& pos) {
  bool quoted = false;
  bool in_quote = false;
  if (text[pos] == '"') {
    quoted = true;
    in_quote = true;
    ++pos;
  }
  size_t start = pos;
  size_t equals = std::string_view::npos;
  size_t i = pos;
  for (; i < text.size(); ++i) {
    if (IsSpace(text[i]) && !in_quote) break;
    if (equals == std::string_view::npos && text[i] == '=') equals = i;
    if (text[i] == '"') in_quote = !in_quote;
  }
  std::string_view arg = text.substr(start, i - start);
  pos = i;
  KernelParam p;
  bool strip_trailing_quote = quoted;
  if (equals == std::string_view::npos) {
    if (strip_trailing_quote && !arg.empty() && arg.back() == '"') {
      arg.remove_suffix(1);
    }
    p.name = std::string(arg);
    return p;
  }
  std::string_view name = arg.substr(0, equals - start);
  std::string_view value = arg.substr(equals - start + 1);
  if (!value.empty() && value.front() == '"') {
    value.remove_prefix(1);
    strip_trailing_quote = true;
  }
  if (strip_trailing_quote && !value.empty() && value.back() == '"') {
    value.remove_suffix(1);
  }
  p.name = std::string(name);
  p.value = std::string(value);
  return p;
}

std::vector<std::string> SplitOptions(const std::optional<std::string>& v) {
  std::vector<std::string> out;
  if (!v.has_value()) return out;
  for (absl::string_view o : absl::StrSplit(*v, ',', absl::SkipEmpty())) {
    out.emplace_back(o);
  }
  return out;
}

// The kernel's kstrtobool(): the first character decides, "on"/"off" by the
// second.
std::optional<bool> KernelBool(std::string_view v) {
  if (v.empty()) return std::nullopt;
  switch (v[0]) {
    case 'y':
    case 'Y':
    case '1':
      return true;
    case 'n':
    case 'N':
    case '0':
      return false;
    case 'o':
    case 'O':
      if (v.size() > 1 && (v[1] == 'n' || v[1] == 'N')) return true;
      if (v.size() > 1 && (v[1] == 'f' || v[1] == 'F')) return false;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::string Written(const KernelParam& p) {
  return p.value.has_value() ? sk::StrCat(p.name, "=", *p.value) : p.name;
}

}  // namespace

bool KernelParamNameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '-' ? '_' : a[i];
    char y = b[i] == '-' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

const char* SwitchName(Switch s) {
  switch (s) {
    case Switch::kUnset:
      return "unset";
    case Switch::kOn:
      return "on";
    case Switch::kOff:
      return "off";
  }
  return "unset";
}

KernelCmdline ParseKernelCmdline(std::string_view text) {
  KernelCmdline out;
  size_t pos = 0;
  bool after_dashes = false;
  while (true) {
    while (pos < text.size() && IsSpace(text[pos])) ++pos;
    if (pos >= text.size()) break;
    KernelParam p = NextArg(text, pos);
    if (!after_dashes && !p.value.has_value() && p.name == "--") {
      after_dashes = true;
      continue;
    }
    (after_dashes ? out.init_args : out.params).push_back(std::move(p));
  }
  return out;
}

IommuCmdline InterpretIommuCmdline(const KernelCmdline& cmdline) {
  IommuCmdline r;
  for (const KernelParam& p : cmdline.params) {
    auto is = [&](std::string_view n) {
      return KernelParamNameEquals(p.name, n);
    };
    if (is("intel_iommu")) {
      for (std::string& o : SplitOptions(p.value)) {
        if (o == "on") r.intel_iommu = Switch::kOn;
        if (o == "off") r.intel_iommu = Switch::kOff;
        r.intel_iommu_options.push_back(std::move(o));
      }
    } else if (is("amd_iommu")) {
      for (std::string& o : SplitOptions(p.value)) {
        if (o == "off") r.amd_iommu_off = true;
        if (o == "on") r.amd_iommu_on_given = true;
        r.amd_iommu_options.push_back(std::move(o));
      }
    } else if (is("iommu")) {
      // pci-dma.c iommu_setup() matches each option by prefix.
      for (const std::string& o : SplitOptions(p.value)) {
        if (o.starts_with("off")) r.iommu_off = true;
        if (o.starts_with("pt")) r.iommu_pt = Switch::kOn;
        if (o.starts_with("nopt")) r.iommu_pt = Switch::kOff;
      }
    } else if (is("iommu.passthrough")) {
      auto b = KernelBool(p.value.value_or(""));
      if (b.has_value()) r.iommu_pt = *b ? Switch::kOn : Switch::kOff;
    } else if (is("intremap")) {
      for (const std::string& o : SplitOptions(p.value)) {
        if (o == "off") r.intremap_off = true;
        if (o == "on") r.intremap_off = false;
      }
    } else if (is("nointremap")) {
      r.intremap_off = true;
    } else if (is("pci")) {
      for (std::string& o : SplitOptions(p.value)) {
        if (o == "realloc" || o == "realloc=on") r.pci_realloc = Switch::kOn;
        if (o == "realloc=off") r.pci_realloc = Switch::kOff;
        if (o == "assign-busses") r.pci_assign_busses = true;
        r.pci_options.push_back(std::move(o));
      }
    } else {
      continue;
    }
    r.relevant.push_back(Written(p));
  }
  return r;
}

}  // namespace sk::doctor
