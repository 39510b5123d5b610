#include "lib/cni/announce.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"

namespace sk::cni {
namespace {

constexpr uint8_t kBroadcastMac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void Put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

template <typename Range>
void PutBytes(std::vector<uint8_t>& out, const Range& r, size_t n) {
  out.insert(out.end(), std::begin(r), std::begin(r) + static_cast<long>(n));
}

}  // namespace

std::vector<uint8_t> EncodeGratuitousArp(const net::MacAddress& mac,
                                         const net::IpAddress& ipv4) {
  SK_CHECK(ipv4.family == AF_INET) << "GARP for a non-IPv4 address";
  std::vector<uint8_t> out;
  out.reserve(28);
  Put16(out, 1);  // ARPHRD_ETHER
  Put16(out, ETH_P_IP);
  out.push_back(6);  // hardware address length
  out.push_back(4);  // protocol address length
  Put16(out, 1);     // ARPOP_REQUEST
  PutBytes(out, mac, 6);
  PutBytes(out, ipv4.bytes, 4);
  PutBytes(out, kBroadcastMac, 6);
  PutBytes(out, ipv4.bytes, 4);
  return out;
}

std::vector<uint8_t> EncodeUnsolicitedNa(const net::MacAddress& mac,
                                         const net::IpAddress& ipv6) {
  SK_CHECK(ipv6.family == AF_INET6) << "NA for a non-IPv6 address";
  std::vector<uint8_t> out;
  out.reserve(32);
  out.push_back(136);  // ND_NEIGHBOR_ADVERT
  out.push_back(0);    // code
  Put16(out, 0);       // checksum: filled in by the kernel
  // Flags: Override only. Router and Solicited stay 0 (RFC 4861 §7.2.6).
  out.insert(out.end(), {0x20, 0, 0, 0});
  PutBytes(out, ipv6.bytes, 16);
  out.push_back(2);  // ND_OPT_TARGET_LINKADDR
  out.push_back(1);  // length in units of 8 bytes
  PutBytes(out, mac, 6);
  return out;
}

absl::Status SendGratuitousArp(int ifindex, const net::MacAddress& mac,
                               const net::IpAddress& ipv4) {
  std::string what = "garp " + net::IpToString(ipv4);
  UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!fd) return ErrnoStatus(errno, what, ": socket(AF_PACKET)");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ARP);
  sll.sll_ifindex = ifindex;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sll), sizeof(sll)) !=
      0)
    return ErrnoStatus(errno, what, ": bind ifindex ", ifindex);
  sll.sll_halen = 6;
  std::copy(std::begin(kBroadcastMac), std::end(kBroadcastMac), sll.sll_addr);
  std::vector<uint8_t> arp = EncodeGratuitousArp(mac, ipv4);
  if (::sendto(fd.get(), arp.data(), arp.size(), 0,
               reinterpret_cast<const sockaddr*>(&sll), sizeof(sll)) < 0)
    return ErrnoStatus(errno, what, ": sendto");
  return absl::OkStatus();
}

absl::Status SendUnsolicitedNa(int ifindex, const net::MacAddress& mac,
                               const net::IpAddress& ipv6) {
  std::string what = "unsolicited NA " + net::IpToString(ipv6);
  UniqueFd fd(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
  if (!fd) return ErrnoStatus(errno, what, ": socket(AF_INET6, SOCK_RAW)");
  // Upstream leaves the socket unbound, so its NA leaves by whatever
  // interface the ff02::1 route picks; bind it to ours.
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex,
                   sizeof(ifindex)) != 0)
    return ErrnoStatus(errno, what, ": SO_BINDTOIFINDEX ", ifindex);
  if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex,
                   sizeof(ifindex)) != 0)
    return ErrnoStatus(errno, what, ": IPV6_MULTICAST_IF");
  // RFC 4861 §7.1.2: receivers drop ND messages whose hop limit is not 255.
  int hops = 255;
  if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
                   sizeof(hops)) != 0)
    return ErrnoStatus(errno, what, ": IPV6_MULTICAST_HOPS");
  sockaddr_in6 dst{};
  dst.sin6_family = AF_INET6;
  dst.sin6_scope_id = static_cast<uint32_t>(ifindex);
  ::inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
  std::vector<uint8_t> na = EncodeUnsolicitedNa(mac, ipv6);
  if (::sendto(fd.get(), na.data(), na.size(), 0,
               reinterpret_cast<const sockaddr*>(&dst), sizeof(dst)) < 0)
    return ErrnoStatus(errno, what, ": sendto ff02::1");
  return absl::OkStatus();
}

absl::Status AnnounceAddresses(int ifindex, const net::MacAddress& mac,
                               const std::vector<net::IpAddress>& ips) {
  absl::Status first;
  for (const net::IpAddress& ip : ips) {
    absl::Status s = ip.family == AF_INET6
                         ? SendUnsolicitedNa(ifindex, mac, ip)
                         : SendGratuitousArp(ifindex, mac, ip);
    if (first.ok()) first = s;
  }
  return first;
}

}  // namespace sk::cni
