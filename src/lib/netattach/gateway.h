#pragma once

// The `default-route` key of a network selection element, applied as Multus
// does (multus-cni pkg/types/conf.go CheckGatewayConfig, pkg/multus/multus.go
// CmdAdd, pkg/netutils/netutils.go):
//
//   * When any delegate of a pod carries a `default-route` (even an empty
//     list), every delegate is marked to lose its default routes per address
//     family, except the one whose request names a gateway of that family.
//     More than one IPv4 or more than one IPv6 gateway in total is an error
//     ("multus does not support ECMP for default-route").
//   * After a delegate's ADD (when its result has interfaces or IPs): a
//     delegate marked for a family, or one with a non-empty request, loses
//     every main-table default route out of its interface in the pod netns
//     (all families, as Multus's DeleteDefaultGW), and the default routes
//     of the marked families are dropped from its cached result; then a
//     requested gateway is added as a default route out of the interface,
//     and to the cached result.
//   * network-status is built from the delegate's own ADD result, and
//     `default` stays with the cluster network, as in Multus.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace sk::netattach {

struct GatewayPlan {
  // The element's `default-route`, when the key was given.
  std::optional<std::vector<std::string>> request;
  // Set by PlanGateways: drop this delegate's IPv4 / IPv6 default routes.
  bool filter_v4 = false;
  bool filter_v6 = false;
};

// Marks the filters (CheckGatewayConfig). No request anywhere: nothing
// marked. InvalidArgument for an unparsable gateway or ECMP.
absl::Status PlanGateways(std::vector<GatewayPlan>& plans);

// What to do after a delegate's ADD.
struct GatewayEdit {
  bool delete_kernel_defaults = false;    // every default route out of ifname
  bool drop_v4 = false, drop_v6 = false;  // from the cached result
  std::vector<std::string> add;           // gateways to add
  bool empty() const { return !delete_kernel_defaults && add.empty(); }
};
GatewayEdit GatewayEditFor(const GatewayPlan& plan);

// The cached-result edits (Multus's DeleteDefaultGWCache / AddDefaultGWCache):
// removes routes to 0.0.0.0/0 (v4) or ::/0 (v6); appends {"dst","gw"} ones.
void DropDefaultRoutes(nlohmann::json& result, bool v4, bool v6);
void AddDefaultRoutes(nlohmann::json& result,
                      const std::vector<std::string>& gateways);

// The kernel side, in the netns at `netns_path`: deletes every main-table
// route without a destination out of `ifname` when `edit.delete_kernel_
// defaults`, then adds a default route via each of `edit.add` out of it.
// Errors name the netns, interface and route.
absl::Status ApplyKernelGatewayEdit(const std::string& netns_path,
                                    const std::string& ifname,
                                    const GatewayEdit& edit);

}  // namespace sk::netattach
