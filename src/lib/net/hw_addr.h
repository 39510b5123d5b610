#pragma once

// The one hardware-address grammar, Go's net.ParseMAC (which sriov-cni,
// Multus and KubeVirt use): 6, 8 or 20 octets written as two-digit hex groups
// separated by ':' or '-' ("02-00-5e-10-20-30"), or as four-digit groups
// separated by '.' ("0200.5e10.2030"); case-insensitive. net::ParseMac
// (addr.h) accepts its 6-octet colon form.
//
//   SK_ASSIGN_OR_RETURN(std::vector<uint8_t> guid,
//                       net::ParseHardwareAddr("00:11:22:33:44:55:66:77"));

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sk::net {

// The octets of `text`; InvalidArgument `invalid MAC address "<text>"`
// otherwise.
absl::StatusOr<std::vector<uint8_t>> ParseHardwareAddr(std::string_view text);

}  // namespace sk::net
