#include "lib/cni/dad.h"

#include <linux/if_addr.h>
#include <sys/socket.h>

namespace sk::cni {

DadState EvaluateDad(const std::vector<net::AddressInfo>& present,
                     const std::vector<net::IpPrefix>& wanted) {
  DadState st;
  for (const net::IpPrefix& w : wanted) {
    if (w.addr.family != AF_INET6) continue;
    const net::AddressInfo* found = nullptr;
    for (const net::AddressInfo& a : present)
      if (a.prefix.addr == w.addr) found = &a;
    // A failure anywhere decides; pending only if nothing failed.
    if (found == nullptr || (found->flags & IFA_F_DADFAILED) != 0) {
      return {DadState::kFailed, net::PrefixToString(w),
              found == nullptr ? "no longer configured"
                               : "duplicate address detected (DADFAILED)"};
    }
    if ((found->flags & IFA_F_TENTATIVE) != 0) st.outcome = DadState::kPending;
  }
  return st;
}

}  // namespace sk::cni
