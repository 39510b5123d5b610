#pragma once

// Gratuitous ARP and unsolicited IPv6 Neighbor Advertisement after ADD, as
// k8snetworkplumbingwg/sriov-cni v2.8 sends them once IPAM has configured
// the interface.
//
// Why: an IP address is often reused by a new pod whose VF has another MAC;
// neighbours keep the old MAC until their cache entry expires. The kernel's
// arp_notify / ndisc_notify only announce on link up or MAC change, which
// happen before IPAM adds the addresses, so the plugin announces each
// address itself once it is configured. It is a performance hint: every
// failure is logged by the caller and never fails ADD (sriov-cni PRs #216,
// #306).
//
// Wire format, byte for byte what upstream sends:
//   * IPv4: an ARP request (RFC 826 layout, RFC 5944 §4.6 semantics)
//       htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (request),
//       sha = interface MAC, spa = tpa = the address,
//       tha = ff:ff:ff:ff:ff:ff (upstream's choice; RFC 5227 §2.1.1 says
//       receivers ignore it),
//     carried in an Ethernet frame to ff:ff:ff:ff:ff:ff built by the kernel
//     (AF_PACKET/SOCK_DGRAM, ETH_P_ARP, socket bound to the interface).
//   * IPv6: an ICMPv6 Neighbor Advertisement (RFC 4861 §4.4, §7.2.6)
//       type 136, code 0, checksum 0 (the kernel always computes the
//       checksum of raw ICMPv6 sockets, RFC 3542 §3.1), flags Override
//       only (R=0, S=0), target = the address, option 2 (target link-layer
//       address) of length 1 (8 bytes) carrying the MAC,
//     sent to ff02::1 with hop limit 255 from a raw ICMPv6 socket bound to
//     the interface; the kernel picks the source address.
//
// Encoders are pure (unit-tested by exact bytes); senders do I/O in the
// calling thread's current network namespace.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

#include "lib/net/addr.h"

namespace sk::cni {

// The 28-byte ARP payload. `ipv4` must be AF_INET (SK_CHECK).
std::vector<uint8_t> EncodeGratuitousArp(const net::MacAddress& mac,
                                         const net::IpAddress& ipv4);

// The 32-byte ICMPv6 message (checksum left 0). `ipv6` must be AF_INET6.
std::vector<uint8_t> EncodeUnsolicitedNa(const net::MacAddress& mac,
                                         const net::IpAddress& ipv6);

// Send one gratuitous ARP / unsolicited NA for `ip` on `ifindex` of the
// current netns. Errno statuses ("garp 10.1.2.3: sendto: ...").
absl::Status SendGratuitousArp(int ifindex, const net::MacAddress& mac,
                               const net::IpAddress& ipv4);
absl::Status SendUnsolicitedNa(int ifindex, const net::MacAddress& mac,
                               const net::IpAddress& ipv6);

// One announcement per address in `ips` (GARP for IPv4, NA for IPv6), in
// order, continuing after failures. Returns the first error.
absl::Status AnnounceAddresses(int ifindex, const net::MacAddress& mac,
                               const std::vector<net::IpAddress>& ips);

}  // namespace sk::cni
