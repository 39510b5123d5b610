#pragma once

#include <linux/netlink.h>

#include <memory>

#include "absl/status/statusor.h"

#include "lib/base/unique_fd.h"
#include "lib/netlink/socket.h"

namespace sk::netlink {

// A NETLINK_ROUTE (or NETLINK_GENERIC) socket talking to the kernel.
//
// Sets NETLINK_EXT_ACK (so a kernel EINVAL carries its reason),
// NETLINK_CAP_ACK (errors do not echo the request) and a 4 MiB receive
// buffer; replies are received with MSG_PEEK|MSG_TRUNC sizing, so the
// RTM_GETLINK of a PF with 100+ VFs (tens of KiB) is never truncated.
class KernelSocket : public Socket {
 public:
  // Opens the socket in the caller's network namespace (netns_fd < 0) or in
  // the namespace `netns_fd` refers to: the calling thread enters it with
  // setns(2) for the socket(2) call and returns to its own namespace before
  // this returns. A socket stays bound to the namespace it was created in.
  // Returns the errno status of socket/setns/bind.
  // `protocol` is NETLINK_ROUTE by default; NETLINK_GENERIC for generic
  // netlink families (devlink).
  static absl::StatusOr<std::unique_ptr<KernelSocket>> Open(
      int netns_fd = -1, int protocol = NETLINK_ROUTE);

  absl::StatusOr<std::vector<Message>> Transact(
      const Message& request) override;

 private:
  explicit KernelSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::StatusOr<std::vector<uint8_t>> Receive();

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace sk::netlink
