#include "lib/net/addr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

#include "lib/base/strings.h"

namespace sk::net {

absl::StatusOr<MacAddress> ParseMac(std::string_view text) {
  MacAddress mac{};
  auto bad = [&] {
    return absl::InvalidArgumentError(
        sk::StrCat("invalid MAC address \"", text, "\""));
  };
  if (text.size() != 17) return bad();
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return bad();
    uint32_t v = 0;
    std::string_view byte = text.substr(i * 3, 2);
    for (char c : byte)
      if (!isxdigit(static_cast<unsigned char>(c))) return bad();
    if (!absl::SimpleHexAtoi(ToAbsl(byte), &v)) return bad();
    mac[i] = static_cast<uint8_t>(v);
  }
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
