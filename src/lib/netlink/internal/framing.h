// Netlink framing and attribute helpers: the subset of libmnl that
// message.cc used, with libmnl's semantics (libmnl src/nlmsg.c and
// src/attr.c; alignment and layout from <linux/netlink.h>).
//
// Why not libmnl itself: Debian ships libmnl only as a shared object, and
// the CNI plugin must run from /opt/cni/bin on nodes that do not have it
// (docs/operators-guide.md "Portable binaries"). These ~15 functions are
// all we need. Internal: do not use outside src/lib/netlink.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sk::netlink::internal {

constexpr size_t Align(size_t len) { return (len + 3) & ~size_t{3}; }
constexpr size_t kNlmsgHdrLen = Align(sizeof(nlmsghdr));
constexpr size_t kAttrHdrLen = Align(sizeof(nlattr));

inline uint16_t AttrType(const nlattr* a) {
  return a->nla_type & NLA_TYPE_MASK;
}
inline uint16_t AttrPayloadLen(const nlattr* a) {
  return static_cast<uint16_t>(a->nla_len - kAttrHdrLen);
}
inline const void* AttrPayload(const nlattr* a) {
  return reinterpret_cast<const uint8_t*>(a) + kAttrHdrLen;
}
// The attribute's header and its declared length fit in `len` bytes.
inline bool AttrOk(const nlattr* a, int len) {
  return len >= static_cast<int>(sizeof(nlattr)) &&
         a->nla_len >= sizeof(nlattr) && static_cast<int>(a->nla_len) <= len;
}
inline const nlattr* AttrNext(const nlattr* a) {
  return reinterpret_cast<const nlattr*>(reinterpret_cast<const uint8_t*>(a) +
                                         Align(a->nla_len));
}

// The message's header and its declared length fit in `len` bytes.
inline bool NlmsgOk(const nlmsghdr* h, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) &&
         h->nlmsg_len >= sizeof(nlmsghdr) &&
         static_cast<int>(h->nlmsg_len) <= len;
}
inline const nlmsghdr* NlmsgNext(const nlmsghdr* h, int* len) {
  *len -= static_cast<int>(Align(h->nlmsg_len));
  return reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const uint8_t*>(h) +
                                           Align(h->nlmsg_len));
}

// Building, into a zeroed buffer that starts with the nlmsghdr.
inline nlmsghdr* PutHeader(uint8_t* buf) {
  std::memset(buf, 0, kNlmsgHdrLen);
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  h->nlmsg_len = kNlmsgHdrLen;
  return h;
}
inline uint8_t* Tail(nlmsghdr* h) {
  return reinterpret_cast<uint8_t*>(h) + Align(h->nlmsg_len);
}
// The caller checked the room (libmnl's mnl_nlmsg_put_extra_header).
inline void* PutExtraHeader(nlmsghdr* h, size_t size) {
  uint8_t* p = reinterpret_cast<uint8_t*>(h) + h->nlmsg_len;
  // The room was checked against the buffer, which is far below 4 GiB.
  h->nlmsg_len += static_cast<uint32_t>(Align(size));
  std::memset(p, 0, Align(size));
  return p;
}
// False, and nothing written, when the attribute does not fit in buflen.
inline bool PutAttrCheck(nlmsghdr* h, size_t buflen, uint16_t type, size_t len,
                         const void* data) {
  if (h->nlmsg_len + kAttrHdrLen + Align(len) > buflen) return false;
  auto* a = reinterpret_cast<nlattr*>(Tail(h));
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(kAttrHdrLen + len);
  uint8_t* payload = reinterpret_cast<uint8_t*>(a) + kAttrHdrLen;
  if (len > 0) std::memcpy(payload, data, len);
  if (Align(len) > len) std::memset(payload + len, 0, Align(len) - len);
  // Fits in buflen (checked above).
  h->nlmsg_len += static_cast<uint32_t>(Align(kAttrHdrLen + len));
  return true;
}
// A nested attribute's header (NLA_F_NESTED set), or nullptr without room.
inline nlattr* NestStartCheck(nlmsghdr* h, size_t buflen, uint16_t type) {
  if (h->nlmsg_len + kAttrHdrLen > buflen) return nullptr;
  auto* a = reinterpret_cast<nlattr*>(Tail(h));
  a->nla_type = static_cast<uint16_t>(NLA_F_NESTED | type);
  h->nlmsg_len += kAttrHdrLen;
  return a;
}
inline void NestEnd(nlmsghdr* h, nlattr* start) {
  start->nla_len =
      static_cast<uint16_t>(Tail(h) - reinterpret_cast<uint8_t*>(start));
}

}  // namespace sk::netlink::internal
