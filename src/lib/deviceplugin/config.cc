#include "lib/deviceplugin/config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include <nlohmann/json.hpp>

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/validate.h"

namespace sk::deviceplugin {
namespace {

using nlohmann::json;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(ToAbsl(a), ToAbsl(b));
}

// Go encoding/json field lookup: exact key first, then case-insensitive.
const json* FindKey(const json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  if (it != obj.end()) return &*it;
  for (auto i = obj.begin(); i != obj.end(); ++i) {
    if (EqualsIgnoreCase(i.key(), key)) return &*i;
  }
  return nullptr;
}

std::string Short(const json& v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Error/warning context: "<file>: <json path>".
class Ctx {
 public:
  Ctx(std::string_view source, std::string path)
      : source_(source), path_(std::move(path)) {}
  Ctx Key(std::string_view k) const {
    return Ctx(source_, sk::StrCat(path_, ".", k));
  }
  Ctx Index(size_t i) const {
    return Ctx(source_, sk::StrCat(path_, "[", i, "]"));
  }
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        sk::StrCat(source_, ": ", path_, ": ", what));
  }
  absl::Status TypeError(std::string_view expected, const json& got) const {
    return Error(sk::StrCat("expected ", expected, ", got ", Short(got)));
  }
  std::string Text(std::string_view what) const {
    return sk::StrCat(source_, ": ", path_, ": ", what);
  }

 private:
  std::string_view source_;
  std::string path_;
};

void WarnUnknownKeys(const json& obj, const std::vector<std::string>& known,
                     const Ctx& ctx, std::vector<std::string>* warnings) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = std::any_of(known.begin(), known.end(), [&](const auto& k) {
      return EqualsIgnoreCase(k, it.key());
    });
    if (!found) {
      warnings->push_back(ctx.Key(it.key()).Text("unknown key ignored"));
    }
  }
}

absl::Status ReadStringList(const json& obj, std::string_view key,
                            const Ctx& ctx, std::vector<std::string>* out) {
  const json* v = FindKey(obj, key);
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  Ctx kctx = ctx.Key(key);
  if (!v->is_array()) return kctx.TypeError("an array of strings", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (!e.is_string()) return kctx.Index(i).TypeError("a string", e);
    out->push_back(e.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ReadBool(const json& obj, std::string_view key, const Ctx& ctx,
                      bool* out) {
  const json* v = FindKey(obj, key);
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  if (!v->is_boolean()) return ctx.Key(key).TypeError("true or false", *v);
  *out = v->get<bool>();
  return absl::OkStatus();
}

absl::Status ReadPfList(const json& obj, std::string_view key, const Ctx& ctx,
                        std::vector<PfSelector>* out) {
  std::vector<std::string> raw;
  SK_RETURN_IF_ERROR(ReadStringList(obj, key, ctx, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    auto p = PfSelector::Parse(raw[i]);
    if (!p.ok()) {
      return ctx.Key(key).Index(i).Error(std::string(p.status().message()));
    }
    out->push_back(*std::move(p));
  }
  return absl::OkStatus();
}

const std::vector<std::string>& KnownSelectorKeys() {
  static const auto* k = new std::vector<std::string>{
      "vendors",     "devices",   "drivers",     "pciAddresses", "pfNames",
      "rootDevices", "linkTypes", "acpiIndexes", "isRdma",       "needVhostNet",
      "ddpProfiles", "pKeys",     "vdpaType",    "auxTypes"};
  return *k;
}

// The selector keys of one device type (upstream pkg/types/types.go
// NetDeviceSelectors, AuxNetDeviceSelectors, AccelDeviceSelectors), beyond
// vendors/devices/drivers which every type has.
const std::vector<std::string>& TypeSelectorKeys(DeviceType t) {
  static const auto* net = new std::vector<std::string>{
      "pciAddresses", "pfNames",      "rootDevices", "linkTypes", "acpiIndexes",
      "isRdma",       "needVhostNet", "ddpProfiles", "pKeys",     "vdpaType"};
  static const auto* aux =
      new std::vector<std::string>{"pfNames", "rootDevices",  "linkTypes",
                                   "isRdma",  "needVhostNet", "auxTypes"};
  static const auto* accel = new std::vector<std::string>{"pciAddresses"};
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
absl::Status ReadTypeSelectors(const json& obj, DeviceType type, const Ctx& ctx,
                               Selector* s) {
  if (type == DeviceType::kNetDevice) {
    SK_RETURN_IF_ERROR(
        ReadStringList(obj, "ddpProfiles", ctx, &s->ddp_profiles));
    SK_RETURN_IF_ERROR(ReadStringList(obj, "pKeys", ctx, &s->pkeys));
    if (const json* v = FindKey(obj, "vdpaType");
        v != nullptr && !v->is_null()) {
      Ctx vctx = ctx.Key("vdpaType");
      if (!v->is_string()) return vctx.TypeError("a string", *v);
      std::string t = v->get<std::string>();
      // "" is unset, as Go's zero value (operators write it).
      if (!t.empty() && t != "vhost" && t != "virtio") {
        return vctx.Error(sk::StrCat("unknown value ", Short(*v),
                                     ": expected vhost or virtio"));
      }
      if (s->is_rdma && !t.empty()) {
        return vctx.Error(
            "vdpaType and isRdma cannot be set in the same selector");
      }
      s->vdpa_type = std::move(t);
    }
  }
  if (type == DeviceType::kAuxNetDevice) {
    SK_RETURN_IF_ERROR(ReadStringList(obj, "auxTypes", ctx, &s->aux_types));
    if (s->aux_types.empty()) {
      return ctx.Key("auxTypes")
          .Error(
              "missing or empty: an auxNetDevice selector needs auxTypes "
              "([\"sf\"])");
    }
    for (size_t i = 0; i < s->aux_types.size(); ++i) {
      if (s->aux_types[i] != "sf") {
        return ctx.Key("auxTypes")
            .Index(i)
            .Error(sk::StrCat("unsupported value \"", s->aux_types[i],
                              "\": only \"sf\" (scalable functions)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Selector> ParseSelector(const json& obj, DeviceType type,
                                       const Ctx& ctx,
                                       std::vector<std::string>* warnings) {
  if (!obj.is_object()) return ctx.TypeError("a selector object", obj);
  WarnUnknownKeys(obj, KnownSelectorKeys(), ctx, warnings);
  Selector s;
  SK_RETURN_IF_ERROR(ReadStringList(obj, "vendors", ctx, &s.vendors));
  SK_RETURN_IF_ERROR(ReadStringList(obj, "devices", ctx, &s.devices));
  SK_RETURN_IF_ERROR(ReadStringList(obj, "drivers", ctx, &s.drivers));
  const std::vector<std::string>& own = TypeSelectorKeys(type);
  auto has = [&](std::string_view k) {
    return std::find(own.begin(), own.end(), k) != own.end();
  };
  for (const std::string& k : KnownSelectorKeys()) {
    if (k == "vendors" || k == "devices" || k == "drivers" || has(k)) continue;
    if (FindKey(obj, k) != nullptr) {
      warnings->push_back(ctx.Key(k).Text(sk::StrCat(
          "ignored: not a selector of deviceType ", DeviceTypeName(type))));
    }
  }
  if (has("pciAddresses")) {
    SK_RETURN_IF_ERROR(
        ReadStringList(obj, "pciAddresses", ctx, &s.pci_addresses));
  }
  if (has("pfNames")) {
    SK_RETURN_IF_ERROR(ReadPfList(obj, "pfNames", ctx, &s.pf_names));
    SK_RETURN_IF_ERROR(ReadPfList(obj, "rootDevices", ctx, &s.root_devices));
    SK_RETURN_IF_ERROR(ReadStringList(obj, "linkTypes", ctx, &s.link_types));
    SK_RETURN_IF_ERROR(ReadBool(obj, "isRdma", ctx, &s.is_rdma));
    SK_RETURN_IF_ERROR(ReadBool(obj, "needVhostNet", ctx, &s.need_vhost_net));
    if (s.link_types.size() > 1) {
      warnings->push_back(ctx.Key("linkTypes")
                              .Text("more than one link type; a device "
                                    "matches any of them"));
    }
  }
  if (has("acpiIndexes")) {
    SK_RETURN_IF_ERROR(
        ReadStringList(obj, "acpiIndexes", ctx, &s.acpi_indexes));
  }
  SK_RETURN_IF_ERROR(ReadTypeSelectors(obj, type, ctx, &s));
  return s;
}

absl::StatusOr<ResourceConfig> ParseResource(
    const json& obj, const Ctx& ctx, std::string_view default_prefix,
    std::vector<std::string>* warnings) {
  if (!obj.is_object()) return ctx.TypeError("a resource object", obj);
  WarnUnknownKeys(
      obj,
      {"resourceName", "resourcePrefix", "deviceType", "excludeTopology",
       "selectors", "additionalInfo", "selectorObj", "selectorObjs",
       "allocationPolicy", "pfCarrierHealth"},
      ctx, warnings);
  ResourceConfig r;
  const json* name = FindKey(obj, "resourceName");
  if (name == nullptr || name->is_null()) {
    return ctx.Key("resourceName").Error("missing");
  }
  if (!name->is_string()) {
    return ctx.Key("resourceName").TypeError("a string", *name);
  }
  r.resource_name = name->get<std::string>();
  // Prefix and name become kubelet's resource name and the socket's file
  // name: Kubernetes' rules (validate.h) also keep "../" out of the path.
  if (absl::Status st = CheckQualifiedNamePart(r.resource_name); !st.ok()) {
    return ctx.Key("resourceName").Error(std::string(st.message()));
  }
  r.resource_prefix = std::string(default_prefix);
  bool default_used = true;
  if (const json* p = FindKey(obj, "resourcePrefix");
      p != nullptr && !p->is_null()) {
    if (!p->is_string())
      return ctx.Key("resourcePrefix").TypeError("a string", *p);
    if (!p->get<std::string>().empty()) {
      r.resource_prefix = p->get<std::string>();
      default_used = false;
    }
  }
  if (absl::Status st = CheckDnsSubdomain(r.resource_prefix); !st.ok()) {
    return ctx.Key("resourcePrefix")
        .Error(sk::StrCat(default_used ? "--resource-prefix " : "",
                          std::string(st.message())));
  }
  if (absl::Status st =
          CheckExtendedResourceName(r.resource_prefix, r.resource_name);
      !st.ok()) {
    return ctx.Error(std::string(st.message()));
  }
  if (const json* t = FindKey(obj, "deviceType");
      t != nullptr && !t->is_null()) {
    if (!t->is_string()) return ctx.Key("deviceType").TypeError("a string", *t);
    std::string v = t->get<std::string>();
    if (v == "netDevice") {
      r.device_type = DeviceType::kNetDevice;
    } else if (v == "accelerator") {
      r.device_type = DeviceType::kAccelerator;
    } else if (v == "auxNetDevice") {
      r.device_type = DeviceType::kAuxNetDevice;
    } else {
      return ctx.Key("deviceType")
          .Error(sk::StrCat("unknown value \"", v,
                            "\": expected netDevice, accelerator or "
                            "auxNetDevice"));
    }
  }
  SK_RETURN_IF_ERROR(
      ReadBool(obj, "excludeTopology", ctx, &r.exclude_topology));
  SK_RETURN_IF_ERROR(
      ReadBool(obj, "pfCarrierHealth", ctx, &r.pf_carrier_health));
  if (const json* p = FindKey(obj, "allocationPolicy");
      p != nullptr && !p->is_null()) {
    Ctx pctx = ctx.Key("allocationPolicy");
    if (!p->is_string()) return pctx.TypeError("a string", *p);
    std::string v = p->get<std::string>();
    if (v == "numa") {
      r.allocation_policy = AllocationPolicy::kNuma;
    } else if (v == "packPF") {
      r.allocation_policy = AllocationPolicy::kPackPf;
    } else if (v == "spreadPF") {
      r.allocation_policy = AllocationPolicy::kSpreadPf;
    } else {
      return pctx.Error(sk::StrCat("unknown value ", Short(*p),
                                   ": expected numa, packPF or spreadPF"));
    }
  }

  const json* sel = FindKey(obj, "selectors");
  Ctx sctx = ctx.Key("selectors");
  if (sel == nullptr || sel->is_null()) return sctx.Error("missing");
  if (sel->is_object()) {
    SK_ASSIGN_OR_RETURN(Selector s,
                        ParseSelector(*sel, r.device_type, sctx, warnings));
    r.selectors.push_back(std::move(s));
  } else if (sel->is_array()) {
    if (sel->empty()) return sctx.Error("empty list");
    for (size_t i = 0; i < sel->size(); ++i) {
      SK_ASSIGN_OR_RETURN(Selector s, ParseSelector((*sel)[i], r.device_type,
                                                    sctx.Index(i), warnings));
      r.selectors.push_back(std::move(s));
    }
  } else {
    return sctx.TypeError("an object or a list of objects", *sel);
  }

  if (const json* ai = FindKey(obj, "additionalInfo");
      ai != nullptr && !ai->is_null()) {
    Ctx actx = ctx.Key("additionalInfo");
    if (!ai->is_object()) return actx.TypeError("an object", *ai);
    for (auto it = ai->begin(); it != ai->end(); ++it) {
      Ctx ectx = actx.Key(it.key());
      if (!it->is_object()) return ectx.TypeError("an object of strings", *it);
      auto& m = r.additional_info[it.key()];
      for (auto kv = it->begin(); kv != it->end(); ++kv) {
        if (!kv->is_string()) {
          return ectx.Key(kv.key()).TypeError("a string", *kv);
        }
        m[kv.key()] = kv->get<std::string>();
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
  absl::StatusOr<json> parsed =
      ParseJsonBounded(text, {.max_bytes = kMaxConfigBytes});
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": ", parsed.status().message()));
  }
  const json& doc = *parsed;
  Ctx root(source, "$");
  if (!doc.is_object()) return root.TypeError("a JSON object", doc);
  Config cfg;
  WarnUnknownKeys(doc, {"resourceList"}, root, &cfg.warnings);
  const json* list = FindKey(doc, "resourceList");
  if (list == nullptr || list->is_null()) return cfg;
  if (!list->is_array()) {
    return Ctx(source, "resourceList").TypeError("an array", *list);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    Ctx ctx = Ctx(source, "resourceList").Index(i);
    auto r = ParseResource((*list)[i], ctx, default_prefix, &cfg.warnings);
    if (!r.ok()) {
      cfg.pool_errors.push_back(r.status());
      continue;
    }
    std::string full = r->FullName();
    if (!seen.insert(full).second) {
      cfg.pool_errors.push_back(
          ctx.Key("resourceName")
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
