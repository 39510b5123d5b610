#pragma once
// The `kubevirt.io/network-info` pod annotation, which KubeVirt's VMI
// controller writes once Multus has published `k8s.v1.cni.cncf.io/
// network-status`, and which virt-launcher reads through the downward API
// at /etc/podinfo/network-info (kubevirt/kubevirt docs/network/sriov.md;
// the reader is
// pkg/virt-launcher/virtwrap/device/hostdevice/sriov/pcipool_netstatus.go):
//
//   {"interfaces":[{"network":"sriov-net",
//     "deviceInfo":{"type":"pci","version":"1.0.0",
//                   "pci":{"pci-address":"0000:65:00.3"}},
//     "mac":"de:ad:00:00:be:af","mtu":1500}]}
//
// One entry per SR-IOV interface of the VMI whose pod interface (named by
// the scheme in launcher_pod.h) appears in network-status and carries
// device-info; sorted by network name. `deviceInfo` is copied from
// network-status as is (key order kept); `mac` and `mtu` only when present.
//
//   SK_ASSIGN_OR_RETURN(auto status, ParseNetworkStatus(text));
//   SK_ASSIGN_OR_RETURN(NetworkInfo info, BuildNetworkInfo(vmi, status));
//   std::string value = info.annotation.dump();
//
// Thread safety: pure functions.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/kubevirt/launcher_pod.h"
#include "lib/kubevirt/vmi.h"

namespace sk::kubevirt {

// One element of Multus' network-status (k8snetworkplumbingwg
// NetworkStatus), the fields used here.
struct NetworkStatusEntry {
  std::string name;       // "ns/nad" (or the cluster default network)
  std::string interface;  // pod interface name, e.g. "pod16477688c0e"
  std::string mac;
  int64_t mtu = 0;                     // 0 when absent
  bool default_route = false;          // "default": true (the primary network)
  nlohmann::ordered_json device_info;  // "device-info", null when absent
};

// Accepts the annotation value (a JSON array) or a whole Pod object (YAML
// or JSON) from which metadata.annotations["k8s.v1.cni.cncf.io/
// network-status"] is read. InvalidArgument naming the element and field
// on malformed input; NotFound when a Pod lacks the annotation.
absl::StatusOr<std::vector<NetworkStatusEntry>> ParseNetworkStatus(
    std::string_view text);

// The naming scheme the pod was created with: ordinal when any
// network-status interface matches ^net[0-9]+$ (KubeVirt's detection),
// otherwise hashed.
PodIfaceNaming DetectPodIfaceNaming(
    const std::vector<NetworkStatusEntry>& status);

struct NetworkInfo {
  nlohmann::ordered_json annotation;  // {"interfaces":[...]}
  // SR-IOV networks that could not be included, one line each naming the
  // network, the pod interface and the reason (absent from network-status,
  // or no device-info: the NAD's CNI or Multus did not publish it).
  std::vector<std::string> warnings;
};

// Builds the annotation for the SR-IOV interfaces of `vmi` (not marked
// absent). Never fails for a well-formed input: missing interfaces become
// warnings, as KubeVirt leaves them out and retries later.
NetworkInfo BuildNetworkInfo(const Vmi& vmi,
                             const std::vector<NetworkStatusEntry>& status);

// Parses a network-info annotation/file into network name -> PCI address
// (deviceInfo.pci["pci-address"]). Empty or whitespace-only text gives an
// empty map. InvalidArgument naming the entry on malformed JSON or
// addresses, or a network listed twice.
absl::StatusOr<std::map<std::string, std::string>> ParseNetworkInfoPci(
    std::string_view text);

}  // namespace sk::kubevirt
