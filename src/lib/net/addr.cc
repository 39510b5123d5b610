#include "lib/net/addr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/net/hw_addr.h"

namespace sk::net {

absl::StatusOr<std::vector<uint8_t>> ParseHardwareAddr(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid MAC address \"", text, "\""));
  };
  // Go net.ParseMAC: "xx:xx…" / "xx-xx…" (group 2, stride 3) or
  // "xxxx.xxxx…" (group 4, stride 5).
  const bool dotted = text.size() > 4 && text[4] == '.';
  const size_t group = dotted ? 4 : 2;
  if (text.size() < group || (text.size() + 1) % (group + 1) != 0) {
    return bad();
  }
  const size_t groups = (text.size() + 1) / (group + 1);
  const size_t octets = groups * group / 2;
  if (octets != 6 && octets != 8 && octets != 20) return bad();
  const char sep = dotted ? '.' : text[2];
  if (!dotted && sep != ':' && sep != '-') return bad();
  std::vector<uint8_t> out;
  out.reserve(octets);
  for (size_t i = 0; i < text.size(); i += group + 1) {
    if (i > 0 && text[i - 1] != sep) return bad();
    for (size_t k = 0; k < group; k += 2) {
      std::string_view byte = text.substr(i + k, 2);
      uint32_t v = 0;
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(byte[0])) ||
          !absl::ascii_isxdigit(static_cast<unsigned char>(byte[1])) ||
          !absl::SimpleHexAtoi(ToAbsl(byte), &v)) {
        return bad();
      }
      out.push_back(static_cast<uint8_t>(v));
    }
  }
  return out;
}

absl::StatusOr<MacAddress> ParseMac(std::string_view text) {
  if (text.size() != 17 || text[2] != ':') {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid MAC address \"", text, "\""));
  }
  SK_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ParseHardwareAddr(text));
  MacAddress mac{};
  std::copy(bytes.begin(), bytes.end(), mac.begin());
  return mac;
}

std::string MacToString(const MacAddress& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
                         m[3], m[4], m[5]);
}

absl::StatusOr<IpAddress> ParseIp(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return absl::InvalidArgumentError(
      sk::StrCat("invalid IP address \"", text, "\""));
}

absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view text) {
  size_t slash = text.find('/');
  auto bad = [&] {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid IP prefix \"", text, "\""));
  };
  if (slash == std::string_view::npos) return bad();
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip.ok()) return bad();
  int len = 0;
  if (!absl::SimpleAtoi(ToAbsl(text.substr(slash + 1)), &len) || len < 0 ||
      len > (ip->family == AF_INET ? 32 : 128))
    return bad();
  return IpPrefix{*ip, len};
}

std::string IpToString(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.family, ip.bytes.data(), buf, sizeof(buf));
  return buf;
}

std::string PrefixToString(const IpPrefix& p) {
  return sk::StrCat(IpToString(p.addr), "/", p.prefix_len);
}

}  // namespace sk::net
