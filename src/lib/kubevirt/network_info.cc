#include "lib/kubevirt/network_info.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "yaml-cpp/yaml.h"

#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"
#include "lib/sysfs/pci.h"

namespace sk::kubevirt {
namespace {

using ojson = nlohmann::ordered_json;

absl::StatusOr<ojson> ParseJson(std::string_view text, std::string_view what) {
  absl::StatusOr<ojson> j =
      ParseJsonBounded<ojson>(text, {.max_bytes = kMaxInputFileBytes});
  if (!j.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(what, ": ", j.status().message()));
  }
  return j;
}

std::string StringField(const ojson& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<std::vector<NetworkStatusEntry>> FromArray(const ojson& arr) {
  if (!arr.is_array()) {
    return absl::InvalidArgumentError(
        sk::StrCat("network-status: want a JSON array, got ", arr.type_name()));
  }
  std::vector<NetworkStatusEntry> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    const ojson& e = arr[i];
    const std::string where = sk::StrCat("network-status[", i, "]");
    if (!e.is_object()) {
      return absl::InvalidArgumentError(sk::StrCat(where, ": want an object"));
    }
    for (const char* k : {"name", "interface", "mac"}) {
      if (e.contains(k) && !e[k].is_string()) {
        return absl::InvalidArgumentError(
            sk::StrCat(where, ".", k, ": want a string, got ", e[k].dump()));
      }
    }
    NetworkStatusEntry s;
    s.name = StringField(e, "name");
    s.interface = StringField(e, "interface");
    s.mac = StringField(e, "mac");
    if (e.contains("mtu")) {
      if (!e["mtu"].is_number_integer()) {
        return absl::InvalidArgumentError(
            sk::StrCat(where, ".mtu: want an integer, got ", e["mtu"].dump()));
      }
      s.mtu = e["mtu"].get<int64_t>();
    }
    if (e.contains("default")) {
      if (!e["default"].is_boolean()) {
        return absl::InvalidArgumentError(sk::StrCat(
            where, ".default: want true or false, got ", e["default"].dump()));
      }
      s.default_route = e["default"].get<bool>();
    }
    if (e.contains("device-info")) {
      if (!e["device-info"].is_object()) {
        return absl::InvalidArgumentError(
            sk::StrCat(where, ".device-info: want an object, got ",
                       e["device-info"].dump()));
      }
      s.device_info = e["device-info"];
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool IsOrdinalName(std::string_view s) {
  if (s.size() < 4 || s.substr(0, 3) != "net") return false;
  for (char c : s.substr(3)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<NetworkStatusEntry>> ParseNetworkStatus(
    std::string_view text) {
  std::string_view t =
      sk::ToStd(absl::StripLeadingAsciiWhitespace(sk::ToAbsl(text)));
  if (!t.empty() && t[0] == '[') {
    SK_ASSIGN_OR_RETURN(ojson arr, ParseJson(t, "network-status"));
    return FromArray(arr);
  }
  // A Pod object: read the annotation.
  absl::StatusOr<YAML::Node> loaded = LoadYamlDocument(text);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat("network-status: ", loaded.status().message()));
  }
  std::string value;
  try {
    const YAML::Node& pod = *loaded;
    // yaml-cpp: Type() on a missing key's node throws; IsDefined() first.
    const YAML::Node meta =
        pod.IsMap() ? pod["metadata"] : YAML::Node(YAML::NodeType::Null);
    const YAML::Node ann = meta.IsDefined() && meta.IsMap()
                               ? meta["annotations"]
                               : YAML::Node(YAML::NodeType::Null);
    const YAML::Node value_node = ann.IsDefined() && ann.IsMap()
                                      ? ann[kNetworkStatusAnnotation]
                                      : YAML::Node(YAML::NodeType::Null);
    if (!value_node.IsDefined() || !value_node.IsScalar()) {
      return absl::NotFoundError(sk::StrCat(
          "pod has no metadata.annotations[\"", kNetworkStatusAnnotation,
          "\"] (want the annotation value, a JSON array, or a Pod "
          "carrying it)"));
    }
    value = value_node.Scalar();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        sk::StrCat("network-status: not valid YAML or JSON: ", e.what()));
  }
  SK_ASSIGN_OR_RETURN(
      ojson arr,
      ParseJson(value, sk::StrCat("annotation ", kNetworkStatusAnnotation)));
  return FromArray(arr);
}

PodIfaceNaming DetectPodIfaceNaming(
    const std::vector<NetworkStatusEntry>& status) {
  for (const NetworkStatusEntry& s : status) {
    if (IsOrdinalName(s.interface)) return PodIfaceNaming::kOrdinal;
  }
  return PodIfaceNaming::kHashed;
}

NetworkInfo BuildNetworkInfo(const Vmi& vmi,
                             const std::vector<NetworkStatusEntry>& status) {
  NetworkInfo info;
  const PodIfaceNaming naming = DetectPodIfaceNaming(status);
  std::vector<std::pair<std::string, std::string>> names =
      PodInterfaceNames(vmi, naming);
  std::sort(names.begin(), names.end());
  ojson ifaces = ojson::array();
  for (const auto& [net, pod_iface] : names) {
    const Interface* iface = vmi.FindInterface(net);
    if (iface == nullptr || !iface->has_binding("sriov") ||
        iface->state == "absent") {
      continue;
    }
    const NetworkStatusEntry* entry = nullptr;
    for (const NetworkStatusEntry& s : status) {
      if (s.interface == pod_iface) entry = &s;
    }
    if (entry == nullptr) {
      info.warnings.push_back(
          sk::StrCat("network \"", net, "\": pod interface ", pod_iface,
                     " is not in network-status (not attached yet?)"));
      continue;
    }
    if (entry->device_info.is_null()) {
      info.warnings.push_back(sk::StrCat(
          "network \"", net, "\": network-status entry ", entry->name, " (",
          pod_iface,
          ") has no device-info; the CNI plugin or Multus did not publish "
          "the VF's PCI address"));
      continue;
    }
    ojson e;
    e["network"] = net;
    e["deviceInfo"] = entry->device_info;
    if (!entry->mac.empty()) e["mac"] = entry->mac;
    if (entry->mtu > 0) e["mtu"] = entry->mtu;
    ifaces.push_back(std::move(e));
  }
  info.annotation = ojson::object();
  info.annotation["interfaces"] = std::move(ifaces);
  return info;
}

absl::StatusOr<std::map<std::string, std::string>> ParseNetworkInfoPci(
    std::string_view text) {
  std::map<std::string, std::string> out;
  if (absl::StripAsciiWhitespace(sk::ToAbsl(text)).empty()) return out;
  SK_ASSIGN_OR_RETURN(ojson j, ParseJson(text, "network-info"));
  if (!j.is_object()) {
    return absl::InvalidArgumentError("network-info: want a JSON object");
  }
  if (!j.contains("interfaces")) return out;
  const ojson& arr = j["interfaces"];
  if (!arr.is_array()) {
    return absl::InvalidArgumentError(
        "network-info.interfaces: want a JSON array");
  }
  for (size_t i = 0; i < arr.size(); ++i) {
    const ojson& e = arr[i];
    const std::string where = sk::StrCat("network-info.interfaces[", i, "]");
    if (!e.is_object() || !e.contains("network") || !e["network"].is_string()) {
      return absl::InvalidArgumentError(
          sk::StrCat(where, ".network: want a string"));
    }
    const std::string net = e["network"].get<std::string>();
    const ojson* pci = nullptr;
    if (e.contains("deviceInfo") && e["deviceInfo"].is_object() &&
        e["deviceInfo"].contains("pci") && e["deviceInfo"]["pci"].is_object()) {
      pci = &e["deviceInfo"]["pci"];
    }
    if (pci == nullptr || !pci->contains("pci-address") ||
        !(*pci)["pci-address"].is_string()) {
      // Not a PCI device (e.g. vhost-user via a binding plugin): no mapping.
      continue;
    }
    const std::string addr = (*pci)["pci-address"].get<std::string>();
    absl::StatusOr<sysfs::PciAddress> parsed = sysfs::PciAddress::Parse(addr);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          sk::StrCat(where, ".deviceInfo.pci.pci-address (network \"", net,
                     "\"): ", parsed.status().message()));
    }
    if (!out.emplace(net, parsed->ToString()).second) {
      return absl::InvalidArgumentError(
          sk::StrCat(where, ": network \"", net, "\" listed twice"));
    }
  }
  return out;
}

}  // namespace sk::kubevirt
