#include "lib/netattach/config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "lib/base/field_reader.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

// An optional member into `out` (left at its default when absent or null).
absl::Status ReadString(const FieldReader& j, std::string_view key,
                        std::string& out) {
  SK_ASSIGN_OR_RETURN(std::optional<std::string> v, j.OptionalString(key));
  if (v) out = *std::move(v);
  return absl::OkStatus();
}

absl::Status ReadBool(const FieldReader& j, std::string_view key, bool& out) {
  SK_ASSIGN_OR_RETURN(std::optional<bool> v, j.OptionalBool(key));
  if (v) out = *v;
  return absl::OkStatus();
}

absl::Status ReadStringList(const FieldReader& j, std::string_view key,
                            std::vector<std::string>& out) {
  if (!j.Has(key)) return absl::OkStatus();
  SK_ASSIGN_OR_RETURN(out, j.StringList(key));
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
  SK_ASSIGN_OR_RETURN(const nlohmann::json parsed, ParseShimConfigJson(text));
  return ShimConfigFromJson(parsed);
}

absl::StatusOr<nlohmann::json> ParseShimConfigJson(std::string_view text) {
  absl::StatusOr<nlohmann::json> parsed =
      ParseJsonBounded(text, {.max_bytes = kMaxShimConfigBytes});
  if (!parsed.ok())
    return absl::InvalidArgumentError(
        sk::StrCat("shim config: ", parsed.status().message()));
  return parsed;
}

absl::StatusOr<ShimConfig> ShimConfigFromJson(const nlohmann::json& json) {
  // Errors: "shim config: confDir: expected a string, got 5".
  SK_ASSIGN_OR_RETURN(const FieldReader j,
                      FieldReader(json, "shim config").AsObject());
  ShimConfig c;
  SK_RETURN_IF_ERROR(ReadString(j, "cniVersion", c.cni_version));
  SK_RETURN_IF_ERROR(ReadString(j, "name", c.name));
  SK_RETURN_IF_ERROR(ReadString(j, "type", c.type));
  SK_RETURN_IF_ERROR(ReadString(j, "kubeconfig", c.kubeconfig));
  SK_RETURN_IF_ERROR(ReadString(j, "confDir", c.conf_dir));
  SK_RETURN_IF_ERROR(ReadString(j, "cniDir", c.cni_dir));
  std::string bin_dir;
  SK_RETURN_IF_ERROR(ReadString(j, "binDir", bin_dir));
  if (!bin_dir.empty()) c.bin_dirs = SplitTrimmed(bin_dir, ':');
  SK_RETURN_IF_ERROR(ReadString(j, "clusterNetwork", c.cluster_network));
  SK_RETURN_IF_ERROR(ReadStringList(j, "defaultNetworks", c.default_networks));
  SK_ASSIGN_OR_RETURN(std::vector<FieldReader> delegates, j.List("delegates"));
  for (const FieldReader& d : delegates) {
    SK_RETURN_IF_ERROR(d.AsObject().status());
    c.delegates.push_back(d.json());
  }
  SK_RETURN_IF_ERROR(
      ReadStringList(j, "systemNamespaces", c.system_namespaces));
  SK_RETURN_IF_ERROR(ReadString(j, "multusNamespace", c.multus_namespace));
  SK_RETURN_IF_ERROR(ReadString(j, "logFile", c.log_file));
  SK_ASSIGN_OR_RETURN(
      std::optional<size_t> level,
      j.OptionalEnum("logLevel", {"", "debug", "error", "panic", "verbose"}));
  if (level) c.log_level = j.Child("logLevel").json().get<std::string>();
  SK_RETURN_IF_ERROR(ReadBool(j, "logToStderr", c.log_to_stderr));
  SK_RETURN_IF_ERROR(
      ReadString(j, "readinessindicatorfile", c.readiness_indicator_file));
  SK_RETURN_IF_ERROR(ReadBool(j, "namespaceIsolation", c.namespace_isolation));
  if (const FieldReader g = j.Child("globalNamespaces"); g.present()) {
    if (g.json().is_string()) {
      // multus-cni pkg/types/conf.go splits the string on ','.
      c.global_namespaces =
          SplitTrimmed(g.json().get_ref<const std::string&>(), ',');
    } else if (g.json().is_array()) {
      SK_ASSIGN_OR_RETURN(c.global_namespaces, g.AsStringList());
    } else {
      return g.Expected("a comma-separated string or a list of strings");
    }
  }
  SK_RETURN_IF_ERROR(ReadString(j, "socketDir", c.socket_dir));
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"confDir", &c.conf_dir},
        {"cniDir", &c.cni_dir},
        {"socketDir", &c.socket_dir}}) {
    if (value->empty()) return j.Child(key).Expected("a non-empty path");
  }
  if (c.bin_dirs.empty())
    return j.Child("binDir").Expected("a ':'-separated list of directories");
  return c;
}

absl::StatusOr<std::shared_ptr<const ParsedShimConfig>> ParsedShimConfigFrom(
    absl::StatusOr<nlohmann::json> json) {
  if (!json.ok()) return json.status();
  SK_ASSIGN_OR_RETURN(ShimConfig config, ShimConfigFromJson(*json));
  return std::make_shared<const ParsedShimConfig>(
      ParsedShimConfig{std::move(*json), std::move(config)});
}

}  // namespace sk::netattach
