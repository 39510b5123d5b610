#include "lib/nodeconfig/yaml_json.h"

#include <algorithm>
#include <charconv>
#include <regex>
#include <string>
#include <system_error>

#include "yaml-cpp/yaml.h"

#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"

namespace sk::nodeconfig {
namespace {

using Json = nlohmann::ordered_json;

Json Scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("^[-+]?[0-9]+$");
  if (std::regex_match(s, kInt)) {
    int64_t v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return s;
  }
  static const std::regex kFloat(
      "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  if (std::regex_match(s, kFloat)) return std::stod(s);
  return s;
}

// Depth is bounded by the loader (64), so recursion is safe.
Json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json j = Json::object();
      for (const auto& kv : n) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        j[key] = ToJson(kv.second);
      }
      return j;
    }
    case YAML::NodeType::Sequence: {
      Json j = Json::array();
      for (const auto& v : n) j.push_back(ToJson(v));
      return j;
    }
    case YAML::NodeType::Scalar:
      return Scalar(n);
    default:
      return nullptr;
  }
}

}  // namespace

absl::StatusOr<std::vector<Json>> LoadJsonDocuments(std::string_view text,
                                                    std::string_view source) {
  absl::StatusOr<std::vector<YAML::Node>> docs =
      kubevirt::LoadYamlDocuments(text);
  if (!docs.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": ", docs.status().message()));
  }
  std::vector<Json> out;
  try {
    for (const YAML::Node& d : *docs) out.push_back(ToJson(d));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(sk::StrCat(source, ": ", e.what()));
  }
  return out;
}

absl::StatusOr<std::vector<std::filesystem::path>> InputFiles(
    const std::filesystem::path& path) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(path, ec)) return std::vector{path};
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    std::string ext = e.path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") {
      files.push_back(e.path());
    }
  }
  if (ec) {
    return absl::InvalidArgumentError(
        sk::StrCat(path.string(), ": cannot list: ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace sk::nodeconfig
