#pragma once
// PCI address ("BDF") parsing and formatting.
//
//   auto a = PciAddress::Parse("0000:3B:02.1");   // or "3b:02.1"
//   a->ToString() == "0000:3b:02.1"
//
// Accepted: `dddd:bb:dd.f` or `bb:dd.f`, hex digits in either case, domain
// up to 4 hex digits, bus 2, device 2 (<= 0x1f), function 1 (<= 7).
// Anything else is InvalidArgument with the input quoted in the message.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sk::sysfs {

struct PciAddress {
  uint32_t domain = 0;
  uint8_t bus = 0;
  uint8_t device = 0;
  uint8_t function = 0;

  static absl::StatusOr<PciAddress> Parse(std::string_view text);
  // Canonical lower-case long form "0000:3b:02.1".
  std::string ToString() const;

  auto operator<=>(const PciAddress&) const = default;
  bool operator==(const PciAddress&) const = default;
};

}  // namespace sk::sysfs
