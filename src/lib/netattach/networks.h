#pragma once

// The pod annotation `k8s.v1.cni.cncf.io/networks` (and the one-element
// `v1.multus-cni.io/default-network`), parsed and validated as Multus does
// (multus-cni pkg/k8sclient/k8sclient.go parsePodNetworkAnnotation and
// parsePodNetworkObjectName).
//
// Two forms; a value containing any of `[`, `{` or `"` is JSON:
//   text:  "sriov-a, other-ns/sriov-b@sriov0"
//   JSON:  [{"name":"sriov-a","interface":"net5","mac":"02:00:00:00:00:01",
//            "ips":["10.1.0.5/24"],"default-route":["10.1.0.1"],
//            "cni-args":{"foo":"bar"},"deviceID":"0000:03:02.0"}]
//
// Every error is InvalidArgument and names the pod and the element. The
// JSON form is read through sk::FieldReader, so its errors have that shape
// (the element's JSON path, what was expected, the value):
//   "pod default/vm1: annotation k8s.v1.cni.cncf.io/networks: [1].mac:
//    expected a MAC address, got \"zz\""
// and the text form names the element's index and text:
//   "pod default/vm1: network 2 (\"a/b/c\"): more than one '/'"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk::netattach {

inline constexpr char kNetworksAnnotation[] = "k8s.v1.cni.cncf.io/networks";
inline constexpr char kDefaultNetworkAnnotation[] =
    "v1.multus-cni.io/default-network";
// The value may be at most this long (the API caps all annotations of an
// object at 256 KiB) and hold at most kMaxNetworkElements elements.
inline constexpr size_t kMaxNetworksAnnotationBytes = size_t{256} << 10;
inline constexpr size_t kMaxNetworkElements = 128;

// One NetworkSelectionElement (network-attachment-definition-client
// pkg/apis/k8s.cni.cncf.io/v1/types.go). Empty/absent fields are empty.
struct NetworkSelection {
  std::string name;
  std::string ns;         // the pod's namespace when not given
  std::string interface;  // "interface", legacy "interfaceRequest"
  std::string mac;
  std::vector<std::string> ips;
  std::vector<std::string> default_route;
  bool has_default_route = false;          // the key given (even as [])
  std::optional<nlohmann::json> cni_args;  // an object
  std::string device_id;
  std::optional<nlohmann::json> bandwidth;      // an object
  std::optional<nlohmann::json> port_mappings;  // an array
  std::string infiniband_guid;
};

// Parses `value` for the pod `pod_ns`/`pod_name`; elements without a
// namespace get `default_ns` (the pod's namespace for the networks
// annotation, multusNamespace for the default-network one). An empty value
// is an empty list.
absl::StatusOr<std::vector<NetworkSelection>> ParseNetworkSelections(
    std::string_view value, const std::string& pod_ns,
    const std::string& pod_name, const std::string& default_ns);

// ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ and at most 63 characters.
bool IsDns1123Label(std::string_view s);
// A DNS-1123 subdomain: labels as above joined by '.', at most 253.
bool IsDns1123Subdomain(std::string_view s);
// The kernel's rules for a new link name (IFNAMSIZ-1 = 15 bytes, no '/',
// no whitespace, not "." or "..", not empty).
bool IsValidIfName(std::string_view s);
// Go's net.ParseMAC forms: 6, 8 or 20 bytes with ':' or '-', or dotted
// groups of four hex digits.
bool IsValidHardwareAddr(std::string_view s);
// An IPv4/IPv6 address, or with a '/' a CIDR (as net.ParseCIDR).
bool IsValidIpOrCidr(std::string_view s);

}  // namespace sk::netattach
