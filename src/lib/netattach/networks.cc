#include "lib/netattach/networks.h"

#include <arpa/inet.h>

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/net/hw_addr.h"

namespace sk::netattach {
namespace {

// The error prefix naming the pod and the element.
struct ErrCtx {
  const std::string& pod_ns;
  const std::string& pod_name;
  size_t index;
  std::string text;
  absl::Status Err(std::string_view what) const {
    return absl::InvalidArgumentError(sk::StrCat("pod ", pod_ns, "/", pod_name,
                                                 ": network ", index, " (",
                                                 text, "): ", what));
  }
};

std::string Quote(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<NetworkSelection> ParseTextElement(std::string_view item,
                                                  const ErrCtx& ctx) {
  NetworkSelection n;
  std::vector<absl::string_view> slash = absl::StrSplit(ToAbsl(item), '/');
  absl::string_view rest;
  if (slash.size() == 2) {
    n.ns = std::string(absl::StripAsciiWhitespace(slash[0]));
    rest = slash[1];
  } else if (slash.size() == 1) {
    rest = slash[0];
  } else {
    return ctx.Err("more than one '/'");
  }
  std::vector<absl::string_view> at = absl::StrSplit(rest, '@');
  if (at.size() > 2) return ctx.Err("more than one '@'");
  n.name = std::string(absl::StripAsciiWhitespace(at[0]));
  if (at.size() == 2)
    n.interface = std::string(absl::StripAsciiWhitespace(at[1]));
  if (n.name.empty()) return ctx.Err("empty network name");
  for (const std::string* part : {&n.ns, &n.name}) {
    if (!part->empty() && !IsDns1123Label(*part))
      return ctx.Err(sk::StrCat(
          Quote(*part),
          " is not a DNS-1123 label (lower case alphanumerics and '-', "
          "starting and ending with an alphanumeric)"));
  }
  if (at.size() == 2 && !IsValidIfName(n.interface))
    return ctx.Err(sk::StrCat("interface name ", Quote(n.interface),
                              " must be 1-15 characters without '/' or "
                              "whitespace"));
  return n;
}

absl::Status JsonString(const nlohmann::json& e, const char* key,
                        std::string& out, const ErrCtx& ctx) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string())
    return ctx.Err(
        sk::StrCat("key \"", key, "\": expected a string, got ", it->dump()));
  out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status JsonStringList(const nlohmann::json& e, const char* key,
                            std::vector<std::string>& out, const ErrCtx& ctx) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) return absl::OkStatus();
  bool ok = it->is_array();
  if (ok)
    for (const auto& s : *it) ok = ok && s.is_string();
  if (!ok)
    return ctx.Err(sk::StrCat(
        "key \"", key, "\": expected a list of strings, got ", it->dump()));
  for (const auto& s : *it) out.push_back(s.get<std::string>());
  return absl::OkStatus();
}

absl::StatusOr<NetworkSelection> ParseJsonElement(const nlohmann::json& e,
                                                  const ErrCtx& ctx) {
  if (!e.is_object()) return ctx.Err("expected an object");
  NetworkSelection n;
  SK_RETURN_IF_ERROR(JsonString(e, "name", n.name, ctx));
  SK_RETURN_IF_ERROR(JsonString(e, "namespace", n.ns, ctx));
  SK_RETURN_IF_ERROR(JsonString(e, "interface", n.interface, ctx));
  std::string legacy;
  SK_RETURN_IF_ERROR(JsonString(e, "interfaceRequest", legacy, ctx));
  if (n.interface.empty()) n.interface = legacy;
  SK_RETURN_IF_ERROR(JsonString(e, "mac", n.mac, ctx));
  SK_RETURN_IF_ERROR(JsonStringList(e, "ips", n.ips, ctx));
  SK_RETURN_IF_ERROR(JsonStringList(e, "default-route", n.default_route, ctx));
  if (auto it = e.find("default-route"); it != e.end() && !it->is_null())
    n.has_default_route = true;
  SK_RETURN_IF_ERROR(JsonString(e, "deviceID", n.device_id, ctx));
  SK_RETURN_IF_ERROR(JsonString(e, "infiniband-guid", n.infiniband_guid, ctx));
  if (auto it = e.find("cni-args"); it != e.end() && !it->is_null()) {
    if (!it->is_object())
      return ctx.Err("key \"cni-args\": expected an object, got " + it->dump());
    n.cni_args = *it;
  }
  if (auto it = e.find("bandwidth"); it != e.end() && !it->is_null()) {
    if (!it->is_object())
      return ctx.Err("key \"bandwidth\": expected an object, got " +
                     it->dump());
    n.bandwidth = *it;
  }
  if (auto it = e.find("portMappings"); it != e.end() && !it->is_null()) {
    if (!it->is_array())
      return ctx.Err("key \"portMappings\": expected a list, got " +
                     it->dump());
    n.port_mappings = *it;
  }
  if (n.name.empty()) return ctx.Err("key \"name\" is missing or empty");
  // The names become API paths: refuse anything that is not a valid object
  // or namespace name (the text form is stricter still).
  if (!IsDns1123Subdomain(n.name))
    return ctx.Err("key \"name\": " + Quote(n.name) +
                   " is not a valid object name (DNS-1123 subdomain)");
  if (!n.ns.empty() && !IsDns1123Label(n.ns))
    return ctx.Err("key \"namespace\": " + Quote(n.ns) +
                   " is not a DNS-1123 label");
  if (!n.interface.empty() && !IsValidIfName(n.interface))
    return ctx.Err("key \"interface\": " + Quote(n.interface) +
                   " must be 1-15 characters without '/' or whitespace");
  if (!n.mac.empty() && !IsValidHardwareAddr(n.mac))
    return ctx.Err("key \"mac\": " + Quote(n.mac) + " is not a MAC address");
  if (!n.infiniband_guid.empty() && !IsValidHardwareAddr(n.infiniband_guid))
    return ctx.Err("key \"infiniband-guid\": " + Quote(n.infiniband_guid) +
                   " is not a GUID");
  for (const auto& ip : n.ips)
    if (!IsValidIpOrCidr(ip))
      return ctx.Err("key \"ips\": " + Quote(ip) + " is not an IP or CIDR");
  for (const auto& gw : n.default_route)
    if (gw.find('/') != std::string::npos || !IsValidIpOrCidr(gw))
      return ctx.Err("key \"default-route\": " + Quote(gw) +
                     " is not an IP address");
  return n;
}

}  // namespace

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-') return false;
  return true;
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(ToAbsl(s), '.'))
    if (!IsDns1123Label(ToStd(label))) return false;
  return true;
}

bool IsValidIfName(std::string_view s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == ':' ||
        absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '\0')
      return false;
  return true;
}

bool IsValidHardwareAddr(std::string_view s) {
  return net::ParseHardwareAddr(s).ok();
}

bool IsValidIpOrCidr(std::string_view s) {
  std::string addr(s);
  std::string prefix;
  if (size_t slash = addr.find('/'); slash != std::string::npos) {
    prefix = addr.substr(slash + 1);
    addr.resize(slash);
  }
  unsigned char buf[16];
  int max_prefix = 0;
  if (::inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    max_prefix = 32;
  } else if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    max_prefix = 128;
  } else {
    return false;
  }
  if (s.find('/') == std::string_view::npos) return true;
  if (prefix.empty() || prefix.size() > 3) return false;
  for (char c : prefix)
    if (c < '0' || c > '9') return false;
  int p = 0;
  if (!absl::SimpleAtoi(prefix, &p)) return false;
  return p <= max_prefix;
}

absl::StatusOr<std::vector<NetworkSelection>> ParseNetworkSelections(
    std::string_view value, const std::string& pod_ns,
    const std::string& pod_name, const std::string& default_ns) {
  std::vector<NetworkSelection> out;
  auto pod_err = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        sk::StrCat("pod ", pod_ns, "/", pod_name, ": annotation ",
                   kNetworksAnnotation, ": ", what));
  };
  if (value.size() > kMaxNetworksAnnotationBytes)
    return pod_err(sk::StrCat("value of ", value.size(), " bytes exceeds the ",
                              kMaxNetworksAnnotationBytes, "-byte limit"));
  if (absl::StripAsciiWhitespace(ToAbsl(value)).empty()) return out;
  if (value.find_first_of("[{\"") != std::string_view::npos) {
    absl::StatusOr<nlohmann::json> j = ParseJsonBounded(
        value, {.max_depth = 16, .max_bytes = kMaxNetworksAnnotationBytes});
    if (!j.ok()) return pod_err(ToStd(j.status().message()));
    if (!j->is_array())
      return pod_err(
          sk::StrCat("JSON form must be a list, got ", j->type_name()));
    if (j->size() > kMaxNetworkElements)
      return pod_err(sk::StrCat(j->size(), " networks exceed the limit of ",
                                kMaxNetworkElements));
    for (size_t i = 0; i < j->size(); ++i) {
      std::string text = (*j)[i].dump(-1, ' ', false,
                                      nlohmann::json::error_handler_t::replace);
      if (text.size() > 200) text = text.substr(0, 200) + "...";
      ErrCtx ctx{pod_ns, pod_name, i, std::move(text)};
      SK_ASSIGN_OR_RETURN(NetworkSelection n, ParseJsonElement((*j)[i], ctx));
      out.push_back(std::move(n));
    }
  } else {
    std::vector<absl::string_view> items = absl::StrSplit(ToAbsl(value), ',');
    if (items.size() > kMaxNetworkElements)
      return pod_err(sk::StrCat(items.size(), " networks exceed the limit of ",
                                kMaxNetworkElements));
    for (size_t i = 0; i < items.size(); ++i) {
      std::string_view item = ToStd(absl::StripAsciiWhitespace(items[i]));
      ErrCtx ctx{pod_ns, pod_name, i, Quote(item)};
      SK_ASSIGN_OR_RETURN(NetworkSelection n, ParseTextElement(item, ctx));
      out.push_back(std::move(n));
    }
  }
  for (auto& n : out)
    if (n.ns.empty()) n.ns = default_ns;
  return out;
}

}  // namespace sk::netattach
