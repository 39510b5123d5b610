#include "lib/netattach/status.h"

#include <arpa/inet.h>

#include <algorithm>

namespace sk::netattach {
namespace {

// "10.1.0.5/24" -> "10.1.0.5"; IPv6 in the canonical form Go prints.
std::string BareAddress(const std::string& cidr) {
  std::string addr = cidr.substr(0, cidr.find('/'));
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (::inet_pton(AF_INET, addr.c_str(), buf) == 1 &&
      ::inet_ntop(AF_INET, buf, out, sizeof(out)) != nullptr)
    return out;
  if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1 &&
      ::inet_ntop(AF_INET6, buf, out, sizeof(out)) != nullptr)
    return out;
  return addr;
}

bool IsDefaultRoute(const nlohmann::json& route) {
  if (!route.is_object()) return false;
  auto dst = route.find("dst");
  if (dst == route.end() || !dst->is_string()) return false;
  std::string d = dst->get<std::string>();
  if (d.size() < 2 || d.substr(d.size() - 2) != "/0") return false;
  unsigned char buf[16];
  std::string a = d.substr(0, d.size() - 2);
  if (::inet_pton(AF_INET, a.c_str(), buf) == 1)
    return std::all_of(buf, buf + 4, [](unsigned char c) { return c == 0; });
  if (::inet_pton(AF_INET6, a.c_str(), buf) == 1)
    return std::all_of(buf, buf + 16, [](unsigned char c) { return c == 0; });
  return false;
}

std::string Str(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

nlohmann::ordered_json Dns(const nlohmann::json& result) {
  nlohmann::ordered_json dns = nlohmann::ordered_json::object();
  auto it = result.find("dns");
  if (it == result.end() || !it->is_object()) return dns;
  for (const char* list : {"nameservers", "domain", "search", "options"}) {
    auto v = it->find(list);
    if (v == it->end()) continue;
    if (v->is_string() && !v->get<std::string>().empty()) dns[list] = *v;
    if (v->is_array() && !v->empty()) {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& s : *v)
        if (s.is_string()) arr.push_back(s.get<std::string>());
      if (!arr.empty()) dns[list] = arr;
    }
  }
  return dns;
}

nlohmann::ordered_json DeviceInfo(const nlohmann::json& dev) {
  // The Go DeviceInfo struct's field order; keys it does not know are
  // dropped, as json.Unmarshal into it drops them.
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const char* key :
       {"type", "version", "pci", "vdpa", "vhost-user", "memif"}) {
    auto it = dev.find(key);
    if (it != dev.end() && !it->is_null()) out[key] = *it;
  }
  return out;
}

}  // namespace

std::vector<nlohmann::ordered_json> NetworkStatusEntries(
    const std::string& network_name, const nlohmann::json& result,
    bool is_default, const std::optional<nlohmann::json>& device_info) {
  std::vector<std::string> gateways;
  if (auto routes = result.find("routes");
      routes != result.end() && routes->is_array()) {
    for (const auto& r : *routes) {
      std::string gw = Str(r, "gw");
      if (IsDefaultRoute(r) && !gw.empty()) gateways.push_back(BareAddress(gw));
    }
  }
  struct Ip {
    std::optional<int64_t> iface;
    std::string addr;
  };
  std::vector<Ip> ips;
  if (auto it = result.find("ips"); it != result.end() && it->is_array()) {
    for (const auto& ip : *it) {
      std::string a = Str(ip, "address");
      if (a.empty()) continue;
      Ip e{std::nullopt, BareAddress(a)};
      if (auto idx = ip.find("interface");
          idx != ip.end() && idx->is_number_integer())
        e.iface = idx->get<int64_t>();
      ips.push_back(std::move(e));
    }
  }
  auto entry = [&](const nlohmann::json* iface, std::optional<int64_t> index,
                   bool dflt) {
    nlohmann::ordered_json e = nlohmann::ordered_json::object();
    e["name"] = network_name;
    if (iface != nullptr && !Str(*iface, "name").empty())
      e["interface"] = Str(*iface, "name");
    nlohmann::ordered_json addrs = nlohmann::ordered_json::array();
    for (const auto& ip : ips)
      if (!index || ip.iface == index) addrs.push_back(ip.addr);
    if (!addrs.empty()) e["ips"] = addrs;
    if (iface != nullptr) {
      if (!Str(*iface, "mac").empty()) e["mac"] = Str(*iface, "mac");
      if (auto mtu = iface->find("mtu"); mtu != iface->end() &&
                                         mtu->is_number_integer() &&
                                         mtu->get<int64_t>() > 0)
        e["mtu"] = mtu->get<int64_t>();
    }
    if (dflt) e["default"] = true;
    e["dns"] = Dns(result);
    if (device_info && device_info->is_object())
      e["device-info"] = DeviceInfo(*device_info);
    if (!gateways.empty()) e["gateway"] = gateways;
    return e;
  };
  std::vector<nlohmann::ordered_json> out;
  if (auto it = result.find("interfaces");
      it != result.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::json& iface = (*it)[i];
      if (Str(iface, "sandbox").empty()) continue;
      out.push_back(
          entry(&iface, static_cast<int64_t>(i), is_default && out.empty()));
    }
  }
  if (out.empty()) out.push_back(entry(nullptr, std::nullopt, is_default));
  return out;
}

std::string NetworkStatusJson(const std::vector<nlohmann::ordered_json>& all) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& e : all) arr.push_back(e);
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sk::netattach
