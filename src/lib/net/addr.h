#pragma once

// MAC and IP address value types with strict parsers (used for CNI config
// validation and for netlink attribute payloads).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sk::net {

using MacAddress = std::array<uint8_t, 6>;

// Parses "aa:bb:cc:dd:ee:ff" (case-insensitive, exactly six two-digit hex
// groups separated by ':'): the colon form of ParseHardwareAddr
// (hw_addr.h), the one MAC grammar. InvalidArgument naming the text
// otherwise.
absl::StatusOr<MacAddress> ParseMac(std::string_view text);
// Lower-case colon form.
std::string MacToString(const MacAddress& mac);
inline bool IsZeroMac(const MacAddress& m) { return m == MacAddress{}; }
inline bool IsMulticastMac(const MacAddress& m) { return (m[0] & 1) != 0; }

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};
  size_t size() const { return family == 10 /*AF_INET6*/ ? 16 : 4; }
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress addr;
  int prefix_len = 0;
  bool operator==(const IpPrefix&) const = default;
};

// "10.1.2.3" / "fd00::1". InvalidArgument otherwise.
absl::StatusOr<IpAddress> ParseIp(std::string_view text);
// "10.1.2.3/24" / "fd00::1/64"; prefix within 0..32/0..128.
absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view text);
std::string IpToString(const IpAddress& ip);
std::string PrefixToString(const IpPrefix& p);

}  // namespace sk::net
