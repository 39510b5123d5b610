#include "lib/cni/result.h"

#include "lib/base/json.h"
#include "lib/cni/error.h"
#include "lib/cni/ipam.h"
#include "lib/cni/version.h"
#include "lib/net/addr.h"

namespace sk::cni {
namespace {
using nlohmann::json;

absl::Status Decode(const std::string& what) {
  return CniError(kCniDecodeFailure, "failed to decode result: " + what);
}

std::string Str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

absl::StatusOr<Result> ParseResult(const json& j) {
  if (!j.is_object()) return Decode("not an object");
  Result r;
  if (auto it = j.find("interfaces"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Decode("interfaces is not a list");
    for (const json& i : *it) {
      if (!i.is_object()) return Decode("interface entry is not an object");
      ResultInterface ri{Str(i, "name"), Str(i, "mac"), std::nullopt,
                         Str(i, "sandbox"), Str(i, "pciID")};
      if (auto m = i.find("mtu"); m != i.end() && m->is_number_integer())
        ri.mtu = m->get<uint32_t>();
      r.interfaces.push_back(ri);
    }
  }
  if (auto it = j.find("ips"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Decode("ips is not a list");
    for (const json& i : *it) {
      if (!i.is_object()) return Decode("ip entry is not an object");
      ResultIp ip;
      ip.address = Str(i, "address");
      ip.gateway = Str(i, "gateway");
      if (!net::ParseIpPrefix(ip.address).ok())
        return CniError(kCniInvalidConfig,
                        "result ip address \"" + ip.address + "\" invalid");
      if (!ip.gateway.empty() && !net::ParseIp(ip.gateway).ok())
        return CniError(kCniInvalidConfig,
                        "result gateway \"" + ip.gateway + "\" invalid");
      if (auto f = i.find("interface"); f != i.end() && f->is_number_integer())
        ip.interface = f->get<int>();
      r.ips.push_back(ip);
    }
  }
  if (auto it = j.find("routes"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Decode("routes is not a list");
    for (const json& rt : *it) {
      if (!rt.is_object() || !net::ParseIpPrefix(Str(rt, "dst")).ok())
        return CniError(kCniInvalidConfig,
                        "result route " + rt.dump() + " invalid");
      r.routes.push_back(rt);
    }
  }
  if (auto it = j.find("dns"); it != j.end() && it->is_object()) r.dns = *it;
  return r;
}

absl::StatusOr<Result> ParseResultText(std::string_view text) {
  absl::StatusOr<json> j =
      ParseJsonBounded(text, {.max_bytes = kMaxIpamOutputBytes});
  if (!j.ok()) return Decode(std::string(j.status().message()));
  return ParseResult(*j);
}

std::string ResultToJson(const Result& r, const std::string& v) {
  bool pre1 = CompareVersions(v, "1.0.0") < 0;
  bool v11 = CompareVersions(v, "1.1.0") >= 0;
  nlohmann::ordered_json j;
  j["cniVersion"] = v;
  if (!r.interfaces.empty()) {
    auto& arr = j["interfaces"] = nlohmann::ordered_json::array();
    for (const auto& i : r.interfaces) {
      nlohmann::ordered_json o;
      o["name"] = i.name;
      if (!i.mac.empty()) o["mac"] = i.mac;
      if (!pre1 && i.mtu && *i.mtu != 0) o["mtu"] = *i.mtu;
      o["sandbox"] = i.sandbox;
      if (v11 && !i.pci_id.empty()) o["pciID"] = i.pci_id;
      arr.push_back(std::move(o));
    }
  }
  if (!r.ips.empty()) {
    auto& arr = j["ips"] = nlohmann::ordered_json::array();
    for (const auto& ip : r.ips) {
      nlohmann::ordered_json o;
      if (pre1) {
        auto p = net::ParseIpPrefix(ip.address);
        o["version"] = p.ok() && p->addr.family == 10 ? "6" : "4";
      }
      if (ip.interface) o["interface"] = *ip.interface;
      o["address"] = ip.address;
      if (!ip.gateway.empty()) o["gateway"] = ip.gateway;
      arr.push_back(std::move(o));
    }
  }
  if (!r.routes.empty()) {
    auto& arr = j["routes"] = nlohmann::ordered_json::array();
    for (const auto& rt : r.routes) {
      nlohmann::ordered_json o;
      for (auto it = rt.begin(); it != rt.end(); ++it) {
        if (!v11 && it.key() != "dst" && it.key() != "gw") continue;
        o[it.key()] = it.value();
      }
      arr.push_back(std::move(o));
    }
  }
  j["dns"] = r.dns.is_object() ? r.dns : nlohmann::json::object();
  // Strings from the environment (CNI_NETNS) may not be UTF-8; never throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace sk::cni
