#pragma once

// The VF netdev side of the sriov CNI plugin (plugin.h): namespace handles
// and netlink sockets opened inside the host and pod namespaces, used for
// moves, renames, MAC/MTU, up, addresses and routes, plus the sysctls and
// the address announcements that must happen inside the pod netns.
//
// Production and the root integration tests use KernelLinkEnvironment (the
// real kernel; tests pass a private "host" netns). Unit tests use a fake
// over tests/testing/fake_link_kernel.h. The PF side (VF vlan, MAC, rate,
// ...) is not here: it goes through the plugin's `pf_socket`.
//
// Thread-compatible: one instance per plugin invocation.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/base/unique_fd.h"
#include "lib/net/addr.h"
#include "lib/netlink/socket.h"

namespace sk::cni {

// Namespaces and link sockets for the VF netdev side (see file comment).
class LinkEnvironment {
 public:
  virtual ~LinkEnvironment() = default;
  // The namespace the VF netdevs live in when not attached (borrowed fd).
  virtual int host_netns() const = 0;
  // NotFound when `path` does not exist (pod netns gone).
  virtual absl::StatusOr<UniqueFd> OpenNetns(const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<netlink::Socket>> OpenSocket(
      int netns_fd) = 0;
  // Best effort; failures are ignored by the plugin.
  virtual absl::Status WriteSysctl(int netns_fd, const std::string& key,
                                   const std::string& value) = 0;
  // Sends one gratuitous ARP (IPv4) or unsolicited NA (IPv6) per address of
  // `ips` from link `ifindex` with `mac` inside `netns_fd` (announce.h).
  // Returns the first error; the plugin only logs it.
  virtual absl::Status Announce(int netns_fd, int ifindex,
                                const net::MacAddress& mac,
                                const std::vector<net::IpAddress>& ips) = 0;
};

class KernelLinkEnvironment : public LinkEnvironment {
 public:
  // `host_netns_fd` < 0 means the caller's current namespace.
  static absl::StatusOr<std::unique_ptr<KernelLinkEnvironment>> Create(
      int host_netns_fd = -1);
  int host_netns() const override { return host_.get(); }
  absl::StatusOr<UniqueFd> OpenNetns(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<netlink::Socket>> OpenSocket(
      int netns_fd) override;
  absl::Status WriteSysctl(int netns_fd, const std::string& key,
                           const std::string& value) override;
  absl::Status Announce(int netns_fd, int ifindex, const net::MacAddress& mac,
                        const std::vector<net::IpAddress>& ips) override;

 private:
  explicit KernelLinkEnvironment(UniqueFd host) : host_(std::move(host)) {}
  UniqueFd host_;
};

}  // namespace sk::cni
