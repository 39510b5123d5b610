#pragma once

// The only I/O interface of the netlink layer.
//
// A Socket performs one request/response exchange. Implementations:
//   - KernelSocket (kernel_socket.h): a NETLINK_ROUTE socket with extended
//     ACKs, sequence numbers and dump handling.
//   - FakeNetlinkSocket (tests/testing/fake_netlink_socket.h): records
//     requests and replays scripted replies or errors.
//
// Not thread-safe; use one Socket per thread.

#include <vector>

#include "absl/status/statusor.h"

#include "lib/netlink/message.h"

namespace sk::netlink {

class Socket {
 public:
  virtual ~Socket() = default;

  // Sends `request` (the implementation sets sequence number and port id,
  // and adds NLM_F_ACK to non-dump requests) and returns the reply messages
  // excluding the final ACK / NLMSG_DONE. For a request the kernel rejects
  // returns ErrorFromMessage's status (errno code + extended-ACK text).
  // Unavailable for socket-level failures (EINTR/ENOBUFS) and for a dump
  // interrupted by a concurrent change (NLM_F_DUMP_INTR; retry).
  virtual absl::StatusOr<std::vector<Message>> Transact(
      const Message& request) = 0;
};

}  // namespace sk::netlink
