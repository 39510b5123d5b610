#include "lib/netattach/delegate_conf.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/str_replace.h"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

absl::Status Bad(const std::string& what, std::string_view problem) {
  return absl::InvalidArgumentError(sk::StrCat(what, ": ", problem));
}

std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::Status CheckPlugin(const nlohmann::json& p, const std::string& what) {
  if (!p.is_object()) return Bad(what, "expected an object");
  auto it = p.find("type");
  if (it == p.end() || !it->is_string() || it->get<std::string>().empty())
    return Bad(what, "missing \"type\"");
  const std::string type = it->get<std::string>();
  if (type.find('/') != std::string::npos || type == "." || type == "..")
    return Bad(what, sk::StrCat("plugin type \"", type,
                                "\" must be a file name (no '/')"));
  return absl::OkStatus();
}

std::string Dashed(const std::string& s) {
  return absl::StrReplaceAll(s, {{"/", "-"}});
}

}  // namespace

absl::StatusOr<NetConfig> NetConfigFromJson(nlohmann::json j,
                                            const std::string& default_name,
                                            const std::string& what) {
  if (!j.is_object())
    return Bad(what, sk::StrCat("expected a JSON object, got ",
                                std::string(j.type_name())));
  NetConfig c;
  if (auto it = j.find("name"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      return Bad(what, "\"name\" must be a string, got " + it->dump());
    c.name = it->get<std::string>();
  }
  if (c.name.empty()) {
    if (default_name.empty()) return Bad(what, "missing \"name\"");
    c.name = default_name;
    j["name"] = c.name;
  }
  if (auto it = j.find("cniVersion"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      return Bad(what, "\"cniVersion\" must be a string, got " + it->dump());
    c.cni_version = it->get<std::string>();
  }
  if (auto it = j.find("plugins"); it != j.end()) {
    c.is_list = true;
    if (!it->is_array() || it->empty())
      return Bad(what, "\"plugins\" must be a non-empty list");
    for (size_t i = 0; i < it->size(); ++i) {
      SK_RETURN_IF_ERROR(
          CheckPlugin((*it)[i], sk::StrCat(what, ": plugin ", i)));
      c.plugin_types.push_back((*it)[i]["type"].get<std::string>());
    }
  } else {
    SK_RETURN_IF_ERROR(CheckPlugin(j, what));
    c.plugin_types.push_back(j["type"].get<std::string>());
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
  if (!nad.is_object()) return "";
  auto md = nad.find("metadata");
  if (md == nad.end() || !md->is_object()) return "";
  auto an = md->find("annotations");
  if (an == md->end() || !an->is_object()) return "";
  return StringField(*an, kResourceNameAnnotation);
}

absl::StatusOr<NetConfig> NetConfigFromNad(
    const nlohmann::json& nad, const std::filesystem::path& conf_dir) {
  if (!nad.is_object() || !nad.contains("metadata") ||
      !nad["metadata"].is_object())
    return absl::InvalidArgumentError(
        "NetworkAttachmentDefinition: no metadata object");
  const nlohmann::json& md = nad["metadata"];
  std::string ns = StringField(md, "namespace");
  std::string name = StringField(md, "name");
  if (name.empty())
    return absl::InvalidArgumentError(
        "NetworkAttachmentDefinition: metadata.name is missing");
  std::string what = sk::StrCat("NAD ", ns, "/", name, " spec.config");
  std::string config;
  if (auto spec = nad.find("spec"); spec != nad.end() && spec->is_object()) {
    if (auto it = spec->find("config"); it != spec->end() && !it->is_null()) {
      if (!it->is_string())
        return Bad(what,
                   "expected a string, got " + std::string(it->type_name()));
      config = it->get<std::string>();
    }
  }
  if (config.empty()) {
    absl::StatusOr<NetConfig> c = NetConfigFromDir(conf_dir, name);
    if (!c.ok())
      return absl::Status(
          c.status().code(),
          sk::StrCat("NAD ", ns, "/", name,
                     " has no spec.config: ", ToStd(c.status().message())));
    return c;
  }
  return ParseNetConfig(config, name, what);
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
