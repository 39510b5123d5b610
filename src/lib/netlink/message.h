#pragma once

// Netlink messages built and parsed without a socket.
//
// Framing and attribute walking come from libmnl (the library iproute2 uses
// for extended ACKs); this layer adds an owning `Message` value type, a
// bounds-checked attribute view and the conversion of NLMSG_ERROR (with the
// kernel's extended-ACK text) into absl::Status. Nothing here does I/O, so
// every function is exercised by round-trip unit tests and by
// fuzz/netlink_reply_fuzzer.cc.
//
// Example: build an RTM_GETLINK for ifindex 3 and parse a reply.
//
//   MessageBuilder b(RTM_GETLINK, NLM_F_REQUEST);
//   ifinfomsg ifi{}; ifi.ifi_index = 3;
//   b.PutHeader(ifi);
//   b.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_VF);
//   Message req = std::move(b).Build();
//   ...
//   SK_ASSIGN_OR_RETURN(auto ifi, reply.Header<ifinfomsg>());
//   SK_ASSIGN_OR_RETURN(AttrList attrs, reply.Attributes(sizeof(ifinfomsg)));
//   if (const Attr* a = attrs.Find(IFLA_IFNAME)) name = a->AsString();

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk::netlink {

// One attribute: its type (with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked
// off) and a view of its payload inside the owning Message or parent Attr.
struct Attr {
  uint16_t type = 0;
  std::span<const uint8_t> payload;

  // Fixed-size readers. Return InvalidArgument when the payload is shorter
  // than the value (a malformed or truncated reply).
  absl::StatusOr<uint8_t> AsU8() const;
  absl::StatusOr<uint16_t> AsU16() const;
  absl::StatusOr<uint32_t> AsU32() const;
  // The payload up to the first NUL (strings may or may not carry one).
  std::string AsString() const;
  // Copies a kernel UAPI struct out of the payload. Returns InvalidArgument
  // if the payload is shorter than sizeof(T). Longer payloads are accepted
  // (newer kernels append fields).
  template <typename T>
  absl::StatusOr<T> As() const {
    if (payload.size() < sizeof(T)) return ShortError(sizeof(T));
    T v;
    std::memcpy(&v, payload.data(), sizeof(T));
    return v;
  }
  // Parses the payload as a nested attribute stream.
  absl::StatusOr<class AttrList> Nested() const;

 private:
  absl::Status ShortError(size_t want) const;
};

// The attributes of one level, in wire order. Duplicates are kept (e.g. the
// repeated IFLA_VF_INFO inside IFLA_VFINFO_LIST).
class AttrList {
 public:
  // Parses `data` as a sequence of nlattr. Returns InvalidArgument if an
  // attribute's length runs past the buffer or is shorter than its header.
  static absl::StatusOr<AttrList> Parse(std::span<const uint8_t> data);

  // The first attribute of `type`, or nullptr.
  const Attr* Find(uint16_t type) const;
  // Every attribute of `type`, in order.
  std::vector<const Attr*> FindAll(uint16_t type) const;
  const std::vector<Attr>& all() const { return attrs_; }

 private:
  std::vector<Attr> attrs_;
};

// An owning, immutable netlink message (header + payload).
class Message {
 public:
  // Wraps exactly one message. Returns InvalidArgument if `bytes` is not a
  // single well-formed nlmsghdr whose nlmsg_len matches the size.
  static absl::StatusOr<Message> FromBytes(std::span<const uint8_t> bytes);

  const nlmsghdr& header() const;
  uint16_t type() const { return header().nlmsg_type; }
  uint16_t flags() const { return header().nlmsg_flags; }
  uint32_t seq() const { return header().nlmsg_seq; }
  void set_seq(uint32_t seq);
  void set_flags(uint16_t flags);
  std::span<const uint8_t> bytes() const { return bytes_; }
  std::span<const uint8_t> payload() const;

  // Copies the family header (ifinfomsg, ifaddrmsg, rtmsg, nlmsgerr...).
  // Returns InvalidArgument if the payload is shorter than sizeof(T).
  template <typename T>
  absl::StatusOr<T> Header() const {
    auto p = payload();
    if (p.size() < sizeof(T)) return ShortHeader(sizeof(T));
    T v;
    std::memcpy(&v, p.data(), sizeof(T));
    return v;
  }
  // Parses the attributes after a family header of `header_len` bytes
  // (aligned with NLMSG_ALIGN). InvalidArgument on malformed input.
  absl::StatusOr<AttrList> Attributes(size_t header_len) const;

 private:
  friend class MessageBuilder;
  absl::Status ShortHeader(size_t want) const;
  std::vector<uint8_t> bytes_;
};

// Splits a receive buffer into messages. Returns InvalidArgument on a
// truncated or malformed message (the buffer must contain whole messages).
absl::StatusOr<std::vector<Message>> ParseMessages(
    std::span<const uint8_t> buf);

// For an NLMSG_ERROR message: OkStatus for an ACK (error 0); otherwise the
// errno as a Status (absl::ErrnoToStatus's code, e.g. EINVAL ->
// InvalidArgument, ENODEV -> NotFound; except EBUSY and EAGAIN, which are
// Unavailable because they mean "retry") whose message is
// "<strerror>" plus ": <ext-ack text>" when the kernel sent
// NLMSGERR_ATTR_MSG, and " (offending attribute at offset N)" for
// NLMSGERR_ATTR_OFFS. InvalidArgument if the message is not a well-formed
// NLMSG_ERROR.
absl::Status ErrorFromMessage(const Message& m);

// The errno carried by a Status made by ErrorFromMessage (0 if none). Used
// to decide on retries (EBUSY/EAGAIN) without parsing text.
int ErrnoOf(const absl::Status& s);

// Builds one message into a fixed 16 KiB buffer with libmnl. Requests are
// built only by our own code with bounded contents, so overflowing the
// buffer is a bug (SK_CHECK), not a Status.
class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, uint16_t flags);
  MessageBuilder(const MessageBuilder&) = delete;
  MessageBuilder& operator=(const MessageBuilder&) = delete;

  // Appends the family header; call once, before any attribute.
  template <typename T>
  void PutHeader(const T& hdr) {
    PutHeaderBytes(&hdr, sizeof(T));
  }
  void PutAttr(uint16_t type, const void* data, size_t len);
  template <typename T>
  void PutStruct(uint16_t type, const T& v) {
    PutAttr(type, &v, sizeof(T));
  }
  void PutU8(uint16_t type, uint8_t v);
  void PutU16(uint16_t type, uint16_t v);
  void PutU32(uint16_t type, uint32_t v);
  void PutString(uint16_t type, std::string_view s);  // NUL-terminated
  // Nesting: BeginNested returns a token for EndNested. Nests must be closed
  // in LIFO order.
  size_t BeginNested(uint16_t type);
  void EndNested(size_t token);

  Message Build() &&;

 private:
  void PutHeaderBytes(const void* data, size_t len);
  nlmsghdr* nlh();
  std::vector<uint8_t> buf_;
};

}  // namespace sk::netlink
