#include "lib/nodeconfig/policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>
#include <set>
#include <system_error>

#include "absl/strings/str_split.h"

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"
#include "lib/nodeconfig/yaml_json.h"

namespace sk::nodeconfig {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kGroupVersion[] = "sriovnetwork.openshift.io/v1";

absl::Status Err(const std::string& who, std::string_view field,
                 std::string_view what) {
  return absl::InvalidArgumentError(sk::StrCat(who, ": ", field, ": ", what));
}

std::string Show(const Json& v) {
  return v.is_string() ? sk::StrCat("\"", v.get<std::string>(), "\"")
                       : v.dump();
}

absl::Status CheckKnown(const std::string& who, const Json& obj,
                        std::string_view path,
                        const std::set<std::string>& known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!known.count(it.key())) {
      return Err(who, sk::StrCat(path, ".", it.key()), "unknown field");
    }
  }
  return absl::OkStatus();
}

absl::Status GetString(const std::string& who, const Json& obj, const char* key,
                       std::string_view path, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) {
    return Err(who, sk::StrCat(path, ".", key),
               sk::StrCat("expected a string, got ", Show(*it)));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetBool(const std::string& who, const Json& obj, const char* key,
                     std::string_view path, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) {
    return Err(who, sk::StrCat(path, ".", key),
               sk::StrCat("expected true or false, got ", Show(*it)));
  }
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status GetInt(const std::string& who, const Json& obj, const char* key,
                    std::string_view path, int min, int max, int* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  std::string field = sk::StrCat(path, ".", key);
  if (!it->is_number_integer()) {
    return Err(who, field,
               sk::StrCat("expected an integer in ", min, "..", max, ", got ",
                          Show(*it)));
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return Err(
        who, field,
        sk::StrCat("expected an integer in ", min, "..", max, ", got ", v));
  }
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status GetStringList(const std::string& who, const Json& obj,
                           const char* key, std::string_view path,
                           std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  std::string field = sk::StrCat(path, ".", key);
  if (!it->is_array()) {
    return Err(who, field, sk::StrCat("expected a list, got ", Show(*it)));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& e = (*it)[i];
    if (!e.is_string()) {
      return Err(who, sk::StrCat(field, "[", i, "]"),
                 sk::StrCat("expected a string, got ", Show(e)));
    }
    out->push_back(e.get<std::string>());
  }
  return absl::OkStatus();
}

bool IsHex4(std::string_view s) {
  if (s.size() != 4) return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0; });
}

absl::StatusOr<Policy> ParseOne(const Json& doc, const std::string& source) {
  std::string who = source;
  const Json* meta = nullptr;
  if (auto it = doc.find("metadata"); it != doc.end() && it->is_object())
    meta = &*it;
  Policy p;
  p.source = source;
  if (meta != nullptr) {
    if (auto n = meta->find("name"); n != meta->end() && n->is_string())
      p.name = n->get<std::string>();
    if (auto n = meta->find("namespace"); n != meta->end() && n->is_string())
      p.namespace_name = n->get<std::string>();
  }
  if (p.name.empty()) return Err(source, "metadata.name", "missing");
  who = sk::StrCat("policy \"", p.name, "\" (", source, ")");
  if (auto av = doc.find("apiVersion");
      av == doc.end() || !av->is_string() ||
      av->get<std::string>() != kGroupVersion) {
    return Err(who, "apiVersion",
               sk::StrCat("expected \"", kGroupVersion, "\", got ",
                          av == doc.end() ? "nothing" : Show(*av)));
  }
  SK_RETURN_IF_ERROR(CheckKnown(
      who, doc, "", {"apiVersion", "kind", "metadata", "spec", "status"}));
  auto sit = doc.find("spec");
  if (sit == doc.end() || !sit->is_object()) {
    return Err(who, "spec", "missing or not an object");
  }
  const Json& spec = *sit;
  SK_RETURN_IF_ERROR(
      CheckKnown(who, spec, "spec",
                 {"resourceName", "nodeSelector", "priority", "mtu", "numVfs",
                  "nicSelector", "deviceType", "isRdma", "needVhostNet",
                  "linkType", "eSwitchMode", "excludeTopology",
                  "externallyManaged", "vdpaType", "bridge", "eSwitchParams"}));
  SK_RETURN_IF_ERROR(
      GetString(who, spec, "resourceName", "spec", &p.resource_name));
  static const std::regex kResource("^[a-zA-Z0-9_]+$");
  if (!std::regex_match(p.resource_name, kResource)) {
    return Err(who, "spec.resourceName",
               sk::StrCat("\"", p.resource_name,
                          "\" contains invalid characters (allowed: "
                          "^[a-zA-Z0-9_]+$)"));
  }
  auto ns = spec.find("nodeSelector");
  if (ns == spec.end() || !ns->is_object()) {
    return Err(who, "spec.nodeSelector",
               ns == spec.end()
                   ? "required"
                   : sk::StrCat("expected a map, got ", Show(*ns)));
  }
  for (auto it = ns->begin(); it != ns->end(); ++it) {
    if (!it->is_string()) {
      return Err(who, sk::StrCat("spec.nodeSelector.", it.key()),
                 sk::StrCat("expected a string, got ", Show(*it)));
    }
    p.node_selector[it.key()] = it->get<std::string>();
  }
  SK_RETURN_IF_ERROR(GetInt(who, spec, "priority", "spec", 0, 99, &p.priority));
  SK_RETURN_IF_ERROR(GetInt(who, spec, "mtu", "spec", 1, 65536, &p.mtu));
  if (!spec.contains("numVfs")) return Err(who, "spec.numVfs", "required");
  SK_RETURN_IF_ERROR(GetInt(who, spec, "numVfs", "spec", 0, 65535, &p.num_vfs));
  auto nic = spec.find("nicSelector");
  if (nic == spec.end() || !nic->is_object()) {
    return Err(who, "spec.nicSelector", "required (an object)");
  }
  SK_RETURN_IF_ERROR(CheckKnown(
      who, *nic, "spec.nicSelector",
      {"vendor", "deviceID", "pfNames", "rootDevices", "netFilter"}));
  NicSelector& s = p.nic_selector;
  SK_RETURN_IF_ERROR(
      GetString(who, *nic, "vendor", "spec.nicSelector", &s.vendor));
  SK_RETURN_IF_ERROR(
      GetString(who, *nic, "deviceID", "spec.nicSelector", &s.device_id));
  SK_RETURN_IF_ERROR(
      GetStringList(who, *nic, "pfNames", "spec.nicSelector", &s.pf_names));
  SK_RETURN_IF_ERROR(GetStringList(who, *nic, "rootDevices", "spec.nicSelector",
                                   &s.root_devices));
  SK_RETURN_IF_ERROR(
      GetString(who, *nic, "netFilter", "spec.nicSelector", &s.net_filter));
  std::string device_type = "netdevice";
  SK_RETURN_IF_ERROR(GetString(who, spec, "deviceType", "spec", &device_type));
  if (device_type == "netdevice") {
    p.device_type = VfDeviceType::kNetdevice;
  } else if (device_type == "vfio-pci") {
    p.device_type = VfDeviceType::kVfioPci;
  } else {
    return Err(
        who, "spec.deviceType",
        sk::StrCat("\"", device_type, "\" is not one of netdevice, vfio-pci"));
  }
  SK_RETURN_IF_ERROR(GetBool(who, spec, "isRdma", "spec", &p.is_rdma));
  SK_RETURN_IF_ERROR(
      GetBool(who, spec, "needVhostNet", "spec", &p.need_vhost_net));
  SK_RETURN_IF_ERROR(
      GetBool(who, spec, "excludeTopology", "spec", &p.exclude_topology));
  SK_RETURN_IF_ERROR(
      GetBool(who, spec, "externallyManaged", "spec", &p.externally_managed));
  SK_RETURN_IF_ERROR(GetString(who, spec, "linkType", "spec", &p.link_type));
  SK_RETURN_IF_ERROR(
      GetString(who, spec, "eSwitchMode", "spec", &p.eswitch_mode));
  SK_RETURN_IF_ERROR(GetString(who, spec, "vdpaType", "spec", &p.vdpa_type));
  static const std::set<std::string> kLinkTypes = {"", "eth", "ETH", "ib",
                                                   "IB"};
  if (!kLinkTypes.count(p.link_type)) {
    return Err(
        who, "spec.linkType",
        sk::StrCat("\"", p.link_type, "\" is not one of eth, ETH, ib, IB"));
  }
  if (p.eswitch_mode != "" && p.eswitch_mode != "legacy" &&
      p.eswitch_mode != "switchdev") {
    return Err(
        who, "spec.eSwitchMode",
        sk::StrCat("\"", p.eswitch_mode, "\" is not one of legacy, switchdev"));
  }
  if (p.vdpa_type != "" && p.vdpa_type != "virtio" && p.vdpa_type != "vhost") {
    return Err(who, "spec.vdpaType",
               sk::StrCat("\"", p.vdpa_type, "\" is not one of virtio, vhost"));
  }
  // Webhook defaulting (pkg/webhook/mutate.go): IB link types are RDMA
  // unless the VFs go to vfio-pci.
  if ((p.link_type == "ib" || p.link_type == "IB") &&
      p.device_type != VfDeviceType::kVfioPci) {
    p.is_rdma = true;
  }
  if (auto br = spec.find("bridge");
      br != spec.end() && !br->is_null() && !br->empty()) {
    return Err(who, "spec.bridge",
               "software bridges (OVS) are not supported by sriovkit");
  }
  return p;
}

// Static checks that need the whole policy (webhook
// staticValidateSriovNetworkNodePolicy).
absl::Status StaticValidate(const Policy& p) {
  std::string who = sk::StrCat("policy \"", p.name, "\" (", p.source, ")");
  const NicSelector& s = p.nic_selector;
  if (s.empty()) {
    return Err(who, "spec.nicSelector",
               "at least one of vendor, deviceID, pfNames, rootDevices or "
               "netFilter has to be defined");
  }
  if (!s.vendor.empty() && !IsHex4(s.vendor)) {
    return Err(who, "spec.nicSelector.vendor",
               sk::StrCat("\"", s.vendor, "\" is not 4 hex digits"));
  }
  if (!s.device_id.empty() && !IsHex4(s.device_id)) {
    return Err(who, "spec.nicSelector.deviceID",
               sk::StrCat("\"", s.device_id, "\" is not 4 hex digits"));
  }
  if (!s.net_filter.empty() &&
      (!s.vendor.empty() || !s.device_id.empty() || !s.pf_names.empty() ||
       !s.root_devices.empty())) {
    return Err(who, "spec.nicSelector.netFilter",
               sk::StrCat("\"", s.net_filter,
                          "\" cannot be combined with other selectors"));
  }
  for (size_t i = 0; i < s.pf_names.size(); ++i) {
    std::string field = sk::StrCat("spec.nicSelector.pfNames[", i, "]");
    absl::StatusOr<PfNameRange> r = ParsePfNameRange(s.pf_names[i]);
    if (!r.ok()) return Err(who, field, std::string(r.status().message()));
    if (r->start >= 0 && r->end >= p.num_vfs) {
      return Err(who, field,
                 sk::StrCat("\"", s.pf_names[i],
                            "\": range end exceeds the maximum VF index ",
                            p.num_vfs - 1, " (numVfs ", p.num_vfs, ")"));
    }
  }
  if (p.device_type == VfDeviceType::kVfioPci && p.is_rdma) {
    return Err(who, "spec.deviceType",
               "\"vfio-pci\" conflicts with isRdma: true; set deviceType to "
               "netdevice or isRdma to false");
  }
  if (!p.link_type.empty() && p.link_type != "eth" && p.link_type != "ETH" &&
      p.eswitch_mode == "switchdev") {
    return Err(who, "spec.eSwitchMode",
               sk::StrCat("\"switchdev\" can be used only with ethernet "
                          "links, linkType is \"",
                          p.link_type, "\""));
  }
  if (!p.vdpa_type.empty() && p.device_type != VfDeviceType::kNetdevice) {
    return Err(who, "spec.vdpaType",
               sk::StrCat("\"", p.vdpa_type,
                          "\" conflicts with deviceType \"vfio-pci\"; set "
                          "deviceType to netdevice or remove vdpaType"));
  }
  if (!p.vdpa_type.empty() && p.eswitch_mode != "switchdev") {
    return Err(
        who, "spec.vdpaType",
        sk::StrCat("\"", p.vdpa_type, "\" requires eSwitchMode: switchdev"));
  }
  return absl::OkStatus();
}

std::string HexId(uint16_t v) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%04x", v);
  return buf;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

}  // namespace

const char* VfDeviceTypeName(VfDeviceType t) {
  return t == VfDeviceType::kVfioPci ? "vfio-pci" : "netdevice";
}

absl::StatusOr<PfNameRange> ParsePfNameRange(std::string_view text) {
  PfNameRange r;
  size_t hash = text.find('#');
  if (hash == std::string_view::npos) {
    r.name = std::string(text);
    return r;
  }
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(sk::StrCat("\"", text, "\": ", why));
  };
  r.name = std::string(text.substr(0, hash));
  std::string_view rng = text.substr(hash + 1);
  if (rng.find('#') != std::string_view::npos) return bad("more than one '#'");
  size_t dash = rng.find('-');
  if (dash == std::string_view::npos || rng.find('-', dash + 1) != rng.npos)
    return bad("expected a VF range \"<first>-<last>\" after '#'");
  auto num = [](std::string_view s, int* out) {
    if (s.empty() || s.size() > 6) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size() && *out >= 0;
  };
  if (!num(rng.substr(0, dash), &r.start))
    return bad("the range start is not a VF index");
  if (!num(rng.substr(dash + 1), &r.end))
    return bad("the range end is not a VF index");
  if (r.end < r.start) return bad("the range end is smaller than its start");
  if (r.name.empty()) return bad("no PF name before '#'");
  return r;
}

absl::StatusOr<std::vector<Policy>> ParsePolicies(
    std::string_view text, std::string_view source,
    std::vector<std::string>* warnings) {
  SK_ASSIGN_OR_RETURN(std::vector<Json> docs, LoadJsonDocuments(text, source));
  std::vector<Policy> out;
  for (size_t d = 0; d < docs.size(); ++d) {
    const Json& doc = docs[d];
    if (doc.is_null()) continue;
    std::string where = sk::StrCat(source, " document ", d + 1);
    if (!doc.is_object()) {
      return absl::InvalidArgumentError(
          sk::StrCat(where, ": expected an object"));
    }
    std::string kind;
    if (auto k = doc.find("kind"); k != doc.end() && k->is_string())
      kind = k->get<std::string>();
    std::vector<std::pair<std::string, const Json*>> items;
    if (kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
      auto it = doc.find("items");
      if (it == doc.end() || !it->is_array()) {
        return absl::InvalidArgumentError(
            sk::StrCat(where, ": items: expected a list"));
      }
      for (size_t i = 0; i < it->size(); ++i) {
        items.emplace_back(sk::StrCat(where, " items[", i, "]"), &(*it)[i]);
      }
    } else {
      items.emplace_back(docs.size() > 1 ? where : std::string(source), &doc);
    }
    for (auto& [w, item] : items) {
      std::string ik;
      if (item->is_object()) {
        if (auto k = item->find("kind"); k != item->end() && k->is_string())
          ik = k->get<std::string>();
      }
      if (ik != "SriovNetworkNodePolicy") {
        if (warnings)
          warnings->push_back(sk::StrCat(w, ": kind \"", ik,
                                         "\" is not SriovNetworkNodePolicy; "
                                         "skipped"));
        continue;
      }
      SK_ASSIGN_OR_RETURN(Policy p, ParseOne(*item, w));
      out.push_back(std::move(p));
    }
  }
  return out;
}

absl::StatusOr<std::vector<Policy>> ParsePolicyObjects(
    const std::vector<nlohmann::json>& objects, std::string_view source,
    std::vector<std::string>* warnings) {
  std::vector<Policy> out;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!objects[i].is_object()) {
      return absl::InvalidArgumentError(
          sk::StrCat(source, " object ", i + 1, ": expected an object"));
    }
    // Through the ordered type ParseOne reads (keys keep their order in
    // messages); the values are the same.
    Json doc = Json::parse(objects[i].dump());
    std::string ns, name;
    if (auto m = doc.find("metadata"); m != doc.end() && m->is_object()) {
      if (auto n = m->find("namespace"); n != m->end() && n->is_string())
        ns = n->get<std::string>();
      if (auto n = m->find("name"); n != m->end() && n->is_string())
        name = n->get<std::string>();
    }
    std::string where = ns.empty() ? sk::StrCat(source, " ", name)
                                   : sk::StrCat(source, " ", ns, "/", name);
    if (!doc.contains("kind")) doc["kind"] = "SriovNetworkNodePolicy";
    if (!doc.contains("apiVersion")) doc["apiVersion"] = kGroupVersion;
    if (!doc["kind"].is_string() ||
        doc["kind"].get<std::string>() != "SriovNetworkNodePolicy") {
      if (warnings)
        warnings->push_back(sk::StrCat(where, ": kind ", doc["kind"].dump(),
                                       " is not SriovNetworkNodePolicy; "
                                       "skipped"));
      continue;
    }
    SK_ASSIGN_OR_RETURN(Policy p, ParseOne(doc, where));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<Policy>> LoadPolicies(
    const std::filesystem::path& path, std::vector<std::string>* warnings) {
  SK_ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files,
                      InputFiles(path));
  std::vector<Policy> all;
  std::set<std::string> names;
  for (const auto& f : files) {
    SK_ASSIGN_OR_RETURN(std::string text, kubevirt::ReadInputFile(f));
    SK_ASSIGN_OR_RETURN(std::vector<Policy> ps,
                        ParsePolicies(text, f.string(), warnings));
    for (Policy& p : ps) {
      if (!names.insert(p.name).second) {
        return absl::InvalidArgumentError(
            sk::StrCat("policy \"", p.name, "\" (", p.source,
                       "): metadata.name: defined more than once"));
      }
      all.push_back(std::move(p));
    }
  }
  return all;
}

absl::StatusOr<NodeInfo> LoadNodeInfo(std::string_view node_name,
                                      const std::filesystem::path& labels) {
  NodeInfo n;
  n.name = std::string(node_name);
  if (!labels.empty()) {
    SK_ASSIGN_OR_RETURN(std::string text, kubevirt::ReadInputFile(labels));
    std::string src = labels.string();
    absl::StatusOr<std::vector<Json>> docs = LoadJsonDocuments(text, src);
    const Json* map = nullptr;
    if (docs.ok() && !docs->empty() && (*docs)[0].is_object()) {
      const Json& d = (*docs)[0];
      map = &d;
      if (auto m = d.find("metadata"); m != d.end() && m->is_object()) {
        auto l = m->find("labels");
        map = (l != m->end() && l->is_object()) ? &*l : nullptr;
      }
    }
    if (map != nullptr) {
      for (auto it = map->begin(); it != map->end(); ++it) {
        if (!it->is_string()) {
          return absl::InvalidArgumentError(
              sk::StrCat(src, ": label \"", it.key(),
                         "\": expected a string value, got ", Show(*it)));
        }
        n.labels[it.key()] = it->get<std::string>();
      }
    } else {
      int line_no = 0;
      for (absl::string_view aline : absl::StrSplit(text, '\n')) {
        std::string_view line = sk::ToStd(aline);
        ++line_no;
        while (!line.empty() &&
               std::isspace(static_cast<unsigned char>(line.back())))
          line.remove_suffix(1);
        if (line.empty() || line[0] == '#') continue;
        size_t eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) {
          return absl::InvalidArgumentError(sk::StrCat(
              src, ":", line_no, ": expected key=value, got \"", line, "\""));
        }
        n.labels[std::string(line.substr(0, eq))] =
            std::string(line.substr(eq + 1));
      }
    }
  }
  n.labels.emplace("kubernetes.io/hostname", n.name);
  return n;
}

bool SelectsNode(const Policy& p, const NodeInfo& node) {
  for (const auto& [k, v] : p.node_selector) {
    auto it = node.labels.find(k);
    if (it == node.labels.end() || it->second != v) return false;
  }
  return true;
}

bool SelectsPf(const NicSelector& s, const sysfs::PciDevice& pf) {
  if (s.empty()) return false;
  if (!s.vendor.empty() && Lower(s.vendor) != HexId(pf.vendor_id)) return false;
  if (!s.device_id.empty() && Lower(s.device_id) != HexId(pf.device_id))
    return false;
  if (!s.root_devices.empty() &&
      std::find(s.root_devices.begin(), s.root_devices.end(),
                pf.address.ToString()) == s.root_devices.end())
    return false;
  if (!s.pf_names.empty()) {
    bool found = false;
    for (const std::string& n : s.pf_names) {
      std::string name = n.substr(0, n.find('#'));
      if (pf.pf_netdev && *pf.pf_netdev == name) found = true;
    }
    if (!found) return false;
  }
  // netFilter needs cloud metadata (OpenStack/AWS network IDs).
  if (!s.net_filter.empty()) return false;
  return true;
}

std::vector<Policy> SortByPriority(std::vector<Policy> policies) {
  std::stable_sort(policies.begin(), policies.end(),
                   [](const Policy& a, const Policy& b) {
                     if (a.priority != b.priority)
                       return a.priority > b.priority;
                     return a.name < b.name;
                   });
  return policies;
}

absl::Status ValidatePolicies(const std::vector<Policy>& policies,
                              const NodeInfo& node,
                              const sysfs::HostSnapshot& host,
                              std::vector<std::string>* warnings) {
  for (const Policy& p : policies) SK_RETURN_IF_ERROR(StaticValidate(p));
  std::vector<const Policy*> selected;
  for (const Policy& p : policies) {
    if (SelectsNode(p, node)) selected.push_back(&p);
  }
  for (const Policy* p : selected) {
    std::string who = sk::StrCat("policy \"", p->name, "\" (", p->source, ")");
    bool any = false;
    for (const sysfs::PciDevice* pf : host.PhysicalFunctions()) {
      if (!pf->is_network() || !SelectsPf(p->nic_selector, *pf)) continue;
      any = true;
      std::string pfname = sk::StrCat(
          pf->address.ToString(),
          pf->pf_netdev ? " (" + *pf->pf_netdev + ")" : std::string());
      if (p->num_vfs == 0) {
        return Err(who, "spec.numVfs",
                   sk::StrCat("0 is not allowed for a policy that selects "
                              "PF ",
                              pfname));
      }
      int total = pf->sriov_totalvfs.value_or(0);
      if (p->num_vfs > total) {
        return Err(who, "spec.numVfs",
                   sk::StrCat(p->num_vfs, " exceeds sriov_totalvfs ", total,
                              " of PF ", pfname));
      }
      if (p->externally_managed) {
        int cur = pf->sriov_numvfs.value_or(0);
        if (p->num_vfs > cur) {
          return Err(who, "spec.numVfs",
                     sk::StrCat(p->num_vfs,
                                " is higher than the VFs created "
                                "externally on PF ",
                                pfname, " (", cur, ")"));
        }
        const sysfs::NetDev* nd = nullptr;
        for (const auto& n : pf->netdevs)
          if (pf->pf_netdev && n.name == *pf->pf_netdev) nd = &n;
        if (p->mtu != 0 && nd && nd->mtu && p->mtu > *nd->mtu) {
          return Err(who, "spec.mtu",
                     sk::StrCat(p->mtu,
                                " is higher than the externally managed "
                                "MTU of PF ",
                                pfname, " (", *nd->mtu, ")"));
        }
      }
    }
    if (!any && warnings) {
      warnings->push_back(sk::StrCat(who, ": selects node \"", node.name,
                                     "\" but none of its PFs"));
    }
  }
  // Pairs of policies on this node (webhook validatePolicyForNodePolicy).
  for (size_t i = 0; i < selected.size(); ++i) {
    for (size_t j = 0; j < selected.size(); ++j) {
      if (i == j) continue;
      const Policy& cur = *selected[i];
      const Policy& pre = *selected[j];
      std::string who =
          sk::StrCat("policy \"", cur.name, "\" (", cur.source, ")");
      for (size_t a = 0; a < cur.nic_selector.pf_names.size(); ++a) {
        SK_ASSIGN_OR_RETURN(PfNameRange cr,
                            ParsePfNameRange(cur.nic_selector.pf_names[a]));
        for (const std::string& pn : pre.nic_selector.pf_names) {
          absl::StatusOr<PfNameRange> pr = ParsePfNameRange(pn);
          if (!pr.ok() || pr->name != cr.name) continue;
          std::string field = sk::StrCat("spec.nicSelector.pfNames[", a, "]");
          if (cur.externally_managed != pre.externally_managed) {
            return Err(who, "spec.externallyManaged",
                       sk::StrCat(cur.externally_managed ? "true" : "false",
                                  " is inconsistent with policy \"", pre.name,
                                  "\" on PF \"", cr.name, "\""));
          }
          if (!(cr.end < pr->start || cr.start > pr->end)) {
            return Err(
                who, field,
                sk::StrCat("VF index range in \"", cur.nic_selector.pf_names[a],
                           "\" overlaps policy \"", pre.name, "\" (\"", pn,
                           "\")"));
          }
        }
      }
      for (size_t a = 0; a < cur.nic_selector.root_devices.size(); ++a) {
        const std::string& rd = cur.nic_selector.root_devices[a];
        const auto& other = pre.nic_selector.root_devices;
        if (std::find(other.begin(), other.end(), rd) != other.end()) {
          return Err(who, sk::StrCat("spec.nicSelector.rootDevices[", a, "]"),
                     sk::StrCat("root device \"", rd, "\" overlaps policy \"",
                                pre.name, "\""));
        }
      }
      if (cur.resource_name == pre.resource_name &&
          cur.exclude_topology != pre.exclude_topology) {
        return Err(
            who, "spec.excludeTopology",
            sk::StrCat(cur.exclude_topology ? "true" : "false",
                       " conflicts with policy \"", pre.name, "\" (",
                       pre.exclude_topology ? "true" : "false",
                       ") for the same resource \"", cur.resource_name, "\""));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace sk::nodeconfig
