#include "lib/netattach/delegate_conf.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/str_replace.h"

#include "lib/base/field_reader.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

absl::Status Bad(const std::string& what, std::string_view problem) {
  return absl::InvalidArgumentError(sk::StrCat(what, ": ", problem));
}

// A plugin's "type": the file name of the plugin binary.
absl::StatusOr<std::string> PluginType(const FieldReader& p) {
  SK_ASSIGN_OR_RETURN(const FieldReader plugin, p.AsObject());
  SK_ASSIGN_OR_RETURN(std::string type, plugin.String("type"));
  if (type.empty() || type.find('/') != std::string::npos || type == "." ||
      type == "..")
    return plugin.Child("type").Expected("a plugin file name (no '/')");
  return type;
}

std::string Dashed(const std::string& s) {
  return absl::StrReplaceAll(s, {{"/", "-"}});
}

}  // namespace

absl::StatusOr<NetConfig> NetConfigFromJson(nlohmann::json j,
                                            const std::string& default_name,
                                            const std::string& what) {
  NetConfig c;
  {
    // Errors: "<what>: plugins[1].type: expected a string, got nothing".
    SK_ASSIGN_OR_RETURN(const FieldReader conf,
                        FieldReader(j, what).AsObject());
    SK_ASSIGN_OR_RETURN(std::optional<std::string> name,
                        conf.OptionalString("name"));
    c.name = name.value_or("");
    if (c.name.empty() && default_name.empty())
      return conf.Child("name").Expected("a network name");
    SK_ASSIGN_OR_RETURN(std::optional<std::string> version,
                        conf.OptionalString("cniVersion"));
    c.cni_version = version.value_or("");
    // A conflist is an object with "plugins" (even a null one, refused).
    if (const FieldReader plugins = conf.Child("plugins"); plugins.exists()) {
      c.is_list = true;
      if (!plugins.json().is_array() || plugins.json().empty())
        return plugins.Expected("a non-empty list of plugins");
      SK_ASSIGN_OR_RETURN(std::vector<FieldReader> list, plugins.AsList());
      for (const FieldReader& p : list) {
        SK_ASSIGN_OR_RETURN(std::string type, PluginType(p));
        c.plugin_types.push_back(std::move(type));
      }
    } else {
      SK_ASSIGN_OR_RETURN(std::string type, PluginType(conf));
      c.plugin_types.push_back(std::move(type));
    }
  }
  // `j` is changed only after the readers over it are gone.
  if (c.name.empty()) {
    c.name = default_name;
    j["name"] = c.name;
  }
  c.json = std::move(j);
  return c;
}

absl::StatusOr<NetConfig> ParseNetConfig(std::string_view text,
                                         const std::string& default_name,
                                         const std::string& what) {
  absl::StatusOr<nlohmann::json> j =
      ParseJsonBounded(text, {.max_bytes = kMaxDelegateConfBytes});
  if (!j.ok()) return Bad(what, ToStd(j.status().message()));
  return NetConfigFromJson(std::move(*j), default_name, what);
}

absl::StatusOr<NetConfig> NetConfigFromFile(const std::filesystem::path& path) {
  SK_ASSIGN_OR_RETURN(std::string text,
                      ReadFileBounded(path, kMaxDelegateConfBytes));
  return ParseNetConfig(text, "", path.string());
}

absl::StatusOr<NetConfig> NetConfigFromDir(
    const std::filesystem::path& conf_dir, const std::string& name) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(conf_dir, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::filesystem::path& p = it->path();
    std::string ext = p.extension().string();
    if ((ext == ".conf" || ext == ".json" || ext == ".conflist") &&
        it->is_regular_file(ec))
      files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    absl::StatusOr<NetConfig> c = NetConfigFromFile(f);
    if (c.ok() && (name.empty() || c->name == name)) return c;
  }
  return absl::NotFoundError(
      sk::StrCat("no network named \"", name, "\" in ", conf_dir));
}

std::string NadResourceName(const nlohmann::json& nad) {
  const FieldReader v = FieldReader(nad, "NetworkAttachmentDefinition")
                            .Child("metadata")
                            .Child("annotations")
                            .Child(kResourceNameAnnotation);
  return v.json().is_string() ? v.json().get<std::string>() : "";
}

absl::StatusOr<NetConfig> NetConfigFromNad(
    const nlohmann::json& nad, const std::filesystem::path& conf_dir) {
  const FieldReader root(nad, "NetworkAttachmentDefinition");
  SK_ASSIGN_OR_RETURN(const FieldReader md, root.Child("metadata").AsObject());
  SK_ASSIGN_OR_RETURN(std::optional<std::string> ns_field,
                      md.OptionalString("namespace"));
  SK_ASSIGN_OR_RETURN(std::optional<std::string> name_field,
                      md.OptionalString("name"));
  const std::string ns = ns_field.value_or("");
  const std::string name = name_field.value_or("");
  if (name.empty()) return md.Child("name").Expected("a name");
  const std::string nad_name = sk::StrCat("NAD ", ns, "/", name);
  // Errors: "NAD ns/n: spec.config: expected a string, got 5".
  const FieldReader obj(nad, nad_name);
  SK_ASSIGN_OR_RETURN(const FieldReader spec, obj.Object("spec"));
  SK_ASSIGN_OR_RETURN(std::optional<std::string> config_field,
                      spec.OptionalString("config"));
  const std::string config = config_field.value_or("");
  if (config.empty()) {
    absl::StatusOr<NetConfig> c = NetConfigFromDir(conf_dir, name);
    if (!c.ok())
      return absl::Status(c.status().code(),
                          sk::StrCat(nad_name, " has no spec.config: ",
                                     ToStd(c.status().message())));
    return c;
  }
  return ParseNetConfig(config, name, sk::StrCat(nad_name, " spec.config"));
}

DeviceAllocator::DeviceAllocator(
    std::map<std::string, std::vector<std::string>> devices)
    : devices_(std::move(devices)) {
  for (auto& [resource, ids] : devices_) std::sort(ids.begin(), ids.end());
}

absl::StatusOr<std::string> DeviceAllocator::Next(const std::string& resource,
                                                  const std::string& pod,
                                                  const std::string& network) {
  auto it = devices_.find(resource);
  size_t& idx = next_[resource];
  size_t have = it == devices_.end() ? 0 : it->second.size();
  if (idx >= have)
    return absl::FailedPreconditionError(sk::StrCat(
        "pod ", pod, ": network ", network, ": no device of resource ",
        resource, " left (", have, " assigned to the pod, ", idx,
        " already taken); does the pod request the resource?"));
  return it->second[idx++];
}

void InjectDeviceId(NetConfig& conf, const std::string& device_id) {
  auto set = [&](nlohmann::json& p) {
    p["deviceID"] = device_id;
    p["pciBusID"] = device_id;
  };
  if (conf.is_list) {
    for (auto& p : conf.json["plugins"]) set(p);
  } else {
    set(conf.json);
  }
}

void MergeCniArgs(NetConfig& conf, const nlohmann::json& cni_args) {
  auto merge = [&](nlohmann::json& p) {
    nlohmann::json& args = p["args"];
    if (!args.is_object()) args = nlohmann::json::object();
    nlohmann::json& cni = args["cni"];
    if (!cni.is_object()) cni = nlohmann::json::object();
    for (const auto& [k, v] : cni_args.items()) cni[k] = v;
  };
  if (conf.is_list) {
    for (auto& p : conf.json["plugins"]) merge(p);
  } else {
    merge(conf.json);
  }
}

std::filesystem::path DpDevinfoPath(const std::filesystem::path& root,
                                    const std::string& resource,
                                    const std::string& device_id) {
  return root / "dp" /
         sk::StrCat(Dashed(resource), "-", Dashed(device_id), "-device.json");
}

std::filesystem::path CniDevinfoPath(const std::filesystem::path& root,
                                     const std::string& ns,
                                     const std::string& nad,
                                     const std::string& container_id,
                                     const std::string& ifname) {
  return root / "cni" /
         sk::StrCat(Dashed(ns), "-", Dashed(nad), "-", Dashed(container_id),
                    "_", Dashed(ifname));
}

absl::Status CopyDevinfo(const std::filesystem::path& dp_path,
                         const std::filesystem::path& cni_path) {
  SK_ASSIGN_OR_RETURN(std::string text,
                      ReadFileBounded(dp_path, kMaxDevinfoBytes));
  absl::StatusOr<nlohmann::json> j =
      ParseJsonBounded(text, {.max_depth = 16, .max_bytes = kMaxDevinfoBytes});
  if (!j.ok() || !j->is_object())
    return absl::InvalidArgumentError(
        sk::StrCat(dp_path, ": not a device-info JSON object"));
  SK_RETURN_IF_ERROR(MakeDirs(cni_path.parent_path()));
  return WriteFileAtomic(cni_path, text, 0444, /*sync_dir=*/false,
                         /*sync_file=*/false);  // under /run: tmpfs
}

std::optional<nlohmann::json> ReadDevinfo(const std::filesystem::path& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxDevinfoBytes);
  if (!text.ok()) return std::nullopt;
  absl::StatusOr<nlohmann::json> j =
      ParseJsonBounded(*text, {.max_depth = 16, .max_bytes = kMaxDevinfoBytes});
  if (!j.ok() || !j->is_object()) return std::nullopt;
  return *j;
}

}  // namespace sk::netattach
