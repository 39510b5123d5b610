#include "lib/kubevirt/network_info.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "yaml-cpp/yaml.h"

#include "lib/base/field_reader.h"
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

absl::StatusOr<std::vector<NetworkStatusEntry>> FromArray(const ojson& arr) {
  const OrderedFieldReader root(arr, "network-status");
  SK_ASSIGN_OR_RETURN(std::vector<OrderedFieldReader> items, root.AsList());
  std::vector<NetworkStatusEntry> out;
  for (const OrderedFieldReader& e : items) {
    SK_RETURN_IF_ERROR(e.AsObject().status());
    NetworkStatusEntry s;
    SK_ASSIGN_OR_RETURN(std::optional<std::string> name,
                        e.OptionalString("name"));
    SK_ASSIGN_OR_RETURN(std::optional<std::string> iface,
                        e.OptionalString("interface"));
    SK_ASSIGN_OR_RETURN(std::optional<std::string> mac,
                        e.OptionalString("mac"));
    s.name = name.value_or("");
    s.interface = iface.value_or("");
    s.mac = mac.value_or("");
    SK_ASSIGN_OR_RETURN(std::optional<int64_t> mtu,
                        e.OptionalInt("mtu", INT64_MIN, INT64_MAX));
    s.mtu = mtu.value_or(0);
    SK_ASSIGN_OR_RETURN(std::optional<bool> dflt, e.OptionalBool("default"));
    s.default_route = dflt.value_or(false);
    SK_ASSIGN_OR_RETURN(OrderedFieldReader info, e.Object("device-info"));
    if (info.present()) s.device_info = info.json();
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
  const OrderedFieldReader root(j, "network-info");
  SK_RETURN_IF_ERROR(root.AsObject().status());
  SK_ASSIGN_OR_RETURN(std::vector<OrderedFieldReader> items,
                      root.List("interfaces"));
  for (const OrderedFieldReader& e : items) {
    SK_RETURN_IF_ERROR(e.AsObject().status());
    SK_ASSIGN_OR_RETURN(const std::string net, e.String("network"));
    const OrderedFieldReader addr_field =
        e.Child("deviceInfo").Child("pci").Child("pci-address");
    if (!addr_field.json().is_string()) {
      // Not a PCI device (e.g. vhost-user via a binding plugin): no mapping.
      continue;
    }
    const std::string addr = addr_field.json().get<std::string>();
    absl::StatusOr<sysfs::PciAddress> parsed = sysfs::PciAddress::Parse(addr);
    if (!parsed.ok()) {
      return addr_field.Error(
          sk::StrCat("(network \"", net, "\"): ", parsed.status().message()));
    }
    if (!out.emplace(net, parsed->ToString()).second) {
      return e.Error(sk::StrCat("network \"", net, "\" listed twice"));
    }
  }
  return out;
}

}  // namespace sk::kubevirt
