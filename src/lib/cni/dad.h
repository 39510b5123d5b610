#pragma once

// IPv6 duplicate address detection (DAD) after the plugin adds addresses,
// as containernetworking/plugins pkg/ipam/ipam_linux.go ConfigureIface
// settles them (ip.SettleAddresses).
//
// A new IPv6 address is IFA_F_TENTATIVE until the kernel's DAD finishes
// (about 1-2 s with the default dad_transmits=1 and retrans timer; longer
// while the link has no carrier). Routes via it and the unsolicited NA are
// useless before that, and a duplicate shows up as IFA_F_DADFAILED. The
// plugin polls the addresses and decides with EvaluateDad (pure, unit
// tested): settled when none of the wanted IPv6 addresses is tentative,
// failed when one has DADFAILED or vanished. IPv4 addresses and addresses
// the plugin did not add (the link-local one) are not waited for.

#include <string>
#include <vector>

#include "lib/net/addr.h"
#include "lib/net/link_ops.h"

namespace sk::cni {

struct DadState {
  enum Outcome { kSettled, kPending, kFailed } outcome = kSettled;
  // kFailed: the address (prefix form) and why ("duplicate address
  // detected (DADFAILED)" or "no longer configured").
  std::string address;
  std::string reason;
};

// `present`: the link's addresses with flags; `wanted`: the addresses the
// plugin added (IPv4 entries are ignored).
DadState EvaluateDad(const std::vector<net::AddressInfo>& present,
                     const std::vector<net::IpPrefix>& wanted);

}  // namespace sk::cni
