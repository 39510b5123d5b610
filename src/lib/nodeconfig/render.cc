#include "lib/nodeconfig/render.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "lib/base/field_reader.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"
#include "lib/nodeconfig/yaml_json.h"

namespace sk::nodeconfig {
namespace {

using Json = nlohmann::ordered_json;

// PF device ID -> VF device ID from the operator's default
// supported-nic-ids ConfigMap (deployment/sriov-network-operator-chart
// templates/configmap.yaml).
constexpr std::pair<const char*, const char*> kVfDeviceIds[] = {
    {"158a", "154c"}, {"158b", "154c"}, {"1572", "154c"}, {"1583", "154c"},
    {"1589", "154c"}, {"15ff", "154c"}, {"37d2", "37cd"}, {"1563", "1565"},
    {"1591", "1889"}, {"1592", "1889"}, {"1593", "1889"}, {"159b", "1889"},
    {"1013", "1014"}, {"1015", "1016"}, {"1017", "1018"}, {"1019", "101a"},
    {"101b", "101c"}, {"101d", "101e"}, {"101f", "101e"}, {"1021", "101e"},
    {"a2d6", "101e"}, {"1654", "1664"}, {"1000", "1000"},
};

// An object's "kind", "" when absent or not a string (`kind:` with no value
// is null in YAML; nlohmann's value() would throw on it).
std::string KindOf(const Json& j) {
  const OrderedFieldReader k = OrderedFieldReader(j, "").Child("kind");
  return k.json().is_string() ? k.json().get<std::string>() : "";
}

std::string Hex4(uint16_t v) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%04x", v);
  return buf;
}

absl::StatusOr<std::string> VfDeviceId(const std::string& pf_device,
                                       const sysfs::Sysfs& fs,
                                       const sysfs::HostSnapshot& host) {
  std::string want = pf_device;
  std::transform(want.begin(), want.end(), want.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const sysfs::PciDevice* pf : host.PhysicalFunctions()) {
    if (Hex4(pf->device_id) != want) continue;
    absl::StatusOr<std::string> v = fs.ReadAttribute(sk::StrCat(
        "sys/bus/pci/devices/", pf->address.ToString(), "/sriov_vf_device"));
    if (v.ok() && v->size() == 4) return *v;
    for (const sysfs::PciDevice* vf : host.VfsOf(*pf))
      return Hex4(vf->device_id);
  }
  for (const auto& [p, v] : kVfDeviceIds)
    if (want == p) return std::string(v);
  return absl::FailedPreconditionError(sk::StrCat(
      "nicSelector.deviceID \"", pf_device,
      "\": VF device ID unknown (no such PF on this host and not in the "
      "operator's supported-nic-ids defaults)"));
}

void UniqueAppend(Json& list, const std::string& v) {
  for (const Json& e : list)
    if (e == v) return;
  list.push_back(v);
}

// Selector object with every key present; empty lists are dropped at the
// end (omitempty).
Json EmptySelectors() {
  Json s = Json::object();
  for (const char* k : {"vendors", "devices", "drivers", "pciAddresses",
                        "pfNames", "rootDevices", "linkTypes"})
    s[k] = Json::array();
  s["IsRdma"] = false;
  s["NeedVhostNet"] = false;
  s["vdpaType"] = "";
  return s;
}

Json Finish(const Json& s) {
  Json out = Json::object();
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (it->is_array() && it->empty()) continue;
    if (it.key() == "vdpaType" && it->get<std::string>().empty()) continue;
    out[it.key()] = *it;
  }
  return out;
}

std::string StripSpace(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

template <typename Int>  // int or std::optional<int>
absl::Status ReadInt(const OrderedFieldReader& obj, std::string_view key,
                     int max, Int* out) {
  SK_ASSIGN_OR_RETURN(std::optional<int64_t> v, obj.OptionalInt(key, 0, max));
  if (v) *out = static_cast<int>(*v);
  return absl::OkStatus();
}

absl::StatusOr<SriovNetwork> ParseNetwork(const Json& doc,
                                          const std::string& source) {
  SriovNetwork n;
  n.source = source;
  {
    const OrderedFieldReader top(doc, source);
    SK_ASSIGN_OR_RETURN(const OrderedFieldReader meta, top.Object("metadata"));
    SK_ASSIGN_OR_RETURN(std::optional<std::string> name,
                        meta.OptionalString("name"));
    SK_ASSIGN_OR_RETURN(std::optional<std::string> ns,
                        meta.OptionalString("namespace"));
    n.name = name.value_or("");
    n.namespace_name = ns.value_or("");
    if (n.name.empty()) return meta.Child("name").Expected("a name");
    // The API server's rule for object names (an RFC 1123 subdomain); the
    // name is pasted into the rendered config's "name".
    bool name_ok = n.name.size() <= 253;
    for (char ch : n.name) {
      name_ok = name_ok && ((ch >= 'a' && ch <= 'z') ||
                            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.');
    }
    if (!name_ok) {
      return meta.Child("name").Expected("a lowercase RFC 1123 subdomain");
    }
  }
  if (n.namespace_name.empty()) n.namespace_name = "default";
  const OrderedFieldReader root(
      doc, sk::StrCat("SriovNetwork \"", n.name, "\" (", source, ")"));
  SK_ASSIGN_OR_RETURN(const OrderedFieldReader spec,
                      root.Child("spec").AsObject());
  SK_RETURN_IF_ERROR(spec.RejectUnknownKeys(
      {"resourceName", "networkNamespace", "vlan", "vlanQoS", "vlanProto",
       "spoofChk", "trust", "linkState", "minTxRate", "maxTxRate", "ipam",
       "capabilities", "metaPlugins", "logLevel", "logFile"}));
  SK_RETURN_IF_ERROR(ReadInt(spec, "vlan", 4094, &n.vlan));
  SK_RETURN_IF_ERROR(ReadInt(spec, "vlanQoS", 7, &n.vlan_qos));
  SK_RETURN_IF_ERROR(ReadInt(spec, "minTxRate", 1 << 30, &n.min_tx_rate));
  SK_RETURN_IF_ERROR(ReadInt(spec, "maxTxRate", 1 << 30, &n.max_tx_rate));
  SK_ASSIGN_OR_RETURN(std::optional<std::string> resource,
                      spec.OptionalString("resourceName"));
  n.resource_name = resource.value_or("");
  SK_ASSIGN_OR_RETURN(std::optional<std::string> network_ns,
                      spec.OptionalString("networkNamespace"));
  n.network_namespace = network_ns.value_or("");
  SK_RETURN_IF_ERROR(spec.OptionalEnumInto(
      "vlanProto", {"802.1q", "802.1Q", "802.1ad", "802.1AD"}, &n.vlan_proto));
  SK_RETURN_IF_ERROR(
      spec.OptionalEnumInto("spoofChk", {"on", "off"}, &n.spoof_chk));
  SK_RETURN_IF_ERROR(spec.OptionalEnumInto("trust", {"on", "off"}, &n.trust));
  SK_RETURN_IF_ERROR(spec.OptionalEnumInto(
      "linkState", {"auto", "enable", "disable"}, &n.link_state));
  SK_RETURN_IF_ERROR(spec.OptionalEnumInto(
      "logLevel", {"panic", "error", "warning", "info", "debug"},
      &n.log_level));
  SK_ASSIGN_OR_RETURN(std::optional<std::string> log_file,
                      spec.OptionalString("logFile"));
  n.log_file = log_file.value_or("");
  // The operator's template pastes it between quotes unescaped, so a quote,
  // backslash or control character would render a NAD whose config is not
  // JSON; it is refused here instead.
  for (char ch : n.log_file) {
    if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) {
      return spec.Child("logFile").Expected(
          "a path without quotes, backslashes or control characters");
    }
  }
  for (const char* key : {"ipam", "capabilities"}) {
    SK_ASSIGN_OR_RETURN(std::optional<std::string> v, spec.OptionalString(key));
    if (v && !StripSpace(*v).empty()) {
      absl::StatusOr<Json> j = ParseJsonBounded<Json>(*v);
      if (!j.ok() || !j->is_object()) {
        return spec.Child(key).Expected("a JSON object in a string");
      }
    }
    (std::string_view(key) == "ipam" ? n.ipam : n.capabilities) =
        v.value_or("");
  }
  SK_ASSIGN_OR_RETURN(std::optional<std::string> meta_plugins,
                      spec.OptionalString("metaPlugins"));
  if (meta_plugins) {
    absl::StatusOr<Json> j =
        ParseJsonBounded<Json>(sk::StrCat("[", *meta_plugins, "]"));
    if (!j.ok()) {
      return spec.Child("metaPlugins")
          .Expected("comma-separated JSON objects in a string");
    }
    n.meta_plugins = *meta_plugins;
  }
  if (n.resource_name.empty()) {
    return spec.Child("resourceName").Expected("a resource name");
  }
  return n;
}

}  // namespace

absl::StatusOr<SriovNetwork> ParseSriovNetworkObject(
    const nlohmann::json& object, std::string_view source) {
  // Through the bounded parser, so an API object gets the depth limit a
  // file does.
  SK_ASSIGN_OR_RETURN(Json doc, ParseJsonBounded<Json>(object.dump()));
  return ParseNetwork(doc, std::string(source));
}

absl::StatusOr<std::string> RenderDevicePluginConfig(
    const std::vector<Policy>& policies, const NodeInfo& node,
    const sysfs::Sysfs& fs, const sysfs::HostSnapshot& host) {
  Json list = Json::array();
  std::vector<std::string> names;
  std::vector<Json> selectors;
  std::vector<bool> exclude;
  for (const Policy& p : SortByPriority(policies)) {
    if (p.name == "default" || !SelectsNode(p, node)) continue;
    const NicSelector& ns = p.nic_selector;
    if (!ns.net_filter.empty()) {
      return absl::UnimplementedError(
          sk::StrCat("policy \"", p.name, "\": spec.nicSelector.netFilter \"",
                     ns.net_filter, "\": needs cloud metadata, not supported"));
    }
    auto at = std::find(names.begin(), names.end(), p.resource_name);
    size_t i = at - names.begin();
    bool fresh = at == names.end();
    if (fresh) {
      names.push_back(p.resource_name);
      selectors.push_back(EmptySelectors());
      exclude.push_back(false);
      Json& s0 = selectors.back();
      s0["IsRdma"] = p.is_rdma;
      s0["NeedVhostNet"] = p.need_vhost_net;
      s0["vdpaType"] = p.vdpa_type;
    }
    Json& s = selectors[i];
    if (!ns.vendor.empty()) UniqueAppend(s["vendors"], ns.vendor);
    if (!ns.device_id.empty()) {
      std::string dev = ns.device_id;
      if (p.num_vfs != 0) {
        SK_ASSIGN_OR_RETURN(dev, VfDeviceId(ns.device_id, fs, host));
      }
      UniqueAppend(s["devices"], dev);
    }
    for (const std::string& pf : ns.pf_names) {
      if (fresh)
        s["pfNames"].push_back(pf);
      else
        UniqueAppend(s["pfNames"], pf);
    }
    if (p.device_type != VfDeviceType::kVfioPci && !p.link_type.empty()) {
      bool ib = p.link_type == "ib" || p.link_type == "IB";
      UniqueAppend(s["linkTypes"], ib ? "infiniband" : "ether");
    }
    for (const std::string& rd : ns.root_devices) {
      if (fresh)
        s["rootDevices"].push_back(rd);
      else
        UniqueAppend(s["rootDevices"], rd);
    }
    if (p.device_type == VfDeviceType::kVfioPci)
      UniqueAppend(s["drivers"], "vfio-pci");
    exclude[i] = p.exclude_topology;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    Json e = Json::object();
    e["resourceName"] = names[i];
    if (exclude[i]) e["excludeTopology"] = true;
    e["selectors"] = Finish(selectors[i]);
    list.push_back(std::move(e));
  }
  Json doc = Json::object();
  doc["resourceList"] = std::move(list);
  return doc.dump() + "\n";
}

absl::StatusOr<std::vector<SriovNetwork>> ParseSriovNetworks(
    std::string_view text, std::string_view source,
    std::vector<std::string>* warnings) {
  SK_ASSIGN_OR_RETURN(std::vector<Json> docs, LoadJsonDocuments(text, source));
  std::vector<SriovNetwork> out;
  for (size_t d = 0; d < docs.size(); ++d) {
    const Json& doc = docs[d];
    if (doc.is_null()) continue;
    std::string where = docs.size() > 1
                            ? sk::StrCat(source, " document ", d + 1)
                            : std::string(source);
    if (!doc.is_object())
      return absl::InvalidArgumentError(
          sk::StrCat(where, ": expected an object"));
    std::vector<std::pair<std::string, const Json*>> items;
    std::string kind = KindOf(doc);
    if (kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
      SK_ASSIGN_OR_RETURN(
          std::vector<OrderedFieldReader> list,
          OrderedFieldReader(doc, where).Child("items").AsList());
      for (size_t i = 0; i < list.size(); ++i)
        items.emplace_back(sk::StrCat(where, " items[", i, "]"),
                           &list[i].json());
    } else {
      items.emplace_back(where, &doc);
    }
    for (auto& [w, item] : items) {
      std::string ik = KindOf(*item);
      if (ik != "SriovNetwork") {
        if (warnings)
          warnings->push_back(sk::StrCat(w, ": kind \"", ik,
                                         "\" is not SriovNetwork; skipped"));
        continue;
      }
      SK_ASSIGN_OR_RETURN(SriovNetwork n, ParseNetwork(*item, w));
      out.push_back(std::move(n));
    }
  }
  return out;
}

absl::StatusOr<std::vector<SriovNetwork>> LoadSriovNetworks(
    const std::filesystem::path& path, std::vector<std::string>* warnings) {
  SK_ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files,
                      InputFiles(path));
  std::vector<SriovNetwork> all;
  for (const auto& f : files) {
    SK_ASSIGN_OR_RETURN(std::string text, kubevirt::ReadInputFile(f));
    SK_ASSIGN_OR_RETURN(std::vector<SriovNetwork> ns,
                        ParseSriovNetworks(text, f.string(), warnings));
    for (SriovNetwork& n : ns) all.push_back(std::move(n));
  }
  return all;
}

std::string RenderNadConfig(const SriovNetwork& n) {
  // The operator's template, after text/template whitespace trimming and
  // YAML single-quoted scalar folding (line break + indent -> one space).
  std::string c =
      sk::StrCat("{ \"cniVersion\":\"1.0.0\", \"name\":\"", n.name, "\",");
  bool meta = !StripSpace(n.meta_plugins).empty();
  if (meta) c += "\"plugins\": [ {";
  c += sk::StrCat("\"type\":\"sriov\",\"vlan\":", n.vlan, ",");
  if (!n.spoof_chk.empty())
    c += sk::StrCat("\"spoofchk\":\"", n.spoof_chk, "\",");
  if (!n.trust.empty()) c += sk::StrCat("\"trust\":\"", n.trust, "\",");
  c += sk::StrCat("\"vlanQoS\":", n.vlan_qos, ",");
  if (!n.vlan_proto.empty())
    c += sk::StrCat("\"vlanProto\":\"", n.vlan_proto, "\",");
  if (n.min_tx_rate) c += sk::StrCat("\"min_tx_rate\":", *n.min_tx_rate, ",");
  if (n.max_tx_rate) c += sk::StrCat("\"max_tx_rate\":", *n.max_tx_rate, ",");
  if (!n.capabilities.empty())
    c += sk::StrCat("\"capabilities\":", n.capabilities, ",");
  if (!n.link_state.empty())
    c += sk::StrCat("\"link_state\":\"", n.link_state, "\",");
  if (!n.log_level.empty())
    c += sk::StrCat("\"logLevel\":\"", n.log_level, "\",");
  if (!n.log_file.empty()) c += sk::StrCat("\"logFile\":\"", n.log_file, "\",");
  std::string ipam = StripSpace(n.ipam);
  c += sk::StrCat("\"ipam\":", ipam.empty() ? "{}" : ipam, " }");
  if (meta) c += sk::StrCat(", ", n.meta_plugins, " ] }");
  return c;
}

Json RenderNad(const SriovNetwork& n, const NadOptions& opts) {
  std::string ns =
      n.network_namespace.empty() ? n.namespace_name : n.network_namespace;
  Json nad = Json::object();
  nad["apiVersion"] = "k8s.cni.cncf.io/v1";
  nad["kind"] = "NetworkAttachmentDefinition";
  nad["metadata"]["name"] = n.name;
  nad["metadata"]["namespace"] = ns;
  nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] =
      sk::StrCat(opts.resource_prefix, "/", n.resource_name);
  nad["metadata"]["annotations"]["sriovnetwork.openshift.io/owner-ref"] =
      sk::StrCat("SriovNetwork.sriovnetwork.openshift.io/", n.namespace_name,
                 "/", n.name);
  nad["spec"]["config"] = RenderNadConfig(n);
  return nad;
}

}  // namespace sk::nodeconfig
