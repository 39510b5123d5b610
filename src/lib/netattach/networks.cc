#include "lib/netattach/networks.h"

#include <arpa/inet.h>

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "lib/base/field_reader.h"
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

absl::Status ReadString(const FieldReader& e, std::string_view key,
                        std::string& out) {
  SK_ASSIGN_OR_RETURN(std::optional<std::string> v, e.OptionalString(key));
  if (v) out = *std::move(v);
  return absl::OkStatus();
}

// One element of the JSON form (multus-cni pkg/types NetworkSelectionElement).
absl::StatusOr<NetworkSelection> ParseJsonElement(const FieldReader& item) {
  SK_ASSIGN_OR_RETURN(const FieldReader e, item.AsObject());
  NetworkSelection n;
  SK_RETURN_IF_ERROR(ReadString(e, "name", n.name));
  SK_RETURN_IF_ERROR(ReadString(e, "namespace", n.ns));
  SK_RETURN_IF_ERROR(ReadString(e, "interface", n.interface));
  std::string legacy;
  SK_RETURN_IF_ERROR(ReadString(e, "interfaceRequest", legacy));
  const char* interface_key = "interface";
  if (n.interface.empty() && !legacy.empty()) {
    n.interface = legacy;
    interface_key = "interfaceRequest";
  }
  SK_RETURN_IF_ERROR(ReadString(e, "mac", n.mac));
  SK_ASSIGN_OR_RETURN(n.ips, e.StringList("ips"));
  SK_ASSIGN_OR_RETURN(n.default_route, e.StringList("default-route"));
  n.has_default_route = e.Has("default-route");
  SK_RETURN_IF_ERROR(ReadString(e, "deviceID", n.device_id));
  SK_RETURN_IF_ERROR(ReadString(e, "infiniband-guid", n.infiniband_guid));
  for (const char* key : {"cni-args", "bandwidth"}) {
    SK_ASSIGN_OR_RETURN(const FieldReader obj, e.Object(key));
    if (obj.present())
      (std::string_view(key) == "cni-args" ? n.cni_args : n.bandwidth) =
          obj.json();
  }
  if (const FieldReader pm = e.Child("portMappings"); pm.present()) {
    SK_RETURN_IF_ERROR(pm.AsList().status());
    n.port_mappings = pm.json();
  }
  // The names become API paths: refuse anything that is not a valid object
  // or namespace name (the text form is stricter still).
  if (n.name.empty()) return e.Child("name").Expected("a network name");
  if (!IsDns1123Subdomain(n.name))
    return e.Child("name").Expected("an object name (DNS-1123 subdomain)");
  if (!n.ns.empty() && !IsDns1123Label(n.ns))
    return e.Child("namespace").Expected("a namespace (DNS-1123 label)");
  if (!n.interface.empty() && !IsValidIfName(n.interface))
    return e.Child(interface_key)
        .Expected(
            "an interface name of 1-15 characters without '/' or "
            "whitespace");
  if (!n.mac.empty() && !IsValidHardwareAddr(n.mac))
    return e.Child("mac").Expected("a MAC address");
  if (!n.infiniband_guid.empty() && !IsValidHardwareAddr(n.infiniband_guid))
    return e.Child("infiniband-guid").Expected("a GUID");
  for (size_t i = 0; i < n.ips.size(); ++i)
    if (!IsValidIpOrCidr(n.ips[i]))
      return e.Child("ips").Index(i).Expected("an IP or CIDR");
  for (size_t i = 0; i < n.default_route.size(); ++i) {
    const std::string& gw = n.default_route[i];
    if (gw.find('/') != std::string::npos || !IsValidIpOrCidr(gw))
      return e.Child("default-route").Index(i).Expected("an IP address");
  }
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
    // Errors: "pod <ns>/<name>: annotation <key>: [1].mac: expected a MAC
    // address, got \"zz\"".
    const FieldReader root(
        *j, sk::StrCat("pod ", pod_ns, "/", pod_name, ": annotation ",
                       kNetworksAnnotation));
    SK_ASSIGN_OR_RETURN(std::vector<FieldReader> items, root.AsList());
    for (const FieldReader& item : items) {
      SK_ASSIGN_OR_RETURN(NetworkSelection n, ParseJsonElement(item));
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
