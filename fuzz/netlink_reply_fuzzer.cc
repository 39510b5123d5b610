// Fuzzes everything we parse from kernel netlink replies: message framing,
// NLMSG_ERROR/ext-ack decoding and RTM_NEWLINK decoding with the VF list.
#include <cstdint>
#include <cstring>
#include <vector>

#include "lib/net/link_ops.h"
#include "lib/netlink/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy so netlink structures are 4-byte aligned, as in a receive buffer.
  std::vector<uint8_t> buf(data, data + size);
  auto msgs = sk::netlink::ParseMessages(buf);
  if (!msgs.ok()) return 0;
  for (const auto& m : *msgs) {
    if (m.type() == NLMSG_ERROR) {
      (void)sk::netlink::ErrorFromMessage(m);
      continue;
    }
    auto link = sk::net::ParseLink(m);
    if (link.ok()) {
      // Re-encoding a parsed link must parse back to the same value.
      auto again = sk::net::ParseLink(sk::net::EncodeLink(*link, true));
      if (!again.ok() || again->vfs != link->vfs || again->mtu != link->mtu)
        __builtin_trap();
    }
    (void)sk::net::ParseSetVf(m);
  }
  return 0;
}
