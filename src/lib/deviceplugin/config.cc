#include "lib/deviceplugin/config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

#include "lib/base/errno_status.h"
#include "lib/base/field_reader.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/validate.h"

namespace sk::deviceplugin {
namespace {

// Go encoding/json field lookup: exact key first, then case-insensitive.
constexpr FieldReader::Options kGoKeys{.case_insensitive_keys = true};

void WarnUnknownKeys(const FieldReader& obj,
                     std::initializer_list<std::string_view> known,
                     std::vector<std::string>* warnings) {
  for (const std::string& path : obj.UnknownKeys(known)) {
    warnings->push_back(
        sk::StrCat(obj.source(), ": ", path, ": unknown key ignored"));
  }
}

// "<source>: <path>: <what>" for a warning.
std::string Note(const FieldReader& r, std::string_view what) {
  return std::string(r.Error(what).message());
}

absl::Status ReadStringList(const FieldReader& obj, std::string_view key,
                            std::vector<std::string>* out) {
  SK_ASSIGN_OR_RETURN(std::vector<std::string> v, obj.StringList(key));
  out->insert(out->end(), v.begin(), v.end());
  return absl::OkStatus();
}

absl::Status ReadBool(const FieldReader& obj, std::string_view key, bool* out) {
  SK_ASSIGN_OR_RETURN(std::optional<bool> v, obj.OptionalBool(key));
  if (v) *out = *v;
  return absl::OkStatus();
}

absl::Status ReadPfList(const FieldReader& obj, std::string_view key,
                        std::vector<PfSelector>* out) {
  std::vector<std::string> raw;
  SK_RETURN_IF_ERROR(ReadStringList(obj, key, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    auto p = PfSelector::Parse(raw[i]);
    if (!p.ok()) {
      return obj.Child(key).Index(i).Error(std::string(p.status().message()));
    }
    out->push_back(*std::move(p));
  }
  return absl::OkStatus();
}

constexpr std::string_view kSelectorKeys[] = {
    "vendors",     "devices",   "drivers",     "pciAddresses", "pfNames",
    "rootDevices", "linkTypes", "acpiIndexes", "isRdma",       "needVhostNet",
    "ddpProfiles", "pKeys",     "vdpaType",    "auxTypes"};

// The selector keys of one device type (upstream pkg/types/types.go
// NetDeviceSelectors, AuxNetDeviceSelectors, AccelDeviceSelectors), beyond
// vendors/devices/drivers which every type has.
const std::vector<std::string_view>& TypeSelectorKeys(DeviceType t) {
  static const auto* net = new std::vector<std::string_view>{
      "pciAddresses", "pfNames",      "rootDevices", "linkTypes", "acpiIndexes",
      "isRdma",       "needVhostNet", "ddpProfiles", "pKeys",     "vdpaType"};
  static const auto* aux =
      new std::vector<std::string_view>{"pfNames", "rootDevices",  "linkTypes",
                                        "isRdma",  "needVhostNet", "auxTypes"};
  static const auto* accel = new std::vector<std::string_view>{"pciAddresses"};
  switch (t) {
    case DeviceType::kNetDevice:
      return *net;
    case DeviceType::kAuxNetDevice:
      return *aux;
    case DeviceType::kAccelerator:
      break;
  }
  return *accel;
}

// The keys added for upstream parity (device_types.h), read in one place.
absl::Status ReadTypeSelectors(const FieldReader& obj, DeviceType type,
                               Selector* s) {
  if (type == DeviceType::kNetDevice) {
    SK_RETURN_IF_ERROR(ReadStringList(obj, "ddpProfiles", &s->ddp_profiles));
    SK_RETURN_IF_ERROR(ReadStringList(obj, "pKeys", &s->pkeys));
    const FieldReader v = obj.Child("vdpaType");
    SK_ASSIGN_OR_RETURN(std::optional<std::string> t,
                        obj.OptionalString("vdpaType"));
    // "" is unset, as Go's zero value (operators write it).
    if (t && !t->empty()) {
      if (*t != "vhost" && *t != "virtio") {
        return v.Expected("vhost or virtio");
      }
      if (s->is_rdma) {
        return v.Error(
            "vdpaType and isRdma cannot be set in the same selector");
      }
      s->vdpa_type = *std::move(t);
    }
  }
  if (type == DeviceType::kAuxNetDevice) {
    SK_RETURN_IF_ERROR(ReadStringList(obj, "auxTypes", &s->aux_types));
    const FieldReader aux = obj.Child("auxTypes");
    if (s->aux_types.empty()) {
      return aux.Error(
          "missing or empty: an auxNetDevice selector needs auxTypes "
          "([\"sf\"])");
    }
    for (size_t i = 0; i < s->aux_types.size(); ++i) {
      if (s->aux_types[i] != "sf") {
        return aux.Index(i).Expected("\"sf\" (scalable functions)");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Selector> ParseSelector(const FieldReader& obj, DeviceType type,
                                       std::vector<std::string>* warnings) {
  if (!obj.json().is_object()) return obj.Expected("a selector object");
  WarnUnknownKeys(
      obj,
      {"vendors", "devices", "drivers", "pciAddresses", "pfNames",
       "rootDevices", "linkTypes", "acpiIndexes", "isRdma", "needVhostNet",
       "ddpProfiles", "pKeys", "vdpaType", "auxTypes"},
      warnings);
  Selector s;
  SK_RETURN_IF_ERROR(ReadStringList(obj, "vendors", &s.vendors));
  SK_RETURN_IF_ERROR(ReadStringList(obj, "devices", &s.devices));
  SK_RETURN_IF_ERROR(ReadStringList(obj, "drivers", &s.drivers));
  const std::vector<std::string_view>& own = TypeSelectorKeys(type);
  auto has = [&](std::string_view k) {
    return std::find(own.begin(), own.end(), k) != own.end();
  };
  for (std::string_view k : kSelectorKeys) {
    if (k == "vendors" || k == "devices" || k == "drivers" || has(k)) continue;
    if (obj.Child(k).exists()) {
      warnings->push_back(Note(
          obj.Child(k), sk::StrCat("ignored: not a selector of deviceType ",
                                   DeviceTypeName(type))));
    }
  }
  if (has("pciAddresses")) {
    SK_RETURN_IF_ERROR(ReadStringList(obj, "pciAddresses", &s.pci_addresses));
  }
  if (has("pfNames")) {
    SK_RETURN_IF_ERROR(ReadPfList(obj, "pfNames", &s.pf_names));
    SK_RETURN_IF_ERROR(ReadPfList(obj, "rootDevices", &s.root_devices));
    SK_RETURN_IF_ERROR(ReadStringList(obj, "linkTypes", &s.link_types));
    SK_RETURN_IF_ERROR(ReadBool(obj, "isRdma", &s.is_rdma));
    SK_RETURN_IF_ERROR(ReadBool(obj, "needVhostNet", &s.need_vhost_net));
    if (s.link_types.size() > 1) {
      warnings->push_back(Note(obj.Child("linkTypes"),
                               "more than one link type; a device "
                               "matches any of them"));
    }
  }
  if (has("acpiIndexes")) {
    SK_RETURN_IF_ERROR(ReadStringList(obj, "acpiIndexes", &s.acpi_indexes));
  }
  SK_RETURN_IF_ERROR(ReadTypeSelectors(obj, type, &s));
  return s;
}

absl::StatusOr<ResourceConfig> ParseResource(
    const FieldReader& obj, std::string_view default_prefix,
    std::vector<std::string>* warnings) {
  if (!obj.json().is_object()) return obj.Expected("a resource object");
  WarnUnknownKeys(
      obj,
      {"resourceName", "resourcePrefix", "deviceType", "excludeTopology",
       "selectors", "additionalInfo", "selectorObj", "selectorObjs",
       "allocationPolicy", "pfCarrierHealth"},
      warnings);
  ResourceConfig r;
  SK_ASSIGN_OR_RETURN(r.resource_name, obj.String("resourceName"));
  // Prefix and name become kubelet's resource name and the socket's file
  // name: Kubernetes' rules (validate.h) also keep "../" out of the path.
  if (absl::Status st = CheckQualifiedNamePart(r.resource_name); !st.ok()) {
    return obj.Child("resourceName").Error(std::string(st.message()));
  }
  r.resource_prefix = std::string(default_prefix);
  bool default_used = true;
  SK_ASSIGN_OR_RETURN(std::optional<std::string> prefix,
                      obj.OptionalString("resourcePrefix"));
  if (prefix && !prefix->empty()) {
    r.resource_prefix = *prefix;
    default_used = false;
  }
  if (absl::Status st = CheckDnsSubdomain(r.resource_prefix); !st.ok()) {
    return obj.Child("resourcePrefix")
        .Error(sk::StrCat(default_used ? "--resource-prefix " : "",
                          std::string(st.message())));
  }
  if (absl::Status st =
          CheckExtendedResourceName(r.resource_prefix, r.resource_name);
      !st.ok()) {
    return obj.Error(std::string(st.message()));
  }
  SK_ASSIGN_OR_RETURN(std::optional<std::string> type,
                      obj.OptionalString("deviceType"));
  if (type) {
    if (*type == "netDevice") {
      r.device_type = DeviceType::kNetDevice;
    } else if (*type == "accelerator") {
      r.device_type = DeviceType::kAccelerator;
    } else if (*type == "auxNetDevice") {
      r.device_type = DeviceType::kAuxNetDevice;
    } else {
      return obj.Child("deviceType")
          .Expected("netDevice, accelerator or auxNetDevice");
    }
  }
  SK_RETURN_IF_ERROR(ReadBool(obj, "excludeTopology", &r.exclude_topology));
  SK_RETURN_IF_ERROR(ReadBool(obj, "pfCarrierHealth", &r.pf_carrier_health));
  SK_ASSIGN_OR_RETURN(
      std::optional<size_t> policy,
      obj.OptionalEnum("allocationPolicy", {"numa", "packPF", "spreadPF"}));
  if (policy) {
    constexpr AllocationPolicy kPolicies[] = {AllocationPolicy::kNuma,
                                              AllocationPolicy::kPackPf,
                                              AllocationPolicy::kSpreadPf};
    r.allocation_policy = kPolicies[*policy];
  }

  const FieldReader sel = obj.Child("selectors");
  if (!sel.present()) return sel.Expected("an object or a list of objects");
  if (sel.json().is_object()) {
    SK_ASSIGN_OR_RETURN(Selector s,
                        ParseSelector(sel, r.device_type, warnings));
    r.selectors.push_back(std::move(s));
  } else if (sel.json().is_array()) {
    if (sel.json().empty()) return sel.Error("empty list");
    SK_ASSIGN_OR_RETURN(std::vector<FieldReader> items, sel.AsList());
    for (const FieldReader& item : items) {
      SK_ASSIGN_OR_RETURN(Selector s,
                          ParseSelector(item, r.device_type, warnings));
      r.selectors.push_back(std::move(s));
    }
  } else {
    return sel.Expected("an object or a list of objects");
  }

  SK_ASSIGN_OR_RETURN(FieldReader ai, obj.Object("additionalInfo"));
  if (ai.present()) {
    SK_ASSIGN_OR_RETURN(auto entries, ai.AsEntries());
    for (const auto& [key, inner] : entries) {
      if (!inner.json().is_object()) {
        return inner.Expected("an object of strings");
      }
      SK_ASSIGN_OR_RETURN(auto kvs, inner.AsEntries());
      auto& m = r.additional_info[key];
      for (const auto& [k, v] : kvs) {
        SK_ASSIGN_OR_RETURN(m[k], v.AsString());
      }
    }
  }
  return r;
}

}  // namespace

const char* DeviceTypeName(DeviceType t) {
  switch (t) {
    case DeviceType::kNetDevice:
      return "netDevice";
    case DeviceType::kAccelerator:
      return "accelerator";
    case DeviceType::kAuxNetDevice:
      return "auxNetDevice";
  }
  return "unknown";
}

const char* AllocationPolicyName(AllocationPolicy p) {
  switch (p) {
    case AllocationPolicy::kNuma:
      return "numa";
    case AllocationPolicy::kPackPf:
      return "packPF";
    case AllocationPolicy::kSpreadPf:
      return "spreadPF";
  }
  return "unknown";
}

absl::StatusOr<PfSelector> PfSelector::Parse(std::string_view text) {
  PfSelector s;
  size_t hash = text.find('#');
  s.pf = std::string(text.substr(0, hash));
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid value \"", text, "\": ", why));
  };
  if (s.pf.empty()) return bad("empty PF name or address");
  if (hash == std::string_view::npos) return s;
  std::string_view rest = text.substr(hash + 1);
  if (rest.empty()) return bad("empty VF range after '#'");
  for (absl::string_view item : absl::StrSplit(ToAbsl(rest), ',')) {
    std::vector<absl::string_view> ab = absl::StrSplit(item, '-');
    int lo = 0;
    int hi = 0;
    if (ab.size() == 1) {
      if (ab[0].empty() || !absl::SimpleAtoi(ab[0], &lo) || lo < 0 ||
          ab[0].find_first_not_of("0123456789") != absl::string_view::npos) {
        return bad(sk::StrCat("bad VF index \"", ToStd(item), "\""));
      }
      hi = lo;
    } else if (ab.size() == 2) {
      bool ok =
          !ab[0].empty() && !ab[1].empty() &&
          ab[0].find_first_not_of("0123456789") == absl::string_view::npos &&
          ab[1].find_first_not_of("0123456789") == absl::string_view::npos &&
          absl::SimpleAtoi(ab[0], &lo) && absl::SimpleAtoi(ab[1], &hi);
      if (!ok) return bad(sk::StrCat("bad VF range \"", ToStd(item), "\""));
      if (lo > hi) {
        return bad(sk::StrCat("VF range \"", ToStd(item), "\" is reversed"));
      }
    } else {
      return bad(sk::StrCat("bad VF range \"", ToStd(item), "\""));
    }
    s.ranges.emplace_back(lo, hi);
  }
  return s;
}

bool PfSelector::Contains(int vf_index) const {
  if (ranges.empty()) return true;
  return std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) {
    return vf_index >= r.first && vf_index <= r.second;
  });
}

// A ConfigMap holds at most 1 MiB; 4 MiB leaves room for a hand-made file.
constexpr size_t kMaxConfigBytes = size_t{4} << 20;

absl::StatusOr<Config> ParseConfig(std::string_view text,
                                   std::string_view source,
                                   std::string_view default_prefix) {
  absl::StatusOr<nlohmann::json> parsed =
      ParseJsonBounded(text, {.max_bytes = kMaxConfigBytes});
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": ", parsed.status().message()));
  }
  const FieldReader root(*parsed, std::string(source), kGoKeys);
  if (!root.json().is_object()) return root.Expected("a JSON object");
  Config cfg;
  WarnUnknownKeys(root, {"resourceList"}, &cfg.warnings);
  const FieldReader list = root.Child("resourceList");
  if (!list.present()) return cfg;
  if (!list.json().is_array()) return list.Expected("an array");
  std::set<std::string> seen;
  SK_ASSIGN_OR_RETURN(std::vector<FieldReader> items, list.AsList());
  for (const FieldReader& item : items) {
    auto r = ParseResource(item, default_prefix, &cfg.warnings);
    if (!r.ok()) {
      cfg.pool_errors.push_back(r.status());
      continue;
    }
    std::string full = r->FullName();
    if (!seen.insert(full).second) {
      cfg.pool_errors.push_back(
          item.Child("resourceName")
              .Error(sk::StrCat("duplicate resource \"", full,
                                "\"; entry dropped")));
      continue;
    }
    cfg.resources.push_back(*std::move(r));
  }
  return cfg;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path,
                                      std::string_view default_prefix) {
  SK_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfigBytes));
  return ParseConfig(text, path, default_prefix);
}

}  // namespace sk::deviceplugin
