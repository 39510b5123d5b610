#include "lib/netattach/config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

absl::Status TypeError(const char* key, const char* want,
                       const nlohmann::json& v) {
  return absl::InvalidArgumentError(sk::StrCat(
      "shim config: key \"", key, "\": expected ", want, ", got ", v.dump()));
}

absl::Status GetString(const nlohmann::json& j, const char* key,
                       std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return TypeError(key, "a string", *it);
  out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetBool(const nlohmann::json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return TypeError(key, "a boolean", *it);
  out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status GetStringList(const nlohmann::json& j, const char* key,
                           std::vector<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array()) return TypeError(key, "a list of strings", *it);
  std::vector<std::string> v;
  for (const auto& e : *it) {
    if (!e.is_string()) return TypeError(key, "a list of strings", *it);
    v.push_back(e.get<std::string>());
  }
  out = std::move(v);
  return absl::OkStatus();
}

std::vector<std::string> SplitTrimmed(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(ToAbsl(s), sep)) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

}  // namespace

absl::StatusOr<ShimConfig> ParseShimConfig(std::string_view text) {
  absl::StatusOr<nlohmann::json> parsed =
      ParseJsonBounded(text, {.max_bytes = kMaxShimConfigBytes});
  if (!parsed.ok())
    return absl::InvalidArgumentError(
        sk::StrCat("shim config: ", parsed.status().message()));
  const nlohmann::json& j = *parsed;
  if (!j.is_object())
    return absl::InvalidArgumentError(
        "shim config: expected a JSON object, got " +
        std::string(j.type_name()));
  ShimConfig c;
  SK_RETURN_IF_ERROR(GetString(j, "cniVersion", c.cni_version));
  SK_RETURN_IF_ERROR(GetString(j, "name", c.name));
  SK_RETURN_IF_ERROR(GetString(j, "type", c.type));
  SK_RETURN_IF_ERROR(GetString(j, "kubeconfig", c.kubeconfig));
  SK_RETURN_IF_ERROR(GetString(j, "confDir", c.conf_dir));
  SK_RETURN_IF_ERROR(GetString(j, "cniDir", c.cni_dir));
  std::string bin_dir;
  SK_RETURN_IF_ERROR(GetString(j, "binDir", bin_dir));
  if (!bin_dir.empty()) c.bin_dirs = SplitTrimmed(bin_dir, ':');
  SK_RETURN_IF_ERROR(GetString(j, "clusterNetwork", c.cluster_network));
  SK_RETURN_IF_ERROR(GetStringList(j, "defaultNetworks", c.default_networks));
  if (auto it = j.find("delegates"); it != j.end() && !it->is_null()) {
    if (!it->is_array())
      return TypeError("delegates", "a list of objects", *it);
    for (const auto& d : *it) {
      if (!d.is_object())
        return TypeError("delegates", "a list of objects", *it);
      c.delegates.push_back(d);
    }
  }
  SK_RETURN_IF_ERROR(GetStringList(j, "systemNamespaces", c.system_namespaces));
  SK_RETURN_IF_ERROR(GetString(j, "multusNamespace", c.multus_namespace));
  SK_RETURN_IF_ERROR(GetString(j, "logFile", c.log_file));
  SK_RETURN_IF_ERROR(GetString(j, "logLevel", c.log_level));
  if (!c.log_level.empty() && c.log_level != "debug" &&
      c.log_level != "error" && c.log_level != "panic" &&
      c.log_level != "verbose")
    return absl::InvalidArgumentError(
        sk::StrCat("shim config: key \"logLevel\": \"", c.log_level,
                   "\" is not one of debug, error, panic, verbose"));
  SK_RETURN_IF_ERROR(GetBool(j, "logToStderr", c.log_to_stderr));
  SK_RETURN_IF_ERROR(
      GetString(j, "readinessindicatorfile", c.readiness_indicator_file));
  SK_RETURN_IF_ERROR(GetBool(j, "namespaceIsolation", c.namespace_isolation));
  if (auto it = j.find("globalNamespaces"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      // multus-cni pkg/types/conf.go splits the string on ','.
      c.global_namespaces = SplitTrimmed(it->get<std::string>(), ',');
    } else {
      SK_RETURN_IF_ERROR(
          GetStringList(j, "globalNamespaces", c.global_namespaces));
    }
  }
  SK_RETURN_IF_ERROR(GetString(j, "socketDir", c.socket_dir));
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"confDir", &c.conf_dir},
        {"cniDir", &c.cni_dir},
        {"socketDir", &c.socket_dir}}) {
    if (value->empty())
      return absl::InvalidArgumentError(
          sk::StrCat("shim config: key \"", key, "\": must not be empty"));
  }
  if (c.bin_dirs.empty())
    return absl::InvalidArgumentError(
        "shim config: key \"binDir\": no directory in \"" + bin_dir + "\"");
  return c;
}

}  // namespace sk::netattach
