#include "lib/cni/version.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

#include "lib/base/strings.h"

namespace sk::cni {

const std::vector<std::string>& SupportedVersions() {
  static const auto* v =
      new std::vector<std::string>{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return *v;
}

bool IsSupportedVersion(std::string_view v) {
  for (const auto& s : SupportedVersions())
    if (s == v) return true;
  return false;
}

int CompareVersions(std::string_view a, std::string_view b) {
  std::vector<absl::string_view> pa = absl::StrSplit(ToAbsl(a), '.');
  std::vector<absl::string_view> pb = absl::StrSplit(ToAbsl(b), '.');
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    int x = 0, y = 0;
    if (i < pa.size() && !absl::SimpleAtoi(pa[i], &x)) x = 0;
    if (i < pb.size() && !absl::SimpleAtoi(pb[i], &y)) y = 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string VersionJson(std::string_view requested) {
  nlohmann::ordered_json j;
  j["cniVersion"] =
      requested.empty() ? SupportedVersions().back() : std::string(requested);
  j["supportedVersions"] = SupportedVersions();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace sk::cni
