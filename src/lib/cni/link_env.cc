#include "lib/cni/link_env.h"

#include <unistd.h>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/cni/announce.h"
#include "lib/net/netns.h"
#include "lib/netlink/kernel_socket.h"

namespace sk::cni {

absl::StatusOr<std::unique_ptr<KernelLinkEnvironment>>
KernelLinkEnvironment::Create(int host_netns_fd) {
  UniqueFd host;
  if (host_netns_fd >= 0) {
    host = UniqueFd(::dup(host_netns_fd));
    if (!host) return ErrnoStatus(errno, "dup netns fd");
  } else {
    SK_ASSIGN_OR_RETURN(host, net::OpenCurrentNetns());
  }
  return std::unique_ptr<KernelLinkEnvironment>(
      new KernelLinkEnvironment(std::move(host)));
}

absl::StatusOr<UniqueFd> KernelLinkEnvironment::OpenNetns(
    const std::string& path) {
  return net::OpenNetns(path);
}
absl::StatusOr<std::unique_ptr<netlink::Socket>>
KernelLinkEnvironment::OpenSocket(int fd) {
  SK_ASSIGN_OR_RETURN(auto s, netlink::KernelSocket::Open(fd));
  return std::unique_ptr<netlink::Socket>(std::move(s));
}
absl::Status KernelLinkEnvironment::WriteSysctl(int fd, const std::string& key,
                                                const std::string& value) {
  return net::WriteSysctlInNetns(fd, key, value);
}
absl::Status KernelLinkEnvironment::Announce(
    int fd, int ifindex, const net::MacAddress& mac,
    const std::vector<net::IpAddress>& ips) {
  // The sockets must be created inside the pod netns: a socket belongs to
  // the namespace it was created in.
  return net::RunInNetns(fd,
                         [&] { return AnnounceAddresses(ifindex, mac, ips); });
}

}  // namespace sk::cni
