#include "lib/kubevirt/vmi.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"

#include "lib/base/field_reader.h"
#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"
#include "lib/kubevirt/json_input.h"
#include "lib/net/addr.h"
#include "lib/net/hw_addr.h"

namespace sk::kubevirt {
namespace {

// Binding-method keys of an Interface (kubevirt.io/api core/v1
// InterfaceBindingMethod plus the plugin reference).
constexpr const char* kBindingKeys[] = {"bridge",       "masquerade", "sriov",
                                        "passtBinding", "binding",    "slirp",
                                        "macvtap",      "passt"};

using Reader = OrderedFieldReader;

// A string field; empty when absent or null.
absl::StatusOr<std::string> GetString(const Reader& parent,
                                      std::string_view key) {
  SK_ASSIGN_OR_RETURN(std::optional<std::string> s, parent.OptionalString(key));
  return s ? *std::move(s) : std::string();
}

// A resource.Quantity field ("1Gi", or a bare number as the API server also
// accepts): its text, empty when absent.
absl::StatusOr<std::string> GetQuantity(const Reader& parent,
                                        std::string_view key) {
  const Reader n = parent.Child(key);
  if (!n.present()) return std::string();
  if (n.json().is_string()) return n.json().get<std::string>();
  if (n.json().is_number()) return n.json().dump();
  return n.Expected("a quantity (a string or a number)");
}

absl::StatusOr<Interface> ParseInterface(const Reader& n) {
  SK_ASSIGN_OR_RETURN(auto entries, n.AsEntries());
  Interface i;
  SK_ASSIGN_OR_RETURN(i.name, GetString(n, "name"));
  for (const auto& entry : entries) {
    for (const char* b : kBindingKeys) {
      if (entry.first == b) i.bindings.push_back(entry.first);
    }
  }
  if (i.has_binding("binding")) {
    SK_ASSIGN_OR_RETURN(Reader b, n.Object("binding"));
    SK_ASSIGN_OR_RETURN(i.binding_plugin, GetString(b, "name"));
  }
  SK_ASSIGN_OR_RETURN(i.mac_address, GetString(n, "macAddress"));
  SK_ASSIGN_OR_RETURN(i.pci_address, GetString(n, "pciAddress"));
  SK_ASSIGN_OR_RETURN(i.boot_order,
                      n.OptionalInt("bootOrder", INT64_MIN, INT64_MAX));
  SK_ASSIGN_OR_RETURN(i.state, GetString(n, "state"));
  SK_ASSIGN_OR_RETURN(i.tag, GetString(n, "tag"));
  return i;
}

absl::StatusOr<Network> ParseNetwork(const Reader& n) {
  SK_RETURN_IF_ERROR(n.AsObject().status());
  Network net;
  SK_ASSIGN_OR_RETURN(net.name, GetString(n, "name"));
  net.pod = n.Child("pod").exists();
  net.resource_claim = n.Child("resourceClaim").exists();
  if (n.Child("multus").exists()) {
    net.multus = true;
    SK_ASSIGN_OR_RETURN(Reader m, n.Object("multus"));
    SK_ASSIGN_OR_RETURN(net.multus_network_name, GetString(m, "networkName"));
    SK_ASSIGN_OR_RETURN(std::optional<bool> dflt, m.OptionalBool("default"));
    net.multus_default = dflt.value_or(false);
  }
  return net;
}

absl::StatusOr<uint32_t> ParseVcpus(const Reader& cpu) {
  int64_t total = 1;
  for (const char* k : {"sockets", "cores", "threads"}) {
    SK_ASSIGN_OR_RETURN(std::optional<int64_t> v, cpu.OptionalInt(k, 1, 4096));
    if (v.has_value()) total *= *v;
  }
  if (total > 4096) {
    return cpu.Error(
        sk::StrCat("sockets*cores*threads = ", total, " exceeds 4096"));
  }
  return static_cast<uint32_t>(total);
}

// Kubernetes' IsDNS1123Label / IsDNS1123Subdomain (apimachinery
// pkg/util/validation): a VMI name becomes the libvirt domain name and file
// names, so nothing else may reach them.
bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  for (char c : s) {
    if (!alnum(c) && c != '-') return false;
  }
  return alnum(s.front()) && alnum(s.back());
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::string_view rest = s;;) {
    const size_t dot = rest.find('.');
    if (!IsDns1123Label(rest.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    rest.remove_prefix(dot + 1);
  }
}

absl::StatusOr<Vmi> ParseDocument(const Reader& doc) {
  SK_RETURN_IF_ERROR(doc.AsObject().status());
  Vmi vmi;
  SK_ASSIGN_OR_RETURN(std::string kind, GetString(doc, "kind"));
  SK_ASSIGN_OR_RETURN(Reader meta, doc.Object("metadata"));
  SK_ASSIGN_OR_RETURN(vmi.name, GetString(meta, "name"));
  SK_ASSIGN_OR_RETURN(vmi.namespace_, GetString(meta, "namespace"));
  if (vmi.namespace_.empty()) vmi.namespace_ = "default";
  Reader annotations_owner = meta;
  SK_ASSIGN_OR_RETURN(Reader spec, doc.Object("spec"));
  if (kind == "VirtualMachine") {
    SK_ASSIGN_OR_RETURN(Reader tmpl, spec.Object("template"));
    SK_ASSIGN_OR_RETURN(annotations_owner, tmpl.Object("metadata"));
    SK_ASSIGN_OR_RETURN(spec, tmpl.Object("spec"));
  } else if (kind != "VirtualMachineInstance") {
    return doc.Child("kind").Expected(
        "VirtualMachineInstance or VirtualMachine");
  }
  vmi.source_kind = kind;
  SK_ASSIGN_OR_RETURN(Reader ann, annotations_owner.Object("annotations"));
  if (ann.present()) {
    SK_ASSIGN_OR_RETURN(auto entries, ann.AsEntries());
    for (const auto& entry : entries) {
      SK_ASSIGN_OR_RETURN(vmi.annotations[entry.first],
                          entry.second.AsString());
    }
  }

  SK_ASSIGN_OR_RETURN(Reader domain, spec.Object("domain"));
  SK_ASSIGN_OR_RETURN(Reader devices, domain.Object("devices"));
  SK_ASSIGN_OR_RETURN(std::vector<Reader> ifaces, devices.List("interfaces"));
  for (const Reader& i : ifaces) {
    SK_ASSIGN_OR_RETURN(Interface iface, ParseInterface(i));
    vmi.interfaces.push_back(std::move(iface));
  }
  SK_ASSIGN_OR_RETURN(std::vector<Reader> disks, devices.List("disks"));
  for (const Reader& disk : disks) {
    SK_RETURN_IF_ERROR(disk.AsObject().status());
    Disk d;
    SK_ASSIGN_OR_RETURN(d.name, GetString(disk, "name"));
    SK_ASSIGN_OR_RETURN(d.boot_order,
                        disk.OptionalInt("bootOrder", INT64_MIN, INT64_MAX));
    vmi.disks.push_back(std::move(d));
  }
  SK_ASSIGN_OR_RETURN(std::vector<Reader> nets, spec.List("networks"));
  for (const Reader& n : nets) {
    SK_ASSIGN_OR_RETURN(Network net, ParseNetwork(n));
    vmi.networks.push_back(std::move(net));
  }
  SK_ASSIGN_OR_RETURN(Reader memory, domain.Object("memory"));
  SK_ASSIGN_OR_RETURN(vmi.memory_guest, GetQuantity(memory, "guest"));
  SK_ASSIGN_OR_RETURN(Reader res, domain.Object("resources"));
  SK_ASSIGN_OR_RETURN(Reader req, res.Object("requests"));
  SK_ASSIGN_OR_RETURN(Reader lim, res.Object("limits"));
  SK_ASSIGN_OR_RETURN(vmi.memory_request, GetQuantity(req, "memory"));
  SK_ASSIGN_OR_RETURN(vmi.memory_limit, GetQuantity(lim, "memory"));
  SK_ASSIGN_OR_RETURN(Reader cpu, domain.Object("cpu"));
  SK_ASSIGN_OR_RETURN(vmi.vcpus, ParseVcpus(cpu));
  // Checked last so structural errors are reported first.
  if (!IsDns1123Subdomain(vmi.name)) {
    return meta.Child("name").Error(sk::StrCat(
        "\"", absl::CHexEscape(vmi.name),
        "\" is not a valid name: want a lowercase RFC 1123 subdomain (a-z, "
        "0-9, '-', '.'; starting and ending with a letter or digit; at most "
        "253 characters)"));
  }
  if (!IsDns1123Label(vmi.namespace_)) {
    return meta.Child("namespace")
        .Error(sk::StrCat(
            "\"", absl::CHexEscape(vmi.namespace_),
            "\" is not a valid namespace: want a lowercase RFC 1123 label "
            "(a-z, "
            "0-9, '-'; starting and ending with a letter or digit; at most 63 "
            "characters)"));
  }
  return vmi;
}

absl::StatusOr<Vmi> ParseVmiFrom(std::string_view text,
                                 std::string_view source) {
  SK_ASSIGN_OR_RETURN(nlohmann::ordered_json doc,
                      LoadJsonDocument(text, source));
  return ParseDocument(Reader(doc, std::string(source)));
}

// KubeVirt's name pattern ^[A-Za-z0-9-_]+$.
bool ValidName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Six octets in the ':' or '-' form of Go's net.ParseMAC (which KubeVirt
// uses): the forms a VF MAC is written in.
absl::StatusOr<net::MacAddress> ParseVmiMac(std::string_view s) {
  if (s.size() != 17) {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid MAC address \"", s, "\""));
  }
  SK_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, net::ParseHardwareAddr(s));
  net::MacAddress mac{};
  std::copy(bytes.begin(), bytes.end(), mac.begin());
  return mac;
}

// KubeVirt's pciAddress pattern
// ^([\da-fA-F]{4}):([\da-fA-F]{2}):([\da-fA-F]{2})\.([0-7]{1})$
bool ValidGuestPci(std::string_view s) {
  return s.size() == 12 && IsHex(s.substr(0, 4)) && s[4] == ':' &&
         IsHex(s.substr(5, 2)) && s[7] == ':' && IsHex(s.substr(8, 2)) &&
         s[10] == '.' && s[11] >= '0' && s[11] <= '7';
}

}  // namespace

bool Interface::has_binding(std::string_view b) const {
  for (const std::string& x : bindings) {
    if (x == b) return true;
  }
  return false;
}

bool Interface::is_sriov() const {
  return bindings.size() == 1 && bindings[0] == "sriov";
}

int Network::source_count() const {
  return int{pod} + int{multus} + int{resource_claim};
}

const Network* Vmi::FindNetwork(std::string_view n) const {
  for (const Network& x : networks) {
    if (x.name == n) return &x;
  }
  return nullptr;
}

const Interface* Vmi::FindInterface(std::string_view n) const {
  for (const Interface& x : interfaces) {
    if (x.name == n) return &x;
  }
  return nullptr;
}

absl::StatusOr<Vmi> ParseVmi(std::string_view text) {
  return ParseVmiFrom(text, "VMI");
}

absl::StatusOr<Vmi> LoadVmiFile(const std::filesystem::path& path) {
  SK_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path));
  return ParseVmiFrom(text, path.string());
}

absl::StatusOr<NetworkRef> ParseNetworkName(std::string_view network_name,
                                            std::string_view default_ns) {
  NetworkRef ref;
  size_t slash = network_name.find('/');
  if (slash == std::string_view::npos) {
    ref.namespace_ = std::string(default_ns);
    ref.name = std::string(network_name);
  } else {
    ref.namespace_ = std::string(network_name.substr(0, slash));
    ref.name = std::string(network_name.substr(slash + 1));
  }
  if (ref.namespace_.empty() || ref.name.empty() ||
      ref.name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        sk::StrCat("multus networkName \"", network_name,
                   "\": want <name> or <namespace>/<name>"));
  }
  return ref;
}

namespace {

// KubeVirt's admission rules for what this project renders (kubevirt
// pkg/network/admitter): each rule is one function that appends its causes;
// ValidateVmi runs them in table order, so causes come out in the order
// KubeVirt reports them.
struct Admission {
  explicit Admission(const Vmi& v)
      : vmi(v),
        spec(v.source_kind == "VirtualMachine" ? "spec.template.spec"
                                               : "spec") {}
  const Vmi& vmi;
  const std::string spec;
  std::vector<Cause> causes;
  // Filled by the name rules, read by the later ones.
  std::map<std::string, size_t> iface_index, net_index;
  // Filled while the per-interface rules run (uniqueness across interfaces).
  std::map<int64_t, std::string> boot_orders;
  std::map<std::string, std::string> guest_pci;

  std::string ifield(size_t i, std::string_view f) const {
    return sk::StrCat(spec, ".domain.devices.interfaces[", i, "]",
                      f.empty() ? "" : ".", f);
  }
  std::string nfield(size_t i, std::string_view f) const {
    return sk::StrCat(spec, ".networks[", i, "]", f.empty() ? "" : ".", f);
  }
  void add(std::string field, std::string msg) {
    causes.push_back({std::move(field), std::move(msg)});
  }
};

// Rule 2: interface names are well-formed and unique.
void InterfaceNames(Admission& a) {
  for (size_t i = 0; i < a.vmi.interfaces.size(); ++i) {
    const Interface& iface = a.vmi.interfaces[i];
    if (!ValidName(iface.name)) {
      a.add(a.ifield(i, "name"),
            sk::StrCat("Network interface name \"", iface.name,
                       "\" can only contain alphabetical characters, numbers, "
                       "dashes (-) or underscores (_)"));
    }
    auto [it, fresh] = a.iface_index.emplace(iface.name, i);
    if (!fresh) {
      a.add(a.ifield(i, "name"),
            sk::StrCat("Duplicate interface name '", iface.name,
                       "': already used by interfaces[", it->second, "]"));
    }
  }
}

// Rule 1: exactly one binding method, none of the discontinued ones.
void BindingMethods(Admission& a) {
  for (size_t i = 0; i < a.vmi.interfaces.size(); ++i) {
    const Interface& iface = a.vmi.interfaces[i];
    for (const char* gone : {"slirp", "macvtap", "passt"}) {
      if (iface.has_binding(gone)) {
        std::string g = gone;
        g[0] = absl::ascii_toupper(static_cast<unsigned char>(g[0]));
        a.add(a.ifield(i, gone),
              sk::StrCat(g,
                         " interface support has been discontinued since "
                         "v1.3 (interface \"",
                         iface.name, "\")"));
      }
    }
    if (iface.bindings.size() != 1) {
      a.add(a.ifield(i, ""),
            sk::StrCat("logical ", iface.name,
                       " interface must have exactly one binding method or "
                       "binding plugin (has ",
                       iface.bindings.empty()
                           ? std::string("none")
                           : absl::StrJoin(iface.bindings, ", "),
                       ")"));
    }
  }
}

// Rules 2 and 3 for networks: names well-formed and unique, exactly one
// source, a well-formed Multus network name.
void NetworkNamesAndSources(Admission& a) {
  for (size_t i = 0; i < a.vmi.networks.size(); ++i) {
    const Network& n = a.vmi.networks[i];
    if (!ValidName(n.name)) {
      a.add(a.nfield(i, "name"),
            sk::StrCat("Network name \"", n.name,
                       "\" can only contain alphabetical characters, numbers, "
                       "dashes (-) or underscores (_)"));
    }
    auto [it, fresh] = a.net_index.emplace(n.name, i);
    if (!fresh) {
      a.add(a.nfield(i, "name"),
            sk::StrCat("Duplicate network name '", n.name,
                       "': already used by networks[", it->second, "]"));
    }
    if (n.source_count() == 0) {
      a.add(a.nfield(i, ""),
            sk::StrCat("network \"", n.name, "\" should have a network type"));
    } else if (n.source_count() > 1) {
      a.add(a.nfield(i, ""),
            sk::StrCat("network \"", n.name,
                       "\" should have only one network type"));
    }
    if (!n.multus) continue;
    if (n.multus_network_name.empty()) {
      a.add(a.nfield(i, "multus.networkName"),
            sk::StrCat("CNI delegating plugin must have a networkName "
                       "(network \"",
                       n.name, "\")"));
    } else if (auto ref = ParseNetworkName(n.multus_network_name, "default");
               !ref.ok()) {
      a.add(a.nfield(i, "multus.networkName"),
            std::string(ref.status().message()));
    }
  }
}

// Rule 3: at most one pod network, at most one Multus default, not both.
void DefaultNetworkCounts(Admission& a) {
  int pod_networks = 0, multus_defaults = 0;
  for (const Network& n : a.vmi.networks) {
    if (n.pod) ++pod_networks;
    if (n.multus && n.multus_default) ++multus_defaults;
  }
  if (pod_networks > 1) {
    a.add(a.spec + ".networks",
          sk::StrCat("more than one pod network is defined (", pod_networks,
                     "); at most one network may use pod: {}"));
  }
  if (multus_defaults > 1) {
    a.add(a.spec + ".networks",
          "Multus CNI should only have one default network");
  }
  if (pod_networks > 0 && multus_defaults > 0) {
    a.add(a.spec + ".networks",
          "Pod network cannot be defined when Multus default network is "
          "defined");
  }
}

// Rule 2: interfaces and networks match one to one by name.
void OneToOne(Admission& a) {
  for (size_t i = 0; i < a.vmi.interfaces.size(); ++i) {
    if (!a.net_index.count(a.vmi.interfaces[i].name)) {
      a.add(a.ifield(i, "name"),
            sk::StrCat("'", a.vmi.interfaces[i].name,
                       "' not found: no network of that name in ", a.spec,
                       ".networks"));
    }
  }
  for (size_t i = 0; i < a.vmi.networks.size(); ++i) {
    if (!a.iface_index.count(a.vmi.networks[i].name)) {
      a.add(a.nfield(i, "name"),
            sk::StrCat("'", a.vmi.networks[i].name,
                       "' not found: no interface of that name in ", a.spec,
                       ".domain.devices.interfaces"));
    }
  }
}

// Rule 4: link state values, and which bindings support them.
void InterfaceState(Admission& a, size_t i) {
  const Interface& iface = a.vmi.interfaces[i];
  if (iface.state.empty()) return;
  const bool sriov = iface.has_binding("sriov");
  if (iface.state != "up" && iface.state != "down" && iface.state != "absent") {
    a.add(a.ifield(i, "state"),
          sk::StrCat("interface \"", iface.name, "\" has invalid state \"",
                     iface.state, "\" (want up, down or absent)"));
  } else if (sriov && iface.state != "absent") {
    a.add(a.ifield(i, "state"),
          sk::StrCat("\"", iface.name, "\" interface's state \"", iface.state,
                     "\" is not supported for SR-IOV NICs"));
  } else if (iface.state == "absent" && !iface.has_binding("bridge")) {
    a.add(
        a.ifield(i, "state"),
        sk::StrCat("\"", iface.name,
                   "\" interface's state \"absent\" is supported only "
                   "for bridge binding (hot-unplug)",
                   sriov ? "; SR-IOV interfaces cannot be hot-unplugged" : ""));
  }
}

// Rule 5: MAC syntax; a VF MAC is unicast.
void InterfaceMac(Admission& a, size_t i) {
  const Interface& iface = a.vmi.interfaces[i];
  if (iface.mac_address.empty()) return;
  absl::StatusOr<net::MacAddress> mac = ParseVmiMac(iface.mac_address);
  if (!mac.ok()) {
    a.add(a.ifield(i, "macAddress"),
          sk::StrCat("interface ", iface.name, " has malformed MAC address (",
                     iface.mac_address, ")."));
  } else if (iface.has_binding("sriov") && net::IsMulticastMac(*mac)) {
    a.add(a.ifield(i, "macAddress"),
          sk::StrCat("SR-IOV interface ", iface.name, " has MAC address (",
                     iface.mac_address,
                     ") with the multicast bit set; a VF MAC must be "
                     "unicast"));
  }
}

// Rule 5: guest PCI address syntax and uniqueness.
void InterfacePciAddress(Admission& a, size_t i) {
  const Interface& iface = a.vmi.interfaces[i];
  if (iface.pci_address.empty()) return;
  if (!ValidGuestPci(iface.pci_address)) {
    a.add(a.ifield(i, "pciAddress"),
          sk::StrCat("interface ", iface.name, " has malformed PCI address (",
                     iface.pci_address, ")."));
    return;
  }
  auto [it, fresh] =
      a.guest_pci.emplace(absl::AsciiStrToLower(iface.pci_address), iface.name);
  if (!fresh) {
    a.add(a.ifield(i, "pciAddress"),
          sk::StrCat("interface ", iface.name, " PCI address (",
                     iface.pci_address, ") is already used by interface ",
                     it->second));
  }
}

// Rule 5: boot order positive and unique across disks and interfaces.
void InterfaceBootOrder(Admission& a, size_t i) {
  const Interface& iface = a.vmi.interfaces[i];
  if (!iface.boot_order.has_value()) return;
  if (*iface.boot_order < 1) {
    a.add(a.ifield(i, "bootOrder"),
          sk::StrCat(a.ifield(i, "bootOrder"),
                     " must have a value greater than 0 (got ",
                     *iface.boot_order, ")"));
    return;
  }
  auto [it, fresh] = a.boot_orders.emplace(*iface.boot_order, a.ifield(i, ""));
  if (!fresh) {
    a.add(
        a.ifield(i, "bootOrder"),
        sk::StrCat("Boot order for ", a.ifield(i, "bootOrder"), " (",
                   *iface.boot_order, ") already set for a different device (",
                   it->second, ")."));
  }
}

// Rule 6: masquerade only on the pod network; SR-IOV never on it.
void InterfaceNetworkKind(Admission& a, size_t i) {
  const Interface& iface = a.vmi.interfaces[i];
  const Network* net = a.vmi.FindNetwork(iface.name);
  if (net == nullptr) return;  // reported by OneToOne
  if (iface.has_binding("masquerade") && !net->pod) {
    a.add(a.ifield(i, "masquerade"),
          sk::StrCat("Masquerade interface only implemented with pod "
                     "network (interface \"",
                     iface.name, "\")"));
  }
  if (iface.has_binding("sriov") && net->pod) {
    a.add(a.ifield(i, "sriov"),
          sk::StrCat("SR-IOV interface \"", iface.name,
                     "\" is connected to the pod network; SR-IOV needs a "
                     "multus network whose NetworkAttachmentDefinition names "
                     "an SR-IOV resource (k8s.v1.cni.cncf.io/resourceName)"));
  }
}

// Rules 4-6, per interface in turn (KubeVirt reports them interface by
// interface).
constexpr void (*kInterfaceRules[])(Admission&, size_t) = {
    InterfaceState, InterfaceMac, InterfacePciAddress, InterfaceBootOrder,
    InterfaceNetworkKind};

void PerInterface(Admission& a) {
  for (size_t i = 0; i < a.vmi.disks.size(); ++i) {
    const Disk& d = a.vmi.disks[i];
    if (d.boot_order.has_value() && *d.boot_order > 0) {
      a.boot_orders.emplace(
          *d.boot_order, sk::StrCat(a.spec, ".domain.devices.disks[", i, "]"));
    }
  }
  for (size_t i = 0; i < a.vmi.interfaces.size(); ++i) {
    for (auto rule : kInterfaceRules) rule(a, i);
  }
}

// Rule 7: a resourceClaim network needs an sriov or binding-plugin interface.
void ResourceClaims(Admission& a) {
  for (size_t i = 0; i < a.vmi.networks.size(); ++i) {
    const Network& n = a.vmi.networks[i];
    if (!n.resource_claim) continue;
    const Interface* iface = a.vmi.FindInterface(n.name);
    if (iface != nullptr && !iface->has_binding("sriov") &&
        !iface->has_binding("binding")) {
      a.add(a.nfield(i, "resourceClaim"),
            sk::StrCat("network \"", n.name,
                       "\" with a resourceClaim source requires an sriov or "
                       "binding plugin interface"));
    }
  }
}

constexpr void (*kVmiRules[])(Admission&) = {
    InterfaceNames,       BindingMethods, NetworkNamesAndSources,
    DefaultNetworkCounts, OneToOne,       PerInterface,
    ResourceClaims};

}  // namespace

std::vector<Cause> ValidateVmi(const Vmi& vmi) {
  Admission a(vmi);
  for (auto rule : kVmiRules) rule(a);
  return std::move(a.causes);
}

absl::Status AdmitVmi(const Vmi& vmi) {
  std::vector<Cause> causes = ValidateVmi(vmi);
  if (causes.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  parts.reserve(causes.size());
  for (const Cause& c : causes) parts.push_back(c.field + ": " + c.message);
  return absl::InvalidArgumentError(
      sk::StrCat("admission webhook \"virtualmachineinstances-create-validator."
                 "kubevirt.io\" denied the request: ",
                 absl::StrJoin(parts, "; ")));
}

}  // namespace sk::kubevirt
