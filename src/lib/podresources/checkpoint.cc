#include "lib/podresources/checkpoint.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::podresources {
namespace {

using Json = nlohmann::json;

// The deepest valid checkpoint is 5 levels (root, Data, entries, entry,
// DeviceIDs object, list); a little room beyond that.
constexpr size_t kMaxDepth = 8;

std::string TypeOf(const Json& j) { return j.type_name(); }

// An entry's string field: required (PodUID, ContainerName, ResourceName)
// or optional (AllocResp, where null is Go's nil []byte).
absl::StatusOr<std::string> StringField(const Json& entry,
                                        const std::string& where,
                                        const char* key, bool required) {
  auto it = entry.find(key);
  if (it == entry.end() || (!required && it->is_null())) {
    if (!required) return std::string();
    return absl::InvalidArgumentError(sk::StrCat(where, ".", key, ": missing"));
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        sk::StrCat(where, ".", key, ": expected a string, got ", TypeOf(*it)));
  }
  return it->get<std::string>();
}

absl::Status AppendIds(const Json& list, const std::string& where,
                       std::vector<std::string>& out) {
  if (list.is_null()) return absl::OkStatus();  // Go's nil slice
  if (!list.is_array()) {
    return absl::InvalidArgumentError(sk::StrCat(
        where, ": expected an array of device IDs, got ", TypeOf(list)));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) {
      return absl::InvalidArgumentError(sk::StrCat(
          where, "[", i, "]: expected a string, got ", TypeOf(list[i])));
    }
    out.push_back(list[i].get<std::string>());
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointEntry> ParseEntry(const Json& e,
                                           const std::string& where) {
  if (!e.is_object()) {
    return absl::InvalidArgumentError(
        sk::StrCat(where, ": expected an object, got ", TypeOf(e)));
  }
  CheckpointEntry out;
  SK_ASSIGN_OR_RETURN(out.pod_uid, StringField(e, where, "PodUID", true));
  SK_ASSIGN_OR_RETURN(out.container_name,
                      StringField(e, where, "ContainerName", true));
  SK_ASSIGN_OR_RETURN(out.resource_name,
                      StringField(e, where, "ResourceName", true));
  if (out.pod_uid.empty() || out.resource_name.empty()) {
    return absl::InvalidArgumentError(sk::StrCat(
        where, ": empty ", out.pod_uid.empty() ? "PodUID" : "ResourceName"));
  }
  const std::string ids_where = where + ".DeviceIDs";
  auto ids = e.find("DeviceIDs");
  if (ids == e.end()) {
    return absl::InvalidArgumentError(sk::StrCat(ids_where, ": missing"));
  }
  if (ids->is_object()) {
    // Kubernetes >= 1.20: NUMA node (Go int64 map key) -> IDs.
    for (const auto& [node, list] : ids->items()) {
      int64_t n;
      if (!absl::SimpleAtoi(node, &n)) {
        return absl::InvalidArgumentError(sk::StrCat(
            ids_where, ": NUMA node key \"", node, "\" is not an integer"));
      }
      SK_RETURN_IF_ERROR(AppendIds(
          list, sk::StrCat(ids_where, "[\"", node, "\"]"), out.device_ids));
    }
  } else if (ids->is_array() || ids->is_null()) {
    SK_RETURN_IF_ERROR(AppendIds(*ids, ids_where, out.device_ids));
  } else {
    return absl::InvalidArgumentError(sk::StrCat(
        ids_where, ": expected an object (NUMA node -> IDs) or an array, got ",
        TypeOf(*ids)));
  }
  SK_ASSIGN_OR_RETURN(std::string b64,
                      StringField(e, where, "AllocResp", false));
  if (!absl::Base64Unescape(b64, &out.alloc_resp)) {
    return absl::InvalidArgumentError(
        sk::StrCat(where, ".AllocResp: not valid base64"));
  }
  return out;
}

}  // namespace

std::map<std::string, std::vector<std::string>> Checkpoint::DevicesOf(
    std::string_view pod_uid) const {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& e : entries) {
    if (e.pod_uid != pod_uid) continue;
    auto& v = out[e.resource_name];
    v.insert(v.end(), e.device_ids.begin(), e.device_ids.end());
  }
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text,
                                           size_t max_bytes) {
  SK_ASSIGN_OR_RETURN(
      Json root,
      ParseJsonBounded(text, {.max_depth = kMaxDepth, .max_bytes = max_bytes}));
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        sk::StrCat("expected a JSON object, got ", TypeOf(root)));
  }
  auto data = root.find("Data");
  if (data == root.end() || !data->is_object()) {
    return absl::InvalidArgumentError(sk::StrCat(
        "Data: expected an object, got ",
        data == root.end() ? std::string("nothing") : TypeOf(*data)));
  }
  Checkpoint cp;
  auto entries = data->find("PodDeviceEntries");
  if (entries != data->end() && !entries->is_null()) {
    if (!entries->is_array()) {
      return absl::InvalidArgumentError(sk::StrCat(
          "Data.PodDeviceEntries: expected an array, got ", TypeOf(*entries)));
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      auto e = ParseEntry((*entries)[i],
                          sk::StrCat("Data.PodDeviceEntries[", i, "]"));
      if (e.ok()) {
        cp.entries.push_back(std::move(*e));
      } else {
        cp.warnings.push_back(
            sk::StrCat(e.status().message(), "; entry skipped"));
      }
    }
  }
  auto reg = data->find("RegisteredDevices");
  if (reg != data->end() && !reg->is_null()) {
    if (!reg->is_object()) {
      return absl::InvalidArgumentError(sk::StrCat(
          "Data.RegisteredDevices: expected an object, got ", TypeOf(*reg)));
    }
    for (const auto& [resource, list] : reg->items()) {
      std::vector<std::string> ids;
      absl::Status s = AppendIds(
          list, sk::StrCat("Data.RegisteredDevices[\"", resource, "\"]"), ids);
      if (s.ok()) {
        cp.registered_devices[resource] = std::move(ids);
      } else {
        cp.warnings.push_back(sk::StrCat(s.message(), "; skipped"));
      }
    }
  }
  return cp;
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::filesystem::path& path,
                                          size_t max_bytes) {
  SK_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, max_bytes));
  auto cp = ParseCheckpoint(text, max_bytes);
  if (!cp.ok()) {
    return absl::Status(
        cp.status().code(),
        sk::StrCat("kubelet checkpoint ", path, ": ", cp.status().message()));
  }
  for (auto& w : cp->warnings)
    w = sk::StrCat("kubelet checkpoint ", path, ": ", w);
  return cp;
}

}  // namespace sk::podresources
