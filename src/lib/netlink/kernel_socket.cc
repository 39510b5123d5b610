#include "lib/netlink/kernel_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"

namespace sk::netlink {

absl::StatusOr<std::unique_ptr<KernelSocket>> KernelSocket::Open(int netns_fd,
                                                                 int protocol) {
  UniqueFd self;
  if (netns_fd >= 0) {
    self = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!self) return ErrnoStatus(errno, "open own netns");
    if (::setns(netns_fd, CLONE_NEWNET) != 0)
      return ErrnoStatus(errno, "setns");
  }
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  int socket_errno = errno;
  if (self && ::setns(self.get(), CLONE_NEWNET) != 0) {
    // Staying in the wrong namespace would misdirect every later operation.
    SK_CHECK(false) << "cannot return to own netns: errno " << errno;
  }
  if (!fd) {
    return ErrnoStatus(socket_errno, "socket(AF_NETLINK, protocol ", protocol,
                       ")");
  }
  int one = 1;
  // Both options exist since Linux 4.12; ignore failure on older kernels.
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  int rcvbuf = 4 * 1024 * 1024;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return ErrnoStatus(errno, "bind netlink");
  return std::unique_ptr<KernelSocket>(new KernelSocket(std::move(fd)));
}

absl::StatusOr<std::vector<uint8_t>> KernelSocket::Receive() {
  for (;;) {
    ssize_t n = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "netlink recv");
    }
    std::vector<uint8_t> buf(
        static_cast<size_t>(n) < 16384 ? 16384 : static_cast<size_t>(n));
    n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "netlink recv");
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
}

absl::StatusOr<std::vector<Message>> KernelSocket::Transact(
    const Message& request) {
  Message req = request;
  bool dump = (req.flags() & NLM_F_DUMP) == NLM_F_DUMP;
  req.set_seq(++seq_);
  req.set_flags(static_cast<uint16_t>(req.flags() | NLM_F_REQUEST |
                                      (dump ? 0 : NLM_F_ACK)));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  auto bytes = req.bytes();
  ssize_t sent;
  do {
    sent = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                    reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ErrnoStatus(errno, "netlink send");

  std::vector<Message> replies;
  bool interrupted = false;
  for (;;) {
    SK_ASSIGN_OR_RETURN(std::vector<uint8_t> buf, Receive());
    SK_ASSIGN_OR_RETURN(std::vector<Message> msgs, ParseMessages(buf));
    for (Message& m : msgs) {
      if (m.seq() != seq_) continue;  // a late reply to an abandoned request
      if (m.flags() & NLM_F_DUMP_INTR) interrupted = true;
      if (m.type() == NLMSG_ERROR) {
        SK_RETURN_IF_ERROR(ErrorFromMessage(m));
        return replies;
      }
      if (m.type() == NLMSG_DONE) {
        // NLMSG_DONE carries an int error (negative errno) for failed dumps.
        auto err = m.Header<int>();
        if (err.ok() && *err < 0) return ErrnoStatus(-*err, "netlink dump");
        if (interrupted)
          return absl::UnavailableError(
              "netlink dump interrupted by a concurrent change; retry");
        return replies;
      }
      replies.push_back(std::move(m));
    }
  }
}

}  // namespace sk::netlink
