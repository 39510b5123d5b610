#pragma once

// Typed rtnetlink link operations over a netlink::Socket.
//
// Two families of operations:
//   - PF-side VF operations (SetVf*), each one RTM_SETLINK on the PF with
//     IFLA_VFINFO_LIST { IFLA_VF_INFO { <one attribute> } } using the
//     kernel's UAPI structs (ifla_vf_vlan_info with the protocol in network
//     byte order, sizeof = 16; sriov-cni #303 / s390x e38ca8e9), and SetVfs,
//     one RTM_SETLINK whose IFLA_VF_INFO carries several fields at once.
//   - Link operations on a netdev (rename, MAC, MTU, up/down, netns move,
//     altname delete, addresses, routes) in whatever namespace the socket
//     was opened in.
//
// Every error is annotated "<link> [vf N]: <op>: <kernel text>", where the
// kernel text includes the extended ACK (netlink::ErrorFromMessage); the
// Status code is the errno's (ENODEV -> NotFound, EBUSY -> Unavailable,
// EINVAL -> InvalidArgument, EOPNOTSUPP -> Unimplemented, EEXIST ->
// AlreadyExists). Request building and reply parsing are also exposed as
// pure functions for tests and fuzzing.
//
// Not thread-safe (the socket is not).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/net/addr.h"
#include "lib/netlink/socket.h"

namespace sk::net {

inline constexpr uint16_t kEthP8021Q = 0x8100;
inline constexpr uint16_t kEthP8021AD = 0x88a8;

// One VF as reported in the PF's IFLA_VFINFO_LIST.
struct VfInfo {
  uint32_t id = 0;
  MacAddress mac{};  // admin MAC (IFLA_VF_MAC)
  uint32_t vlan = 0;
  uint32_t qos = 0;
  uint16_t vlan_proto = kEthP8021Q;  // host byte order
  uint32_t min_tx_rate = 0;          // Mbps
  uint32_t max_tx_rate = 0;          // Mbps
  bool spoofchk = false;
  bool trust = false;
  uint32_t link_state = 0;  // IFLA_VF_LINK_STATE_AUTO/ENABLE/DISABLE
  bool operator==(const VfInfo&) const = default;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  MacAddress mac{};
  uint32_t mtu = 0;
  uint32_t flags = 0;  // IFF_*
  std::vector<std::string> altnames;
  std::optional<uint32_t> num_vf;  // IFLA_NUM_VF, when requested
  std::vector<VfInfo> vfs;         // only with RTEXT_FILTER_VF
  bool operator==(const LinkInfo&) const = default;
};

// One address of a link as RTM_GETADDR reports it.
struct AddressInfo {
  IpPrefix prefix;
  uint32_t flags = 0;  // IFA_F_* (IFA_FLAGS when present, else ifa_flags)
  bool operator==(const AddressInfo&) const = default;
};

// Names a link for requests and error messages.
struct LinkRef {
  int index = 0;
  std::string name;
};

// Pure encoding/decoding.
// Decodes an RTM_NEWLINK. InvalidArgument on malformed attributes.
absl::StatusOr<LinkInfo> ParseLink(const netlink::Message& m);
// Encodes `link` as the kernel would report it (used by fakes and tests).
netlink::Message EncodeLink(const LinkInfo& link, bool with_vfs);

enum class VfField { kVlan, kMac, kRate, kSpoofchk, kTrust, kLinkState };
// Builds RTM_SETLINK on `pf_index` setting one field of `vf` from `v`.
netlink::Message BuildSetVf(int pf_index, VfField field, const VfInfo& v);
// Decodes a BuildSetVf request back into (field, values) — the inverse used
// by fakes to apply requests. InvalidArgument if it is not one.
struct SetVfRequest {
  int pf_index = 0;
  VfField field = VfField::kVlan;
  VfInfo values;
};
absl::StatusOr<SetVfRequest> ParseSetVf(const netlink::Message& m);

// Several fields of one VF in one RTM_SETLINK: IFLA_VFINFO_LIST with one
// IFLA_VF_INFO holding the attribute of each of `fields`, in that order.
//
// The kernel (do_setvfinfo, net/core/rtnetlink.c) does not apply them in
// message order but in its own fixed order, kKernelVfApplyOrder, and stops
// at the first field the driver refuses: the fields before it in that order
// are applied, the rest are not, and the error does not say which field it
// was. Callers that need "exactly as before" on failure re-read the VF.
inline constexpr VfField kKernelVfApplyOrder[] = {
    VfField::kMac,      VfField::kVlan,      VfField::kRate,
    VfField::kSpoofchk, VfField::kLinkState, VfField::kTrust};
netlink::Message BuildSetVfs(int pf_index, const std::vector<VfField>& fields,
                             const VfInfo& v);
struct SetVfsRequest {
  int pf_index = 0;
  std::vector<VfField> fields;  // in message order
  VfInfo values;
};
// The inverse of BuildSetVfs (and of BuildSetVf, as one field).
// InvalidArgument if it is not a VF RTM_SETLINK, a field repeats, or an
// IFLA_VF_INFO attribute is not one of VfField's.
absl::StatusOr<SetVfsRequest> ParseSetVfs(const netlink::Message& m);

class LinkOps {
 public:
  explicit LinkOps(netlink::Socket& socket) : socket_(socket) {}

  // NotFound if no such link. `with_vfs` adds IFLA_EXT_MASK=RTEXT_FILTER_VF
  // so the reply carries the VF list.
  absl::StatusOr<LinkInfo> GetLink(std::string_view name,
                                   bool with_vfs = false);
  absl::StatusOr<LinkInfo> GetLinkByIndex(int index, bool with_vfs = false);
  absl::StatusOr<std::vector<LinkInfo>> ListLinks();

  absl::Status SetVfVlan(const LinkRef& pf, uint32_t vf, uint32_t vlan,
                         uint32_t qos, uint16_t proto);
  absl::Status SetVfMac(const LinkRef& pf, uint32_t vf, const MacAddress& mac);
  absl::Status SetVfRate(const LinkRef& pf, uint32_t vf, uint32_t min_mbps,
                         uint32_t max_mbps);
  absl::Status SetVfSpoofchk(const LinkRef& pf, uint32_t vf, bool on);
  absl::Status SetVfTrust(const LinkRef& pf, uint32_t vf, bool on);
  absl::Status SetVfLinkState(const LinkRef& pf, uint32_t vf, uint32_t state);
  // Applies one field of `v` to VF v.id.
  absl::Status SetVf(const LinkRef& pf, VfField field, const VfInfo& v);
  // Applies `fields` of `v` to VF v.id in one request (BuildSetVfs). The
  // error names the fields, not the one refused (the kernel does not say).
  absl::Status SetVfs(const LinkRef& pf, const std::vector<VfField>& fields,
                      const VfInfo& v);

  absl::Status SetName(const LinkRef& link, std::string_view name);
  absl::Status SetMac(const LinkRef& link, const MacAddress& mac);
  absl::Status SetMtu(const LinkRef& link, uint32_t mtu);
  absl::Status SetUp(const LinkRef& link, bool up);
  // Moves the link to the network namespace `netns_fd` (IFLA_NET_NS_FD).
  absl::Status SetNetns(const LinkRef& link, int netns_fd);
  // RTM_DELLINKPROP IFLA_PROP_LIST { IFLA_ALT_IFNAME }.
  absl::Status DeleteAltName(const LinkRef& link, std::string_view altname);
  // AlreadyExists if present.
  absl::Status AddAddress(const LinkRef& link, const IpPrefix& prefix);
  absl::StatusOr<std::vector<IpPrefix>> ListAddresses(const LinkRef& link);
  // The same dump with each address's flags (IFA_F_TENTATIVE,
  // IFA_F_DADFAILED, ...), e.g. to wait for IPv6 DAD.
  absl::StatusOr<std::vector<AddressInfo>> ListAddressInfo(const LinkRef& link);
  // Adds a main-table route via `gw` (if set) out of `link`.
  absl::Status AddRoute(const LinkRef& link, const IpPrefix& dst,
                        const std::optional<IpAddress>& gw);

 private:
  absl::StatusOr<LinkInfo> GetLinkImpl(int index, std::string_view name,
                                       bool with_vfs);
  absl::Status Exec(const netlink::Message& m, std::string_view context);

  netlink::Socket& socket_;
};

std::string VfFieldName(VfField f);
// "vlan,mac,trust".
std::string VfFieldNames(const std::vector<VfField>& fields);

}  // namespace sk::net
