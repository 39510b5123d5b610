#include "lib/nodeconfig/render.h"

#include <algorithm>
#include <cctype>
#include <set>

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
  if (!j.is_object()) return "";
  auto it = j.find("kind");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
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

absl::Status Err(const std::string& who, std::string_view field,
                 std::string_view what) {
  return absl::InvalidArgumentError(sk::StrCat(who, ": ", field, ": ", what));
}

std::string Show(const Json& v) {
  return v.is_string() ? sk::StrCat("\"", v.get<std::string>(), "\"")
                       : v.dump();
}

std::string StripSpace(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

absl::StatusOr<SriovNetwork> ParseNetwork(const Json& doc,
                                          const std::string& source) {
  SriovNetwork n;
  n.source = source;
  if (auto m = doc.find("metadata"); m != doc.end() && m->is_object()) {
    if (auto v = m->find("name"); v != m->end() && v->is_string())
      n.name = v->get<std::string>();
    if (auto v = m->find("namespace"); v != m->end() && v->is_string())
      n.namespace_name = v->get<std::string>();
  }
  if (n.name.empty()) return Err(source, "metadata.name", "missing");
  // The API server's rule for object names (an RFC 1123 subdomain); the name
  // is pasted into the rendered config's "name".
  bool name_ok = n.name.size() <= 253;
  for (char ch : n.name) {
    name_ok = name_ok && ((ch >= 'a' && ch <= 'z') ||
                          (ch >= '0' && ch <= '9') || ch == '-' || ch == '.');
  }
  if (!name_ok) {
    return Err(
        source, "metadata.name",
        sk::StrCat("\"", n.name, "\" is not a lowercase RFC 1123 subdomain"));
  }
  if (n.namespace_name.empty()) n.namespace_name = "default";
  std::string who = sk::StrCat("SriovNetwork \"", n.name, "\" (", source, ")");
  auto sit = doc.find("spec");
  if (sit == doc.end() || !sit->is_object())
    return Err(who, "spec", "missing or not an object");
  const Json& spec = *sit;
  static const std::set<std::string> kKnown = {
      "resourceName", "networkNamespace", "vlan",   "vlanQoS",
      "vlanProto",    "spoofChk",         "trust",  "linkState",
      "minTxRate",    "maxTxRate",        "ipam",   "capabilities",
      "metaPlugins",  "logLevel",         "logFile"};
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (!kKnown.count(it.key()))
      return Err(who, sk::StrCat("spec.", it.key()), "unknown field");
    if (it->is_null()) continue;
    std::string field = sk::StrCat("spec.", it.key());
    const std::string& k = it.key();
    bool is_int =
        k == "vlan" || k == "vlanQoS" || k == "minTxRate" || k == "maxTxRate";
    if (is_int) {
      int max = k == "vlan" ? 4094 : k == "vlanQoS" ? 7 : 1 << 30;
      if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
          it->get<int64_t>() > max) {
        return Err(
            who, field,
            sk::StrCat("expected an integer in 0..", max, ", got ", Show(*it)));
      }
      int v = static_cast<int>(it->get<int64_t>());
      if (k == "vlan") n.vlan = v;
      if (k == "vlanQoS") n.vlan_qos = v;
      if (k == "minTxRate") n.min_tx_rate = v;
      if (k == "maxTxRate") n.max_tx_rate = v;
      continue;
    }
    if (!it->is_string())
      return Err(who, field, sk::StrCat("expected a string, got ", Show(*it)));
    std::string v = it->get<std::string>();
    auto one_of = [&](std::initializer_list<const char*> allowed) {
      std::string list;
      for (const char* a : allowed) {
        if (v == a) return absl::OkStatus();
        list = list.empty() ? a : sk::StrCat(list, ", ", a);
      }
      return Err(who, field, sk::StrCat("\"", v, "\" is not one of ", list));
    };
    if (k == "resourceName") n.resource_name = v;
    if (k == "networkNamespace") n.network_namespace = v;
    if (k == "vlanProto") {
      SK_RETURN_IF_ERROR(one_of({"802.1q", "802.1Q", "802.1ad", "802.1AD"}));
      n.vlan_proto = v;
    }
    if (k == "spoofChk") {
      SK_RETURN_IF_ERROR(one_of({"on", "off"}));
      n.spoof_chk = v;
    }
    if (k == "trust") {
      SK_RETURN_IF_ERROR(one_of({"on", "off"}));
      n.trust = v;
    }
    if (k == "linkState") {
      SK_RETURN_IF_ERROR(one_of({"auto", "enable", "disable"}));
      n.link_state = v;
    }
    if (k == "logLevel") {
      SK_RETURN_IF_ERROR(
          one_of({"panic", "error", "warning", "info", "debug"}));
      n.log_level = v;
    }
    if (k == "logFile") {
      // The operator's template pastes it between quotes unescaped, so a
      // quote, backslash or control character would render a NAD whose
      // config is not JSON; it is refused here instead.
      for (char ch : v) {
        if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) {
          return Err(who, field,
                     sk::StrCat("\"", v,
                                "\": a path without quotes, backslashes or "
                                "control characters"));
        }
      }
      n.log_file = v;
    }
    if (k == "ipam" || k == "capabilities") {
      if (!StripSpace(v).empty()) {
        absl::StatusOr<Json> j = ParseJsonBounded<Json>(v);
        if (!j.ok() || !j->is_object()) {
          return Err(who, field, sk::StrCat("not a JSON object: \"", v, "\""));
        }
      }
      (k == "ipam" ? n.ipam : n.capabilities) = v;
    }
    if (k == "metaPlugins") {
      absl::StatusOr<Json> j = ParseJsonBounded<Json>(sk::StrCat("[", v, "]"));
      if (!j.ok()) {
        return Err(who, field,
                   sk::StrCat("not comma-separated JSON objects: \"", v, "\""));
      }
      n.meta_plugins = v;
    }
  }
  if (n.resource_name.empty()) return Err(who, "spec.resourceName", "required");
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
      auto it = doc.find("items");
      if (it == doc.end() || !it->is_array())
        return absl::InvalidArgumentError(
            sk::StrCat(where, ": items: expected a list"));
      for (size_t i = 0; i < it->size(); ++i)
        items.emplace_back(sk::StrCat(where, " items[", i, "]"), &(*it)[i]);
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
