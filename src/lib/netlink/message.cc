#include "lib/netlink/message.h"

#include <errno.h>
#include <string.h>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/netlink/internal/framing.h"

namespace sk::netlink {
namespace {

namespace nl = internal;

constexpr size_t kBuildBufferSize = 16 * 1024;
constexpr std::string_view kErrnoPayloadUrl = "type.sriovkit/netlink-errno";

void CollectAttr(const nlattr* attr, void* data) {
  auto* out = static_cast<std::vector<Attr>*>(data);
  const auto* p = static_cast<const uint8_t*>(nl::AttrPayload(attr));
  out->push_back(Attr{nl::AttrType(attr),
                      std::span<const uint8_t>(p, nl::AttrPayloadLen(attr))});
}

}  // namespace

absl::Status Attr::ShortError(size_t want) const {
  return absl::InvalidArgumentError(
      absl::StrCat("netlink attribute ", type, ": payload of ", payload.size(),
                   " bytes, want at least ", want));
}

absl::StatusOr<uint8_t> Attr::AsU8() const { return As<uint8_t>(); }
absl::StatusOr<uint16_t> Attr::AsU16() const { return As<uint16_t>(); }
absl::StatusOr<uint32_t> Attr::AsU32() const { return As<uint32_t>(); }

std::string Attr::AsString() const {
  const auto* begin = reinterpret_cast<const char*>(payload.data());
  size_t n = strnlen(begin, payload.size());
  return std::string(begin, n);
}

absl::StatusOr<AttrList> Attr::Nested() const {
  return AttrList::Parse(payload);
}

absl::StatusOr<AttrList> AttrList::Parse(std::span<const uint8_t> data) {
  AttrList list;
  if (data.size() > (1u << 30))
    return absl::InvalidArgumentError("netlink: attributes too large");
  int len = static_cast<int>(data.size());
  const auto* a = reinterpret_cast<const nlattr*>(data.data());
  while (len > 0 && internal::AttrOk(a, len)) {
    CollectAttr(a, &list.attrs_);
    len -= static_cast<int>(internal::Align(a->nla_len));
    a = internal::AttrNext(a);
  }
  // A final attribute without trailing padding leaves len slightly negative.
  if (len > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "netlink: malformed attribute at offset ",
        data.size() - static_cast<size_t>(len), " of ", data.size()));
  }
  return list;
}

const Attr* AttrList::Find(uint16_t type) const {
  for (const Attr& a : attrs_)
    if (a.type == type) return &a;
  return nullptr;
}

std::vector<const Attr*> AttrList::FindAll(uint16_t type) const {
  std::vector<const Attr*> out;
  for (const Attr& a : attrs_)
    if (a.type == type) out.push_back(&a);
  return out;
}

absl::StatusOr<Message> Message::FromBytes(std::span<const uint8_t> bytes) {
  int len = static_cast<int>(bytes.size());
  if (bytes.size() > (1u << 30))
    return absl::InvalidArgumentError("netlink: message too large");
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data());
  if (bytes.size() < sizeof(nlmsghdr) || !internal::NlmsgOk(nlh, len) ||
      nlh->nlmsg_len != bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("netlink: malformed message of ", bytes.size(), " bytes"));
  }
  Message m;
  m.bytes_.assign(bytes.begin(), bytes.end());
  return m;
}

const nlmsghdr& Message::header() const {
  return *reinterpret_cast<const nlmsghdr*>(bytes_.data());
}
void Message::set_seq(uint32_t seq) {
  reinterpret_cast<nlmsghdr*>(bytes_.data())->nlmsg_seq = seq;
}
void Message::set_flags(uint16_t flags) {
  reinterpret_cast<nlmsghdr*>(bytes_.data())->nlmsg_flags = flags;
}

std::span<const uint8_t> Message::payload() const {
  size_t hl = internal::kNlmsgHdrLen;
  if (bytes_.size() <= hl) return {};
  return std::span<const uint8_t>(bytes_).subspan(hl);
}

absl::Status Message::ShortHeader(size_t want) const {
  return absl::InvalidArgumentError(
      absl::StrCat("netlink message type ", type(), ": payload of ",
                   payload().size(), " bytes, want a ", want, "-byte header"));
}

absl::StatusOr<AttrList> Message::Attributes(size_t header_len) const {
  auto p = payload();
  size_t off = internal::Align(header_len);
  if (p.size() < header_len) return ShortHeader(header_len);
  if (off >= p.size()) return AttrList();
  return AttrList::Parse(p.subspan(off));
}

absl::StatusOr<std::vector<Message>> ParseMessages(
    std::span<const uint8_t> buf) {
  std::vector<Message> out;
  if (buf.size() > (1u << 30))
    return absl::InvalidArgumentError("netlink: buffer too large");
  int len = static_cast<int>(buf.size());
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  while (len > 0) {
    if (!internal::NlmsgOk(nlh, len)) {
      return absl::InvalidArgumentError(
          absl::StrCat("netlink: truncated message at offset ",
                       buf.size() - static_cast<size_t>(len)));
    }
    const auto* start = reinterpret_cast<const uint8_t*>(nlh);
    SK_ASSIGN_OR_RETURN(Message m, Message::FromBytes(std::span<const uint8_t>(
                                       start, nlh->nlmsg_len)));
    out.push_back(std::move(m));
    nlh = internal::NlmsgNext(nlh, &len);
  }
  return out;
}

absl::Status ErrorFromMessage(const Message& m) {
  if (m.type() != NLMSG_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat(
        "netlink: message type ", m.type(), " is not NLMSG_ERROR"));
  }
  SK_ASSIGN_OR_RETURN(nlmsgerr err, m.Header<nlmsgerr>());
  if (err.error == 0) return absl::OkStatus();
  // The kernel sends -errno, and errnos are below 4096 (MAX_ERRNO in
  // include/linux/err.h). Anything else (INT_MIN cannot even be negated) is
  // not an errno: report EINVAL with the raw value.
  constexpr int kMaxErrno = 4095;
  const bool valid = err.error >= -kMaxErrno && err.error <= kMaxErrno;
  const int errnum = !valid ? EINVAL : err.error < 0 ? -err.error : err.error;
  std::string text =
      valid ? strerror(errnum)
            : absl::StrCat("Invalid argument: netlink error value ", err.error,
                           " is not an errno");
  if (m.flags() & NLM_F_ACK_TLVS) {
    // The TLVs follow the nlmsgerr; unless NLM_F_CAPPED the kernel echoes the
    // whole request inside it first (netlink(7), kernel >= 4.12).
    size_t hdr = sizeof(nlmsgerr);
    if (!(m.flags() & NLM_F_CAPPED)) {
      size_t echoed = err.msg.nlmsg_len > sizeof(nlmsghdr)
                          ? err.msg.nlmsg_len - sizeof(nlmsghdr)
                          : 0;
      hdr += echoed;
    }
    auto attrs = m.Attributes(hdr);
    if (attrs.ok()) {
      if (const Attr* msg = attrs->Find(NLMSGERR_ATTR_MSG)) {
        std::string ext = msg->AsString();
        if (!ext.empty()) absl::StrAppend(&text, ": ", ext);
      }
      if (const Attr* offs = attrs->Find(NLMSGERR_ATTR_OFFS)) {
        if (auto o = offs->AsU32(); o.ok())
          absl::StrAppend(&text, " (offending attribute at offset ", *o, ")");
      }
    }
  }
  // absl maps EBUSY to FailedPrecondition; for netlink it means "driver
  // mailbox busy, retry" (sriov-cni #213), so report it as Unavailable.
  absl::StatusCode code = (errnum == EBUSY || errnum == EAGAIN)
                              ? absl::StatusCode::kUnavailable
                              : absl::ErrnoToStatusCode(errnum);
  absl::Status s(code, text);
  s.SetPayload(ToAbsl(kErrnoPayloadUrl), absl::Cord(std::to_string(errnum)));
  return s;
}

int ErrnoOf(const absl::Status& s) {
  auto p = s.GetPayload(ToAbsl(kErrnoPayloadUrl));
  if (!p.has_value()) return 0;
  int v = 0;
  if (!absl::SimpleAtoi(std::string(*p), &v)) return 0;
  return v;
}

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags)
    : buf_(kBuildBufferSize, 0) {
  nlmsghdr* h = internal::PutHeader(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
}

nlmsghdr* MessageBuilder::nlh() {
  return reinterpret_cast<nlmsghdr*>(buf_.data());
}

void MessageBuilder::PutHeaderBytes(const void* data, size_t len) {
  SK_CHECK(nlh()->nlmsg_len + internal::Align(len) <= buf_.size())
      << "netlink header overflow";
  void* p = internal::PutExtraHeader(nlh(), len);
  std::memcpy(p, data, len);
}

void MessageBuilder::PutAttr(uint16_t type, const void* data, size_t len) {
  SK_CHECK(internal::PutAttrCheck(nlh(), buf_.size(), type, len, data))
      << "netlink request overflow";
}
void MessageBuilder::PutU8(uint16_t type, uint8_t v) { PutAttr(type, &v, 1); }
void MessageBuilder::PutU16(uint16_t type, uint16_t v) { PutAttr(type, &v, 2); }
void MessageBuilder::PutU32(uint16_t type, uint32_t v) { PutAttr(type, &v, 4); }
void MessageBuilder::PutString(uint16_t type, std::string_view s) {
  std::string z(s);
  PutAttr(type, z.c_str(), z.size() + 1);
}

size_t MessageBuilder::BeginNested(uint16_t type) {
  nlattr* a = internal::NestStartCheck(nlh(), buf_.size(), type);
  SK_CHECK(a != nullptr) << "netlink request overflow";
  return static_cast<size_t>(reinterpret_cast<uint8_t*>(a) - buf_.data());
}

void MessageBuilder::EndNested(size_t token) {
  internal::NestEnd(nlh(), reinterpret_cast<nlattr*>(buf_.data() + token));
}

Message MessageBuilder::Build() && {
  buf_.resize(nlh()->nlmsg_len);
  Message m;
  m.bytes_ = std::move(buf_);
  return m;
}

}  // namespace sk::netlink
