#pragma once

// The pod's `k8s.v1.cni.cncf.io/network-status` annotation, built from the
// delegates' results as Multus does (network-attachment-definition-client
// pkg/utils/net-attach-def.go CreateNetworkStatuses; the struct is
// pkg/apis/k8s.cni.cncf.io/v1/types.go NetworkStatus):
//
//   [{"name":"cbr0","interface":"eth0","ips":["10.244.1.5"],
//     "mac":"0a:58:0a:f4:01:05","default":true,"dns":{},
//     "gateway":["10.244.1.1"]},
//    {"name":"ns1/sriov-a","interface":"net1","ips":["10.56.217.2"],
//     "mac":"ca:fe:c0:ff:ee:00","mtu":1500,"dns":{},
//     "device-info":{"type":"pci","version":"1.1.0","pci":{...}}}]
//
// Keys come in the Go struct's order (name, interface, ips, mac, mtu,
// default, dns, device-info, gateway); empty ones are omitted as its
// `omitempty` tags do, except `dns`, which is always present.
//   * one entry per result interface with a `sandbox` (a pod interface);
//     `ips` are the addresses whose `interface` index points at it, bare
//     (no prefix); with no sandbox interface, one entry with every address.
//   * `default` is true on the cluster network's first entry only.
//   * `gateway` lists the gateways of the result's default routes
//     (0.0.0.0/0, ::/0).
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace sk::netattach {

inline constexpr char kNetworkStatusAnnotation[] =
    "k8s.v1.cni.cncf.io/network-status";

// The entries for one delegate's ADD result (`result` in any CNI version).
std::vector<nlohmann::ordered_json> NetworkStatusEntries(
    const std::string& network_name, const nlohmann::json& result,
    bool is_default, const std::optional<nlohmann::json>& device_info);

// The annotation value: the entries as a JSON array, compact.
std::string NetworkStatusJson(const std::vector<nlohmann::ordered_json>& all);

}  // namespace sk::netattach
