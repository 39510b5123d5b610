#include "lib/net/link_ops.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::net {
namespace {

using netlink::Attr;
using netlink::AttrList;
using netlink::Message;
using netlink::MessageBuilder;

ifinfomsg IfInfo(int index) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  return ifi;
}

std::string Describe(const LinkRef& l) {
  return l.name.empty() ? absl::StrCat("ifindex ", l.index) : l.name;
}

// One row per VF field we read and set (as sd-netlink declares its
// attribute policies): the IFLA_VF_INFO attribute, how it is encoded from a
// VfInfo and decoded into one. Dump parsing, request building and request
// decoding (the fakes') all go through this table. Each decoder returns the
// VF index the attribute names.
struct VfFieldCodec {
  VfField field;
  const char* name;
  uint16_t attr;
  void (*put)(MessageBuilder&, const VfInfo&);
  absl::StatusOr<uint32_t> (*get)(const Attr&, VfInfo*);
};

void PutVlan(MessageBuilder& b, const VfInfo& v) {
  size_t list = b.BeginNested(IFLA_VF_VLAN_LIST);
  ifla_vf_vlan_info vi{};
  vi.vf = v.id;
  vi.vlan = v.vlan;
  vi.qos = v.qos;
  vi.vlan_proto = htons(v.vlan_proto);
  static_assert(sizeof(ifla_vf_vlan_info) == 16);
  b.PutStruct(IFLA_VF_VLAN_INFO, vi);
  b.EndNested(list);
}
absl::StatusOr<uint32_t> GetVlan(const Attr& a, VfInfo* v) {
  SK_ASSIGN_OR_RETURN(AttrList vl, a.Nested());
  const Attr* vi = vl.Find(IFLA_VF_VLAN_INFO);
  if (vi == nullptr)
    return absl::InvalidArgumentError("IFLA_VF_VLAN_LIST without a VLAN_INFO");
  if (vi->payload.size() != sizeof(ifla_vf_vlan_info))
    return absl::InvalidArgumentError(absl::StrCat(
        "ifla_vf_vlan_info of ", vi->payload.size(), " bytes, want 16"));
  SK_ASSIGN_OR_RETURN(ifla_vf_vlan_info x, vi->As<ifla_vf_vlan_info>());
  v->vlan = x.vlan;
  v->qos = x.qos;
  v->vlan_proto = ntohs(x.vlan_proto);
  return x.vf;
}

void PutMac(MessageBuilder& b, const VfInfo& v) {
  ifla_vf_mac m{};
  m.vf = v.id;
  std::memcpy(m.mac, v.mac.data(), 6);
  b.PutStruct(IFLA_VF_MAC, m);
}
absl::StatusOr<uint32_t> GetMac(const Attr& a, VfInfo* v) {
  SK_ASSIGN_OR_RETURN(ifla_vf_mac x, a.As<ifla_vf_mac>());
  std::memcpy(v->mac.data(), x.mac, 6);
  return x.vf;
}

void PutRate(MessageBuilder& b, const VfInfo& v) {
  ifla_vf_rate r{};
  r.vf = v.id;
  r.min_tx_rate = v.min_tx_rate;
  r.max_tx_rate = v.max_tx_rate;
  b.PutStruct(IFLA_VF_RATE, r);
}
absl::StatusOr<uint32_t> GetRate(const Attr& a, VfInfo* v) {
  SK_ASSIGN_OR_RETURN(ifla_vf_rate x, a.As<ifla_vf_rate>());
  v->min_tx_rate = x.min_tx_rate;
  v->max_tx_rate = x.max_tx_rate;
  return x.vf;
}

void PutSpoofchk(MessageBuilder& b, const VfInfo& v) {
  b.PutStruct(IFLA_VF_SPOOFCHK, ifla_vf_spoofchk{v.id, v.spoofchk ? 1u : 0u});
}
absl::StatusOr<uint32_t> GetSpoofchk(const Attr& a, VfInfo* v) {
  SK_ASSIGN_OR_RETURN(ifla_vf_spoofchk x, a.As<ifla_vf_spoofchk>());
  v->spoofchk = x.setting != 0;
  return x.vf;
}

void PutTrust(MessageBuilder& b, const VfInfo& v) {
  b.PutStruct(IFLA_VF_TRUST, ifla_vf_trust{v.id, v.trust ? 1u : 0u});
}
absl::StatusOr<uint32_t> GetTrust(const Attr& a, VfInfo* v) {
  SK_ASSIGN_OR_RETURN(ifla_vf_trust x, a.As<ifla_vf_trust>());
  v->trust = x.setting != 0;
  return x.vf;
}

void PutLinkState(MessageBuilder& b, const VfInfo& v) {
  b.PutStruct(IFLA_VF_LINK_STATE, ifla_vf_link_state{v.id, v.link_state});
}
absl::StatusOr<uint32_t> GetLinkState(const Attr& a, VfInfo* v) {
  SK_ASSIGN_OR_RETURN(ifla_vf_link_state x, a.As<ifla_vf_link_state>());
  v->link_state = x.link_state;
  return x.vf;
}

// In the order a dump lists them (EncodeLink writes them so).
constexpr VfFieldCodec kVfCodecs[] = {
    {VfField::kMac, "mac", IFLA_VF_MAC, PutMac, GetMac},
    {VfField::kVlan, "vlan", IFLA_VF_VLAN_LIST, PutVlan, GetVlan},
    {VfField::kRate, "rate", IFLA_VF_RATE, PutRate, GetRate},
    {VfField::kSpoofchk, "spoofchk", IFLA_VF_SPOOFCHK, PutSpoofchk,
     GetSpoofchk},
    {VfField::kTrust, "trust", IFLA_VF_TRUST, PutTrust, GetTrust},
    {VfField::kLinkState, "link_state", IFLA_VF_LINK_STATE, PutLinkState,
     GetLinkState},
};

const VfFieldCodec& CodecOf(VfField f) {
  for (const VfFieldCodec& c : kVfCodecs) {
    if (c.field == f) return c;
  }
  return kVfCodecs[0];  // unreachable: every VfField has a row
}

const VfFieldCodec* CodecForAttr(uint16_t attr) {
  for (const VfFieldCodec& c : kVfCodecs) {
    if (c.attr == attr) return &c;
  }
  return nullptr;
}

void PutVfField(MessageBuilder& b, VfField field, const VfInfo& v) {
  CodecOf(field).put(b, v);
}

// One IFLA_VF_INFO of a dump. Dumps carry more attributes than we set
// (stats, the legacy IFLA_VF_VLAN, RSS query...): those are skipped, except
// IFLA_VF_VLAN, read when the kernel sends no IFLA_VF_VLAN_LIST.
absl::Status ParseVf(const Attr& info_attr, VfInfo* vf) {
  SK_ASSIGN_OR_RETURN(AttrList info, info_attr.Nested());
  if (info.Find(IFLA_VF_MAC) == nullptr)
    return absl::InvalidArgumentError("IFLA_VF_INFO without IFLA_VF_MAC");
  if (const Attr* a = info.Find(IFLA_VF_VLAN)) {
    SK_ASSIGN_OR_RETURN(ifla_vf_vlan v, a->As<ifla_vf_vlan>());
    vf->vlan = v.vlan;
    vf->qos = v.qos;
  }
  for (const VfFieldCodec& c : kVfCodecs) {
    if (const Attr* a = info.Find(c.attr)) {
      SK_ASSIGN_OR_RETURN(uint32_t id, c.get(*a, vf));
      if (c.field == VfField::kMac) vf->id = id;
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string VfFieldName(VfField f) { return CodecOf(f).name; }

std::string VfFieldNames(const std::vector<VfField>& fields) {
  std::string out;
  for (VfField f : fields) {
    if (!out.empty()) out += ',';
    out += VfFieldName(f);
  }
  return out;
}

absl::StatusOr<LinkInfo> ParseLink(const Message& m) {
  if (m.type() != RTM_NEWLINK)
    return absl::InvalidArgumentError(
        absl::StrCat("expected RTM_NEWLINK, got type ", m.type()));
  SK_ASSIGN_OR_RETURN(ifinfomsg ifi, m.Header<ifinfomsg>());
  SK_ASSIGN_OR_RETURN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  LinkInfo link;
  link.index = ifi.ifi_index;
  link.flags = ifi.ifi_flags;
  if (const Attr* a = attrs.Find(IFLA_IFNAME)) link.name = a->AsString();
  if (const Attr* a = attrs.Find(IFLA_ADDRESS); a && a->payload.size() == 6)
    std::memcpy(link.mac.data(), a->payload.data(), 6);
  if (const Attr* a = attrs.Find(IFLA_MTU)) {
    SK_ASSIGN_OR_RETURN(link.mtu, a->AsU32());
  }
  if (const Attr* a = attrs.Find(IFLA_NUM_VF)) {
    SK_ASSIGN_OR_RETURN(uint32_t n, a->AsU32());
    link.num_vf = n;
  }
  if (const Attr* a = attrs.Find(IFLA_PROP_LIST)) {
    SK_ASSIGN_OR_RETURN(AttrList props, a->Nested());
    for (const Attr* alt : props.FindAll(IFLA_ALT_IFNAME))
      link.altnames.push_back(alt->AsString());
  }
  if (const Attr* a = attrs.Find(IFLA_VFINFO_LIST)) {
    SK_ASSIGN_OR_RETURN(AttrList list, a->Nested());
    for (const Attr* info : list.FindAll(IFLA_VF_INFO)) {
      VfInfo vf;
      SK_RETURN_IF_ERROR(ParseVf(*info, &vf));
      link.vfs.push_back(vf);
    }
  }
  return link;
}

Message EncodeLink(const LinkInfo& link, bool with_vfs) {
  MessageBuilder b(RTM_NEWLINK, 0);
  ifinfomsg ifi = IfInfo(link.index);
  ifi.ifi_flags = link.flags;
  b.PutHeader(ifi);
  b.PutString(IFLA_IFNAME, link.name);
  b.PutAttr(IFLA_ADDRESS, link.mac.data(), 6);
  b.PutU32(IFLA_MTU, link.mtu);
  if (link.num_vf) b.PutU32(IFLA_NUM_VF, *link.num_vf);
  if (!link.altnames.empty()) {
    size_t n = b.BeginNested(IFLA_PROP_LIST);
    for (const auto& alt : link.altnames) b.PutString(IFLA_ALT_IFNAME, alt);
    b.EndNested(n);
  }
  if (with_vfs) {
    size_t list = b.BeginNested(IFLA_VFINFO_LIST);
    for (const VfInfo& vf : link.vfs) {
      size_t info = b.BeginNested(IFLA_VF_INFO);
      for (const VfFieldCodec& c : kVfCodecs) c.put(b, vf);
      b.EndNested(info);
    }
    b.EndNested(list);
  }
  return std::move(b).Build();
}

Message BuildSetVf(int pf_index, VfField field, const VfInfo& v) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(pf_index));
  size_t list = b.BeginNested(IFLA_VFINFO_LIST);
  size_t info = b.BeginNested(IFLA_VF_INFO);
  PutVfField(b, field, v);
  b.EndNested(info);
  b.EndNested(list);
  return std::move(b).Build();
}

Message BuildSetVfs(int pf_index, const std::vector<VfField>& fields,
                    const VfInfo& v) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(pf_index));
  size_t list = b.BeginNested(IFLA_VFINFO_LIST);
  size_t info = b.BeginNested(IFLA_VF_INFO);
  for (VfField f : fields) PutVfField(b, f, v);
  b.EndNested(info);
  b.EndNested(list);
  return std::move(b).Build();
}

absl::StatusOr<SetVfsRequest> ParseSetVfs(const Message& m) {
  auto not_one = [] {
    return absl::InvalidArgumentError("not a VF RTM_SETLINK");
  };
  if (m.type() != RTM_SETLINK) return not_one();
  SK_ASSIGN_OR_RETURN(ifinfomsg ifi, m.Header<ifinfomsg>());
  SK_ASSIGN_OR_RETURN(AttrList attrs, m.Attributes(sizeof(ifinfomsg)));
  const Attr* list_attr = attrs.Find(IFLA_VFINFO_LIST);
  if (list_attr == nullptr) return not_one();
  SK_ASSIGN_OR_RETURN(AttrList list, list_attr->Nested());
  const Attr* info_attr = list.Find(IFLA_VF_INFO);
  if (info_attr == nullptr) return not_one();
  SK_ASSIGN_OR_RETURN(AttrList info, info_attr->Nested());
  if (info.all().empty()) return not_one();
  SetVfsRequest r;
  r.pf_index = ifi.ifi_index;
  std::optional<uint32_t> id;
  for (const Attr& a : info.all()) {
    const VfFieldCodec* codec = CodecForAttr(a.type);
    if (codec == nullptr)
      return absl::InvalidArgumentError(absl::StrCat(
          "IFLA_VF_INFO attribute type ", a.type, " is not a VF field we set"));
    const VfField field = codec->field;
    SK_ASSIGN_OR_RETURN(uint32_t vf, codec->get(a, &r.values));
    if (std::find(r.fields.begin(), r.fields.end(), field) != r.fields.end())
      return absl::InvalidArgumentError(
          absl::StrCat("IFLA_VF_INFO sets ", VfFieldName(field), " twice"));
    if (id && *id != vf)
      return absl::InvalidArgumentError(absl::StrCat(
          "IFLA_VF_INFO names vf ", *id, " and vf ", vf, " in one entry"));
    id = vf;
    r.fields.push_back(field);
  }
  r.values.id = *id;
  return r;
}

absl::StatusOr<SetVfRequest> ParseSetVf(const Message& m) {
  SK_ASSIGN_OR_RETURN(SetVfsRequest all, ParseSetVfs(m));
  if (all.fields.size() != 1)
    return absl::InvalidArgumentError("not a single-field VF RTM_SETLINK");
  return SetVfRequest{all.pf_index, all.fields[0], all.values};
}

absl::Status LinkOps::Exec(const Message& m, std::string_view context) {
  auto r = socket_.Transact(m);
  if (!r.ok()) return Annotate(r.status(), context);
  return absl::OkStatus();
}

absl::StatusOr<LinkInfo> LinkOps::GetLinkImpl(int index, std::string_view name,
                                              bool with_vfs) {
  MessageBuilder b(RTM_GETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(index));
  if (!name.empty()) b.PutString(IFLA_IFNAME, name);
  if (with_vfs) b.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_VF);
  std::string what =
      name.empty() ? absl::StrCat("ifindex ", index) : std::string(name);
  auto replies = socket_.Transact(std::move(b).Build());
  if (!replies.ok())
    return Annotate(replies.status(), sk::StrCat("get link ", what));
  for (const Message& m : *replies) {
    if (m.type() == RTM_NEWLINK) {
      auto link = ParseLink(m);
      if (!link.ok())
        return Annotate(link.status(), sk::StrCat("get link ", what));
      return link;
    }
  }
  return absl::NotFoundError(
      sk::StrCat("get link ", what, ": no RTM_NEWLINK in reply"));
}

absl::StatusOr<LinkInfo> LinkOps::GetLink(std::string_view name,
                                          bool with_vfs) {
  return GetLinkImpl(0, name, with_vfs);
}
absl::StatusOr<LinkInfo> LinkOps::GetLinkByIndex(int index, bool with_vfs) {
  return GetLinkImpl(index, "", with_vfs);
}

absl::StatusOr<std::vector<LinkInfo>> LinkOps::ListLinks() {
  MessageBuilder b(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  b.PutHeader(IfInfo(0));
  auto replies = socket_.Transact(std::move(b).Build());
  if (!replies.ok()) return Annotate(replies.status(), "list links");
  std::vector<LinkInfo> out;
  for (const Message& m : *replies) {
    if (m.type() != RTM_NEWLINK) continue;
    SK_ASSIGN_OR_RETURN(LinkInfo l, ParseLink(m));
    out.push_back(std::move(l));
  }
  return out;
}

absl::Status LinkOps::SetVf(const LinkRef& pf, VfField field, const VfInfo& v) {
  return Exec(
      BuildSetVf(pf.index, field, v),
      absl::StrCat(Describe(pf), " vf ", v.id, ": set ", VfFieldName(field)));
}

absl::Status LinkOps::SetVfs(const LinkRef& pf,
                             const std::vector<VfField>& fields,
                             const VfInfo& v) {
  return Exec(
      BuildSetVfs(pf.index, fields, v),
      absl::StrCat(Describe(pf), " vf ", v.id, ": set ", VfFieldNames(fields)));
}

absl::Status LinkOps::SetVfVlan(const LinkRef& pf, uint32_t vf, uint32_t vlan,
                                uint32_t qos, uint16_t proto) {
  VfInfo v;
  v.id = vf;
  v.vlan = vlan;
  v.qos = qos;
  v.vlan_proto = proto;
  return SetVf(pf, VfField::kVlan, v);
}
absl::Status LinkOps::SetVfMac(const LinkRef& pf, uint32_t vf,
                               const MacAddress& mac) {
  VfInfo v;
  v.id = vf;
  v.mac = mac;
  return SetVf(pf, VfField::kMac, v);
}
absl::Status LinkOps::SetVfRate(const LinkRef& pf, uint32_t vf,
                                uint32_t min_mbps, uint32_t max_mbps) {
  VfInfo v;
  v.id = vf;
  v.min_tx_rate = min_mbps;
  v.max_tx_rate = max_mbps;
  return SetVf(pf, VfField::kRate, v);
}
absl::Status LinkOps::SetVfSpoofchk(const LinkRef& pf, uint32_t vf, bool on) {
  VfInfo v;
  v.id = vf;
  v.spoofchk = on;
  return SetVf(pf, VfField::kSpoofchk, v);
}
absl::Status LinkOps::SetVfTrust(const LinkRef& pf, uint32_t vf, bool on) {
  VfInfo v;
  v.id = vf;
  v.trust = on;
  return SetVf(pf, VfField::kTrust, v);
}
absl::Status LinkOps::SetVfLinkState(const LinkRef& pf, uint32_t vf,
                                     uint32_t state) {
  VfInfo v;
  v.id = vf;
  v.link_state = state;
  return SetVf(pf, VfField::kLinkState, v);
}

absl::Status LinkOps::SetName(const LinkRef& link, std::string_view name) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(link.index));
  b.PutString(IFLA_IFNAME, name);
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), ": rename to ", name));
}

absl::Status LinkOps::SetMac(const LinkRef& link, const MacAddress& mac) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(link.index));
  b.PutAttr(IFLA_ADDRESS, mac.data(), mac.size());
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), ": set mac ", MacToString(mac)));
}

absl::Status LinkOps::SetMtu(const LinkRef& link, uint32_t mtu) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(link.index));
  b.PutU32(IFLA_MTU, mtu);
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), ": set mtu ", mtu));
}

absl::Status LinkOps::SetUp(const LinkRef& link, bool up) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  ifinfomsg ifi = IfInfo(link.index);
  ifi.ifi_flags = up ? IFF_UP : 0;
  ifi.ifi_change = IFF_UP;
  b.PutHeader(ifi);
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), up ? ": set up" : ": set down"));
}

absl::Status LinkOps::SetNetns(const LinkRef& link, int netns_fd) {
  MessageBuilder b(RTM_SETLINK, NLM_F_REQUEST);
  b.PutHeader(IfInfo(link.index));
  b.PutU32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), ": move to netns"));
}

absl::Status LinkOps::DeleteAltName(const LinkRef& link,
                                    std::string_view altname) {
  MessageBuilder b(RTM_DELLINKPROP, NLM_F_REQUEST);
  b.PutHeader(IfInfo(link.index));
  size_t n = b.BeginNested(IFLA_PROP_LIST);
  b.PutString(IFLA_ALT_IFNAME, altname);
  b.EndNested(n);
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), ": delete altname ", altname));
}

absl::Status LinkOps::AddAddress(const LinkRef& link, const IpPrefix& p) {
  MessageBuilder b(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(p.addr.family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(p.prefix_len);
  ifa.ifa_index = static_cast<uint32_t>(link.index);
  b.PutHeader(ifa);
  b.PutAttr(IFA_LOCAL, p.addr.bytes.data(), p.addr.size());
  b.PutAttr(IFA_ADDRESS, p.addr.bytes.data(), p.addr.size());
  return Exec(std::move(b).Build(),
              sk::StrCat(Describe(link), ": add address ", PrefixToString(p)));
}

absl::StatusOr<std::vector<IpPrefix>> LinkOps::ListAddresses(
    const LinkRef& link) {
  SK_ASSIGN_OR_RETURN(std::vector<AddressInfo> infos, ListAddressInfo(link));
  std::vector<IpPrefix> out;
  out.reserve(infos.size());
  for (const AddressInfo& a : infos) out.push_back(a.prefix);
  return out;
}

absl::StatusOr<std::vector<AddressInfo>> LinkOps::ListAddressInfo(
    const LinkRef& link) {
  MessageBuilder b(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  b.PutHeader(ifaddrmsg{});
  auto replies = socket_.Transact(std::move(b).Build());
  if (!replies.ok())
    return Annotate(replies.status(),
                    sk::StrCat(Describe(link), ": list addresses"));
  std::vector<AddressInfo> out;
  for (const Message& m : *replies) {
    if (m.type() != RTM_NEWADDR) continue;
    SK_ASSIGN_OR_RETURN(ifaddrmsg ifa, m.Header<ifaddrmsg>());
    if (static_cast<int>(ifa.ifa_index) != link.index) continue;
    SK_ASSIGN_OR_RETURN(AttrList attrs, m.Attributes(sizeof(ifaddrmsg)));
    const Attr* a = attrs.Find(IFA_LOCAL);
    if (a == nullptr) a = attrs.Find(IFA_ADDRESS);
    if (a == nullptr) continue;
    AddressInfo info;
    IpPrefix& p = info.prefix;
    p.addr.family = ifa.ifa_family;
    if (a->payload.size() != p.addr.size()) continue;
    std::memcpy(p.addr.bytes.data(), a->payload.data(), a->payload.size());
    p.prefix_len = ifa.ifa_prefixlen;
    // ifa_flags has only 8 bits; IFA_FLAGS (kernel 3.14+) carries all.
    info.flags = ifa.ifa_flags;
    if (const Attr* f = attrs.Find(IFA_FLAGS)) {
      SK_ASSIGN_OR_RETURN(info.flags, f->AsU32());
    }
    out.push_back(info);
  }
  return out;
}

absl::Status LinkOps::AddRoute(const LinkRef& link, const IpPrefix& dst,
                               const std::optional<IpAddress>& gw) {
  MessageBuilder b(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(dst.addr.family);
  rt.rtm_dst_len = static_cast<uint8_t>(dst.prefix_len);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rt.rtm_type = RTN_UNICAST;
  b.PutHeader(rt);
  if (dst.prefix_len > 0)
    b.PutAttr(RTA_DST, dst.addr.bytes.data(), dst.addr.size());
  if (gw) b.PutAttr(RTA_GATEWAY, gw->bytes.data(), gw->size());
  b.PutU32(RTA_OIF, static_cast<uint32_t>(link.index));
  return Exec(
      std::move(b).Build(),
      sk::StrCat(Describe(link), ": add route ", PrefixToString(dst),
                 gw ? sk::StrCat(" via ", IpToString(*gw)) : std::string()));
}

}  // namespace sk::net
