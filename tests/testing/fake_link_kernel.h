#pragma once

// FakeLinkKernel: a small model of the kernel's link-side rtnetlink across
// network namespaces, for unit tests of code that moves, renames and
// configures netdevs (the CNI plugin's netdevice mode).
//
// Namespaces have names; a namespace fd (any open file, e.g. one in a temp
// dir) is mapped to its name by inode, so the code under test can pass the
// fds it opened itself, as IFLA_NET_NS_FD too. SocketIn(ns) returns a
// netlink::Socket "opened in" that namespace.
//
// Modelled, as the kernel does it:
//   RTM_GETLINK by name or index (ENODEV when absent);
//   RTM_SETLINK IFLA_IFNAME (EBUSY while IFF_UP, EEXIST on a taken name),
//     IFLA_ADDRESS, IFLA_MTU, IFLA_NET_NS_FD (EEXIST when the name is taken
//     in the target; the link arrives down, without addresses, same
//     ifindex), ifi_change IFF_UP (up also sets IFF_RUNNING unless
//     set_carrier(false));
//   RTM_DELLINKPROP IFLA_ALT_IFNAME;
//   RTM_NEWADDR (EEXIST on a duplicate) and the RTM_GETADDR dump (flags
//     IFA_F_PERMANENT plus set_new_address_flags(), e.g. IFA_F_TENTATIVE);
//   RTM_NEWROUTE (recorded only).
// Every change is recorded in calls() as "<ns>: <link> <op> [<arg>]", e.g.
//   "host: enp3s16f2 rename sk0000031002", "host: sk0000031002 move pod1",
//   "pod1: net1 mtu 1400", "pod1: net1 up", "pod1: net1 addr 10.1.1.2/24",
//   "pod1: net1 route 0.0.0.0/0 via 10.1.1.1";
// reads are not. FailOnce(op, errno, text) makes the next <op> (down, up,
// rename, move, mac, mtu, addr, route, delalt) fail with that errno and
// extended-ACK text; the failed call is recorded with " -> errno N".
//
// Header-only; tests that include it link sk::net.

#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"

#include "lib/net/link_ops.h"
#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/fake_pf_netlink.h"

namespace sk::testing {

class FakeLinkKernel {
 public:
  struct Address {
    int index = 0;
    net::IpPrefix prefix;
    uint32_t flags = 0;
  };

  void AddNamespace(const std::string& name, int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0) ns_by_inode_[st.st_ino] = name;
    links_[name];
  }
  // Adds a link; returns its ifindex.
  int AddLink(const std::string& ns, const std::string& name,
              const net::MacAddress& mac, uint32_t mtu, uint32_t flags = 0) {
    net::LinkInfo l;
    l.index = next_index_++;
    l.name = name;
    l.mac = mac;
    l.mtu = mtu;
    l.flags = flags;
    links_[ns][l.index] = l;
    return l.index;
  }
  // The link named `name` in `ns`, if any.
  std::optional<net::LinkInfo> Link(const std::string& ns,
                                    const std::string& name) const {
    auto it = links_.find(ns);
    if (it == links_.end()) return std::nullopt;
    for (const auto& [i, l] : it->second)
      if (l.name == name) return l;
    return std::nullopt;
  }
  std::vector<std::string> LinkNames(const std::string& ns) const {
    std::vector<std::string> out;
    auto it = links_.find(ns);
    if (it != links_.end())
      for (const auto& [i, l] : it->second) out.push_back(l.name);
    return out;
  }
  std::vector<std::string> Addresses(const std::string& ns) const {
    std::vector<std::string> out;
    auto it = addrs_.find(ns);
    if (it != addrs_.end())
      for (const Address& a : it->second)
        out.push_back(net::PrefixToString(a.prefix));
    return out;
  }
  void SetAltNames(const std::string& ns, const std::string& name,
                   std::vector<std::string> alts) {
    for (auto& [i, l] : links_[ns])
      if (l.name == name) l.altnames = std::move(alts);
  }
  void FailOnce(const std::string& op, int errnum, const std::string& text) {
    fail_[op] = {errnum, text};
  }
  void set_carrier(bool on) { carrier_ = on; }
  // Extra IFA_F_* flags every address added from now on reports.
  void set_new_address_flags(uint32_t flags) { new_address_flags_ = flags; }
  const std::vector<std::string>& calls() const { return calls_; }
  void ClearCalls() { calls_.clear(); }

  std::unique_ptr<netlink::Socket> SocketIn(const std::string& ns) {
    auto sock = std::make_unique<FakeNetlinkSocket>();
    sock->set_handler(
        [this, ns](const netlink::Message& m) { return Handle(ns, m); });
    return sock;
  }
  // The namespace name of an fd, "" if unknown.
  std::string NamespaceOf(int fd) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return "";
    auto it = ns_by_inode_.find(st.st_ino);
    return it == ns_by_inode_.end() ? "" : it->second;
  }

 private:
  using Reply = FakeNetlinkSocket::Reply;

  static Reply Error(int errnum, const std::string& text = "") {
    return FakePfNetlink::KernelError(errnum, text);
  }
  // Records the call; returns the error (injected, else the kernel's own
  // `refusal` errno, if non-zero), if any.
  std::optional<Reply> Record(const std::string& ns, const std::string& link,
                              const std::string& op, const std::string& arg,
                              int refusal = 0,
                              const std::string& refusal_text = "") {
    std::string line = absl::StrCat(ns, ": ", link, " ", op);
    if (!arg.empty()) absl::StrAppend(&line, " ", arg);
    int errnum = refusal;
    std::string text = refusal_text;
    if (auto it = fail_.find(op); it != fail_.end()) {
      std::tie(errnum, text) = it->second;
      fail_.erase(it);
    }
    if (errnum != 0) {
      calls_.push_back(absl::StrCat(line, " -> errno ", errnum));
      return Error(errnum, text);
    }
    calls_.push_back(line);
    return std::nullopt;
  }
  net::LinkInfo* ByIndex(const std::string& ns, int index) {
    auto& m = links_[ns];
    auto it = m.find(index);
    return it == m.end() ? nullptr : &it->second;
  }
  net::LinkInfo* ByName(const std::string& ns, const std::string& name) {
    for (auto& [i, l] : links_[ns])
      if (l.name == name) return &l;
    return nullptr;
  }

  Reply Handle(const std::string& ns, const netlink::Message& m) {
    switch (m.type()) {
      case RTM_GETLINK:
        return GetLink(ns, m);
      case RTM_SETLINK:
        return SetLink(ns, m);
      case RTM_DELLINKPROP:
        return DelLinkProp(ns, m);
      case RTM_NEWADDR:
        return NewAddr(ns, m);
      case RTM_GETADDR:
        return GetAddr(ns);
      case RTM_NEWROUTE:
        return NewRoute(ns, m);
      default:
        return Error(EOPNOTSUPP, "fake link kernel: unsupported request");
    }
  }

  Reply GetLink(const std::string& ns, const netlink::Message& m) {
    auto ifi = m.Header<ifinfomsg>();
    auto attrs = m.Attributes(sizeof(ifinfomsg));
    if (!ifi.ok() || !attrs.ok()) return Error(EINVAL, "bad request");
    net::LinkInfo* l = nullptr;
    if (const auto* a = attrs->Find(IFLA_IFNAME))
      l = ByName(ns, a->AsString());
    else
      l = ByIndex(ns, ifi->ifi_index);
    if (l == nullptr) return Error(ENODEV);
    return std::vector<netlink::Message>{net::EncodeLink(*l, false)};
  }

  Reply SetLink(const std::string& ns, const netlink::Message& m) {
    auto ifi = m.Header<ifinfomsg>();
    auto attrs = m.Attributes(sizeof(ifinfomsg));
    if (!ifi.ok() || !attrs.ok()) return Error(EINVAL, "bad request");
    net::LinkInfo* l = ByIndex(ns, ifi->ifi_index);
    if (l == nullptr) return Error(ENODEV);
    std::string name = l->name;
    if (ifi->ifi_change & IFF_UP) {
      bool up = (ifi->ifi_flags & IFF_UP) != 0;
      if (auto e = Record(ns, name, up ? "up" : "down", "")) return *e;
      l->flags = up ? (l->flags | IFF_UP |
                       (carrier_ ? static_cast<uint32_t>(IFF_RUNNING) : 0u))
                    : (l->flags & ~(IFF_UP | IFF_RUNNING));
    }
    if (const auto* a = attrs->Find(IFLA_IFNAME)) {
      std::string to = a->AsString();
      int refusal = (l->flags & IFF_UP)         ? EBUSY
                    : ByName(ns, to) != nullptr ? EEXIST
                                                : 0;
      if (auto e = Record(ns, name, "rename", to, refusal)) return *e;
      l->name = to;
    }
    if (const auto* a = attrs->Find(IFLA_ADDRESS)) {
      net::MacAddress mac{};
      if (a->payload.size() != 6) return Error(EINVAL, "bad MAC");
      std::copy(a->payload.begin(), a->payload.end(), mac.begin());
      if (auto e = Record(ns, name, "mac", net::MacToString(mac))) return *e;
      l->mac = mac;
    }
    if (const auto* a = attrs->Find(IFLA_MTU)) {
      auto mtu = a->AsU32();
      if (!mtu.ok()) return Error(EINVAL, "bad MTU");
      if (auto e = Record(ns, name, "mtu", std::to_string(*mtu))) return *e;
      l->mtu = *mtu;
    }
    if (const auto* a = attrs->Find(IFLA_NET_NS_FD)) {
      auto fd = a->AsU32();
      std::string to = fd.ok() ? NamespaceOf(static_cast<int>(*fd)) : "";
      int refusal = to.empty()                    ? EBADF
                    : ByName(to, name) != nullptr ? EEXIST
                                                  : 0;
      if (auto e = Record(ns, name, "move", to.empty() ? "?" : to, refusal))
        return *e;
      net::LinkInfo moved = *l;
      moved.flags &= ~(IFF_UP | IFF_RUNNING);
      links_[ns].erase(moved.index);
      links_[to][moved.index] = moved;
      auto& v = addrs_[ns];
      std::erase_if(v,
                    [&](const Address& x) { return x.index == moved.index; });
    }
    return std::vector<netlink::Message>{};
  }

  Reply DelLinkProp(const std::string& ns, const netlink::Message& m) {
    auto ifi = m.Header<ifinfomsg>();
    auto attrs = m.Attributes(sizeof(ifinfomsg));
    if (!ifi.ok() || !attrs.ok()) return Error(EINVAL, "bad request");
    net::LinkInfo* l = ByIndex(ns, ifi->ifi_index);
    if (l == nullptr) return Error(ENODEV);
    const auto* list = attrs->Find(IFLA_PROP_LIST);
    if (list == nullptr) return Error(EINVAL, "no IFLA_PROP_LIST");
    auto props = list->Nested();
    if (!props.ok()) return Error(EINVAL, "bad IFLA_PROP_LIST");
    for (const auto* alt : props->FindAll(IFLA_ALT_IFNAME)) {
      std::string name = alt->AsString();
      bool has = std::find(l->altnames.begin(), l->altnames.end(), name) !=
                 l->altnames.end();
      if (auto e = Record(ns, l->name, "delalt", name, has ? 0 : ENOENT))
        return *e;
      std::erase(l->altnames, name);
    }
    return std::vector<netlink::Message>{};
  }

  Reply NewAddr(const std::string& ns, const netlink::Message& m) {
    auto ifa = m.Header<ifaddrmsg>();
    auto attrs = m.Attributes(sizeof(ifaddrmsg));
    if (!ifa.ok() || !attrs.ok()) return Error(EINVAL, "bad request");
    net::LinkInfo* l = ByIndex(ns, static_cast<int>(ifa->ifa_index));
    if (l == nullptr) return Error(ENODEV);
    const auto* a = attrs->Find(IFA_LOCAL);
    if (a == nullptr) return Error(EINVAL, "no IFA_LOCAL");
    Address addr;
    addr.index = l->index;
    addr.flags = IFA_F_PERMANENT | new_address_flags_;
    addr.prefix.addr.family = ifa->ifa_family;
    addr.prefix.prefix_len = ifa->ifa_prefixlen;
    if (a->payload.size() != addr.prefix.addr.size())
      return Error(EINVAL, "bad address");
    std::copy(a->payload.begin(), a->payload.end(),
              addr.prefix.addr.bytes.begin());
    bool dup = false;
    for (const Address& x : addrs_[ns])
      dup = dup || (x.index == addr.index && x.prefix.addr == addr.prefix.addr);
    if (auto e = Record(ns, l->name, "addr", net::PrefixToString(addr.prefix),
                        dup ? EEXIST : 0))
      return *e;
    addrs_[ns].push_back(addr);
    return std::vector<netlink::Message>{};
  }

  Reply GetAddr(const std::string& ns) {
    std::vector<netlink::Message> out;
    for (const Address& a : addrs_[ns]) {
      netlink::MessageBuilder b(RTM_NEWADDR, NLM_F_MULTI);
      ifaddrmsg ifa{};
      ifa.ifa_family = static_cast<uint8_t>(a.prefix.addr.family);
      ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefix.prefix_len);
      ifa.ifa_flags = static_cast<uint8_t>(a.flags);
      ifa.ifa_index = static_cast<uint32_t>(a.index);
      b.PutHeader(ifa);
      b.PutAttr(IFA_LOCAL, a.prefix.addr.bytes.data(), a.prefix.addr.size());
      b.PutU32(IFA_FLAGS, a.flags);
      out.push_back(std::move(b).Build());
    }
    return out;
  }

  Reply NewRoute(const std::string& ns, const netlink::Message& m) {
    auto rt = m.Header<rtmsg>();
    auto attrs = m.Attributes(sizeof(rtmsg));
    if (!rt.ok() || !attrs.ok()) return Error(EINVAL, "bad request");
    net::IpPrefix dst;
    dst.addr.family = rt->rtm_family;
    dst.prefix_len = rt->rtm_dst_len;
    if (const auto* a = attrs->Find(RTA_DST))
      std::copy(a->payload.begin(), a->payload.end(), dst.addr.bytes.begin());
    std::string arg = net::PrefixToString(dst);
    if (const auto* a = attrs->Find(RTA_GATEWAY)) {
      net::IpAddress gw;
      gw.family = rt->rtm_family;
      std::copy(a->payload.begin(), a->payload.end(), gw.bytes.begin());
      absl::StrAppend(&arg, " via ", net::IpToString(gw));
    }
    std::string dev = "?";
    if (const auto* a = attrs->Find(RTA_OIF)) {
      auto oif = a->AsU32();
      if (oif.ok())
        if (net::LinkInfo* l = ByIndex(ns, static_cast<int>(*oif)))
          dev = l->name;
    }
    if (auto e = Record(ns, dev, "route", arg)) return *e;
    return std::vector<netlink::Message>{};
  }

  int next_index_ = 10;
  bool carrier_ = true;
  uint32_t new_address_flags_ = 0;
  std::map<ino_t, std::string> ns_by_inode_;
  std::map<std::string, std::map<int, net::LinkInfo>> links_;
  std::map<std::string, std::vector<Address>> addrs_;
  std::map<std::string, std::pair<int, std::string>> fail_;
  std::vector<std::string> calls_;
};

}  // namespace sk::testing
