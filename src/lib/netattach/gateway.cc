#include "lib/netattach/gateway.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/net/addr.h"
#include "lib/net/link_ops.h"
#include "lib/net/netns.h"
#include "lib/netlink/kernel_socket.h"
#include "lib/netlink/message.h"

namespace sk::netattach {

absl::Status PlanGateways(std::vector<GatewayPlan>& plans) {
  bool configured = false;
  int v4 = 0, v6 = 0;
  for (const GatewayPlan& p : plans) {
    if (!p.request) continue;
    configured = true;
    for (const std::string& gw : *p.request) {
      absl::StatusOr<net::IpAddress> ip = net::ParseIp(gw);
      if (!ip.ok())
        return absl::InvalidArgumentError(
            sk::StrCat("default-route: \"", gw, "\" is not an IP address"));
      (ip->family == AF_INET ? v4 : v6)++;
    }
  }
  if (!configured) return absl::OkStatus();
  if (v4 > 1 || v6 > 1)
    return absl::InvalidArgumentError(
        sk::StrCat("multus does not support ECMP for default-route (", v4,
                   " IPv4 and ", v6, " IPv6 gateways requested)"));
  for (GatewayPlan& p : plans) {
    p.filter_v4 = p.filter_v6 = true;
    if (!p.request) continue;
    for (const std::string& gw : *p.request) {
      absl::StatusOr<net::IpAddress> ip = net::ParseIp(gw);
      (ip->family == AF_INET ? p.filter_v4 : p.filter_v6) = false;
    }
  }
  return absl::OkStatus();
}

GatewayEdit GatewayEditFor(const GatewayPlan& plan) {
  GatewayEdit e;
  const bool requested = plan.request && !plan.request->empty();
  // multus.go: each family is marked for deletion when filtered, or when
  // this delegate requests a gateway (of any family).
  e.drop_v4 = plan.filter_v4 || requested;
  e.drop_v6 = plan.filter_v6 || requested;
  e.delete_kernel_defaults = e.drop_v4 || e.drop_v6;
  if (requested) e.add = *plan.request;
  return e;
}

namespace {
bool IsDefaultDst(const nlohmann::json& r, bool v4, bool v6) {
  auto it = r.find("dst");
  if (it == r.end() || !it->is_string()) return false;
  const std::string& d = it->get_ref<const std::string&>();
  return (v4 && d == "0.0.0.0/0") || (v6 && d == "::/0");
}
}  // namespace

void DropDefaultRoutes(nlohmann::json& result, bool v4, bool v6) {
  auto it = result.find("routes");
  if (it == result.end() || !it->is_array()) return;
  nlohmann::json kept = nlohmann::json::array();
  for (auto& r : *it)
    if (!IsDefaultDst(r, v4, v6)) kept.push_back(std::move(r));
  if (kept.empty())
    result.erase("routes");
  else
    *it = std::move(kept);
}

void AddDefaultRoutes(nlohmann::json& result,
                      const std::vector<std::string>& gateways) {
  if (gateways.empty()) return;
  nlohmann::json& routes = result["routes"];
  if (!routes.is_array()) routes = nlohmann::json::array();
  for (const std::string& gw : gateways)
    routes.push_back(
        {{"dst", gw.find(':') != std::string::npos ? "::/0" : "0.0.0.0/0"},
         {"gw", gw}});
}

namespace {

// Deletes every main-table route without a destination out of `index`.
absl::Status DeleteDefaultRoutes(netlink::Socket& sock, int index,
                                 const std::string& what) {
  netlink::MessageBuilder dump(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
  dump.PutHeader(rtmsg{});
  SK_ASSIGN_OR_RETURN(std::vector<netlink::Message> routes,
                      sock.Transact(std::move(dump).Build()));
  for (const netlink::Message& m : routes) {
    if (m.type() != RTM_NEWROUTE) continue;
    SK_ASSIGN_OR_RETURN(rtmsg rt, m.Header<rtmsg>());
    if (rt.rtm_dst_len != 0) continue;
    SK_ASSIGN_OR_RETURN(netlink::AttrList attrs, m.Attributes(sizeof(rtmsg)));
    uint32_t table = rt.rtm_table;
    if (const netlink::Attr* t = attrs.Find(RTA_TABLE)) {
      SK_ASSIGN_OR_RETURN(table, t->AsU32());
    }
    if (table != RT_TABLE_MAIN) continue;
    const netlink::Attr* oif = attrs.Find(RTA_OIF);
    if (oif == nullptr) continue;
    SK_ASSIGN_OR_RETURN(uint32_t out, oif->AsU32());
    if (static_cast<int>(out) != index) continue;
    netlink::MessageBuilder del(RTM_DELROUTE, NLM_F_REQUEST);
    del.PutHeader(rt);
    del.PutU32(RTA_TABLE, table);
    del.PutU32(RTA_OIF, out);
    if (const netlink::Attr* gw = attrs.Find(RTA_GATEWAY))
      del.PutAttr(RTA_GATEWAY, gw->payload.data(), gw->payload.size());
    if (const netlink::Attr* prio = attrs.Find(RTA_PRIORITY)) {
      SK_ASSIGN_OR_RETURN(uint32_t p, prio->AsU32());
      del.PutU32(RTA_PRIORITY, p);
    }
    absl::StatusOr<std::vector<netlink::Message>> r =
        sock.Transact(std::move(del).Build());
    if (!r.ok() && !absl::IsNotFound(r.status()))
      return absl::Status(r.status().code(),
                          sk::StrCat(what, ": delete default route: ",
                                     ToStd(r.status().message())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyKernelGatewayEdit(const std::string& netns_path,
                                    const std::string& ifname,
                                    const GatewayEdit& edit) {
  if (edit.empty()) return absl::OkStatus();
  const std::string what = sk::StrCat(netns_path, " ", ifname);
  std::vector<net::IpAddress> gws;
  for (const std::string& gw : edit.add) {
    absl::StatusOr<net::IpAddress> ip = net::ParseIp(gw);
    if (!ip.ok())
      return absl::InvalidArgumentError(
          sk::StrCat(what, ": default-route \"", gw, "\" is not an address"));
    gws.push_back(*ip);
  }
  SK_ASSIGN_OR_RETURN(UniqueFd ns, net::OpenNetns(netns_path));
  return net::RunInNetns(ns.get(), [&]() -> absl::Status {
    unsigned index = ::if_nametoindex(ifname.c_str());
    if (index == 0)
      return absl::NotFoundError(sk::StrCat(what, ": no such interface"));
    SK_ASSIGN_OR_RETURN(std::unique_ptr<netlink::KernelSocket> sock,
                        netlink::KernelSocket::Open());
    if (edit.delete_kernel_defaults)
      SK_RETURN_IF_ERROR(
          DeleteDefaultRoutes(*sock, static_cast<int>(index), what));
    net::LinkOps ops(*sock);
    for (const net::IpAddress& gw : gws) {
      net::IpPrefix dst;
      dst.addr.family = gw.family;
      SK_RETURN_IF_ERROR(
          ops.AddRoute({static_cast<int>(index), ifname}, dst, gw));
    }
    return absl::OkStatus();
  });
}

}  // namespace sk::netattach
