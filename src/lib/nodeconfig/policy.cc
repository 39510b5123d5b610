#include "lib/nodeconfig/policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>
#include <set>
#include <system_error>

#include "absl/strings/str_split.h"

#include "lib/base/field_reader.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"
#include "lib/nodeconfig/yaml_json.h"

namespace sk::nodeconfig {
namespace {

using Json = nlohmann::ordered_json;
using Entries = std::vector<std::pair<std::string, OrderedFieldReader>>;

constexpr char kGroupVersion[] = "sriovnetwork.openshift.io/v1";

absl::Status Err(const std::string& who, std::string_view field,
                 std::string_view what) {
  return absl::InvalidArgumentError(sk::StrCat(who, ": ", field, ": ", what));
}

std::string Quote(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// An optional string field into `out` (left as is when absent or null).
absl::Status ReadString(const OrderedFieldReader& obj, std::string_view key,
                        std::string* out) {
  SK_ASSIGN_OR_RETURN(std::optional<std::string> v, obj.OptionalString(key));
  if (v) *out = *std::move(v);
  return absl::OkStatus();
}

absl::Status ReadBool(const OrderedFieldReader& obj, std::string_view key,
                      bool* out) {
  SK_ASSIGN_OR_RETURN(std::optional<bool> v, obj.OptionalBool(key));
  if (v) *out = *v;
  return absl::OkStatus();
}

absl::Status ReadInt(const OrderedFieldReader& obj, std::string_view key,
                     int min, int max, int* out) {
  SK_ASSIGN_OR_RETURN(std::optional<int64_t> v, obj.OptionalInt(key, min, max));
  if (v) *out = static_cast<int>(*v);
  return absl::OkStatus();
}

// An object's "kind", "" when absent or not a string (`kind:` with no value
// is null in YAML); the kind picks the parser, so a bad one is skipped.
std::string KindOf(const Json& j) {
  const OrderedFieldReader k = OrderedFieldReader(j, "").Child("kind");
  return k.json().is_string() ? k.json().get<std::string>() : "";
}

std::string StringOr(const OrderedFieldReader& r) {
  return r.json().is_string() ? r.json().get<std::string>() : "";
}

bool IsHex4(std::string_view s) {
  if (s.size() != 4) return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0; });
}

absl::StatusOr<Policy> ParseOne(const Json& doc, const std::string& source) {
  Policy p;
  p.source = source;
  {
    const OrderedFieldReader top(doc, source);
    SK_ASSIGN_OR_RETURN(OrderedFieldReader meta, top.Object("metadata"));
    SK_RETURN_IF_ERROR(ReadString(meta, "name", &p.name));
    SK_RETURN_IF_ERROR(ReadString(meta, "namespace", &p.namespace_name));
    if (p.name.empty()) return meta.Child("name").Expected("a name");
  }
  const OrderedFieldReader root(
      doc, sk::StrCat("policy \"", p.name, "\" (", source, ")"));
  if (OrderedFieldReader av = root.Child("apiVersion");
      !av.json().is_string() ||
      av.json().get_ref<const std::string&>() != kGroupVersion) {
    return av.Expected(Quote(kGroupVersion));
  }
  SK_RETURN_IF_ERROR(root.RejectUnknownKeys(
      {"apiVersion", "kind", "metadata", "spec", "status"}));
  SK_ASSIGN_OR_RETURN(const OrderedFieldReader spec,
                      root.Child("spec").AsObject());
  SK_RETURN_IF_ERROR(spec.RejectUnknownKeys(
      {"resourceName", "nodeSelector", "priority", "mtu", "numVfs",
       "nicSelector", "deviceType", "isRdma", "needVhostNet", "linkType",
       "eSwitchMode", "excludeTopology", "externallyManaged", "vdpaType",
       "bridge", "eSwitchParams"}));
  SK_RETURN_IF_ERROR(ReadString(spec, "resourceName", &p.resource_name));
  static const std::regex resource_re("^[a-zA-Z0-9_]+$");
  if (!std::regex_match(p.resource_name, resource_re)) {
    return spec.Child("resourceName")
        .Expected("letters, digits and '_' only (^[a-zA-Z0-9_]+$)");
  }
  SK_ASSIGN_OR_RETURN(Entries selector, spec.Child("nodeSelector").AsEntries());
  for (const auto& [key, value] : selector) {
    SK_ASSIGN_OR_RETURN(p.node_selector[key], value.AsString());
  }
  SK_RETURN_IF_ERROR(ReadInt(spec, "priority", 0, 99, &p.priority));
  SK_RETURN_IF_ERROR(ReadInt(spec, "mtu", 1, 65536, &p.mtu));
  SK_ASSIGN_OR_RETURN(int64_t num_vfs, spec.Int("numVfs", 0, 65535));
  p.num_vfs = static_cast<int>(num_vfs);
  SK_ASSIGN_OR_RETURN(const OrderedFieldReader nic,
                      spec.Child("nicSelector").AsObject());
  SK_RETURN_IF_ERROR(nic.RejectUnknownKeys(
      {"vendor", "deviceID", "pfNames", "rootDevices", "netFilter"}));
  NicSelector& s = p.nic_selector;
  SK_RETURN_IF_ERROR(ReadString(nic, "vendor", &s.vendor));
  SK_RETURN_IF_ERROR(ReadString(nic, "deviceID", &s.device_id));
  SK_ASSIGN_OR_RETURN(s.pf_names, nic.StringList("pfNames"));
  SK_ASSIGN_OR_RETURN(s.root_devices, nic.StringList("rootDevices"));
  SK_RETURN_IF_ERROR(ReadString(nic, "netFilter", &s.net_filter));
  SK_ASSIGN_OR_RETURN(
      std::optional<size_t> device_type,
      spec.OptionalEnum("deviceType", {"netdevice", "vfio-pci"}));
  p.device_type = device_type.value_or(0) == 1 ? VfDeviceType::kVfioPci
                                               : VfDeviceType::kNetdevice;
  SK_RETURN_IF_ERROR(ReadBool(spec, "isRdma", &p.is_rdma));
  SK_RETURN_IF_ERROR(ReadBool(spec, "needVhostNet", &p.need_vhost_net));
  SK_RETURN_IF_ERROR(ReadBool(spec, "excludeTopology", &p.exclude_topology));
  SK_RETURN_IF_ERROR(
      ReadBool(spec, "externallyManaged", &p.externally_managed));
  SK_RETURN_IF_ERROR(spec.OptionalEnumInto(
      "linkType", {"", "eth", "ETH", "ib", "IB"}, &p.link_type));
  SK_RETURN_IF_ERROR(spec.OptionalEnumInto(
      "eSwitchMode", {"", "legacy", "switchdev"}, &p.eswitch_mode));
  SK_RETURN_IF_ERROR(
      spec.OptionalEnumInto("vdpaType", {"", "virtio", "vhost"}, &p.vdpa_type));
  // Webhook defaulting (pkg/webhook/mutate.go): IB link types are RDMA
  // unless the VFs go to vfio-pci.
  if ((p.link_type == "ib" || p.link_type == "IB") &&
      p.device_type != VfDeviceType::kVfioPci) {
    p.is_rdma = true;
  }
  if (OrderedFieldReader br = spec.Child("bridge");
      br.present() && !br.json().empty()) {
    return br.Expected(
        "nothing (software bridges (OVS) are not supported by sriovkit)");
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
               sk::StrCat("expected 4 hex digits, got ", Quote(s.vendor)));
  }
  if (!s.device_id.empty() && !IsHex4(s.device_id)) {
    return Err(who, "spec.nicSelector.deviceID",
               sk::StrCat("expected 4 hex digits, got ", Quote(s.device_id)));
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
    const std::string kind = KindOf(doc);
    std::vector<std::pair<std::string, const Json*>> items;
    if (kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
      SK_ASSIGN_OR_RETURN(
          std::vector<OrderedFieldReader> list,
          OrderedFieldReader(doc, where).Child("items").AsList());
      for (size_t i = 0; i < list.size(); ++i) {
        items.emplace_back(sk::StrCat(where, " items[", i, "]"),
                           &list[i].json());
      }
    } else {
      items.emplace_back(docs.size() > 1 ? where : std::string(source), &doc);
    }
    for (auto& [w, item] : items) {
      const std::string ik = KindOf(*item);
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
    // messages), and the bounded parser, so an API object gets the depth
    // limit a file does; the values are the same.
    SK_ASSIGN_OR_RETURN(Json doc, ParseJsonBounded<Json>(objects[i].dump()));
    const OrderedFieldReader meta =
        OrderedFieldReader(doc, "").Child("metadata");
    const std::string ns = StringOr(meta.Child("namespace"));
    const std::string name = StringOr(meta.Child("name"));
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
    // A Node object (its metadata.labels) or a plain map of labels; anything
    // else is read as key=value lines.
    std::optional<OrderedFieldReader> map;
    if (docs.ok() && !docs->empty() && (*docs)[0].is_object()) {
      const OrderedFieldReader d((*docs)[0], src);
      map = d;
      if (d.Child("metadata").json().is_object()) {
        OrderedFieldReader l = d.Child("metadata").Child("labels");
        if (l.json().is_object()) {
          map = l;
        } else {
          map.reset();
        }
      }
    }
    if (map) {
      SK_ASSIGN_OR_RETURN(Entries entries, map->AsEntries());
      for (const auto& [key, value] : entries) {
        SK_ASSIGN_OR_RETURN(n.labels[key], value.AsString());
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
