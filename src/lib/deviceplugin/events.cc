#include "lib/deviceplugin/events.h"

#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"
#include "lib/deviceplugin/validate.h"
#include "lib/netlink/message.h"

namespace sk::deviceplugin {
namespace {

constexpr size_t kMaxUeventBytes = 8192;
constexpr size_t kMaxUeventVars = 64;

class UeventSource final : public EventSource {
 public:
  explicit UeventSource(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const override { return fd_.get(); }
  std::vector<DeviceEvent> Drain() override {
    std::vector<DeviceEvent> out;
    char buf[kMaxUeventBytes];
    while (true) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      // ENOBUFS: the kernel dropped messages; report a synthetic event so
      // the daemon re-discovers anyway.
      if (n < 0 && errno == ENOBUFS) {
        out.push_back(DeviceEvent{"change", "", "pci", {}});
        continue;
      }
      if (n <= 0) break;
      auto ev = ParseUevent(std::string_view(buf, static_cast<size_t>(n)));
      if (ev.ok() && AffectsPools(*ev)) out.push_back(*std::move(ev));
    }
    return out;
  }

 private:
  UniqueFd fd_;
};

}  // namespace

absl::StatusOr<DeviceEvent> ParseUevent(std::string_view msg) {
  if (msg.size() > kMaxUeventBytes) {
    return absl::InvalidArgumentError(
        sk::StrCat("uevent: ", msg.size(), " bytes, over ", kMaxUeventBytes));
  }
  if (msg.rfind("libudev", 0) == 0) {
    return absl::InvalidArgumentError("uevent: udev message, not the kernel's");
  }
  size_t end = msg.find('\0');
  std::string_view head = msg.substr(0, end);
  size_t at = head.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == head.size()) {
    return absl::InvalidArgumentError(sk::StrCat(
        "uevent: header at offset 0 is not ACTION@DEVPATH: ", Bounded(head)));
  }
  DeviceEvent ev;
  ev.action = std::string(head.substr(0, at));
  ev.devpath = std::string(head.substr(at + 1));
  size_t pos = end == std::string_view::npos ? msg.size() : end + 1;
  while (pos < msg.size()) {
    size_t e = msg.find('\0', pos);
    if (e == std::string_view::npos) e = msg.size();
    std::string_view kv = msg.substr(pos, e - pos);
    if (!kv.empty()) {
      if (ev.env.size() >= kMaxUeventVars) {
        return absl::InvalidArgumentError(
            sk::StrCat("uevent: more than ", kMaxUeventVars,
                       " variables at offset ", pos));
      }
      size_t eq = kv.find('=');
      if (eq != std::string_view::npos) {
        ev.env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
      }
    }
    pos = e + 1;
  }
  if (auto it = ev.env.find("SUBSYSTEM"); it != ev.env.end()) {
    ev.subsystem = it->second;
  }
  return ev;
}

bool AffectsPools(const DeviceEvent& ev) {
  if (ev.subsystem != "pci" && ev.subsystem != "net") return false;
  return ev.action == "add" || ev.action == "remove" || ev.action == "bind" ||
         ev.action == "unbind" || ev.action == "change" || ev.action == "move";
}

absl::StatusOr<std::unique_ptr<EventSource>> OpenUeventSource() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       NETLINK_KOBJECT_UEVENT));
  if (!fd) return ErrnoStatus(errno, "socket(NETLINK_KOBJECT_UEVENT)");
  struct sockaddr_nl addr = {};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;  // the kernel's broadcast group
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr),
             sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind(NETLINK_KOBJECT_UEVENT, group 1)");
  }
  return std::unique_ptr<EventSource>(new UeventSource(std::move(fd)));
}

namespace {

// A link event as DeviceEvent (events.h).
DeviceEvent LinkEvent(const std::string& action, const LinkMessage& m) {
  DeviceEvent ev;
  ev.action = action;
  ev.devpath = "";  // rtnetlink names no device path
  ev.subsystem = "net";
  ev.env["SUBSYSTEM"] = "net";
  ev.env["SOURCE"] = "rtnetlink";
  ev.env["INTERFACE"] = m.name;
  ev.env["IFINDEX"] = std::to_string(m.ifindex);
  ev.env["CARRIER"] = m.lower_up ? "1" : "0";
  return ev;
}

// Kernel notifications of a link are small (no VF list, no stats request);
// a dump part is at most a page or two. Longer datagrams are truncated and
// treated as an overflow.
constexpr size_t kMaxRtnlDatagram = size_t{64} << 10;
constexpr uint32_t kDumpSeqBase = 1;

class LinkEventSource final : public EventSource {
 public:
  LinkEventSource(UniqueFd fd, const LinkSourceOptions& opts)
      : fd_(std::move(fd)),
        tracker_(opts.include_virtual),
        buf_(kMaxRtnlDatagram) {}
  int fd() const override { return fd_.get(); }

  // Asks for every link; the replies seed the tracker (seq != 0).
  absl::Status RequestDump() {
    netlink::MessageBuilder b(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    b.PutHeader(ifi);
    netlink::Message req = std::move(b).Build();
    req.set_seq(dump_seq_++);
    auto bytes = req.bytes();
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), 0);
    if (n < 0) return ErrnoStatus(errno, "send(RTM_GETLINK dump)");
    need_dump_ = false;
    return absl::OkStatus();
  }

  std::vector<DeviceEvent> Drain() override {
    std::vector<DeviceEvent> out;
    while (true) {
      ssize_t n =
          ::recv(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR) continue;
      if ((n < 0 && errno == ENOBUFS) ||
          (n > 0 && static_cast<size_t>(n) > buf_.size())) {
        // Messages were lost (or one was cut): the tracker is stale. A
        // synthetic event re-discovers everything; a new dump re-seeds.
        DeviceEvent ev;
        ev.action = "change";
        ev.subsystem = "net";
        ev.env["SOURCE"] = "rtnetlink";
        ev.env["OVERFLOW"] = "1";
        out.push_back(std::move(ev));
        need_dump_ = true;
        continue;
      }
      if (n <= 0) break;
      auto msgs = ParseLinkMessages(
          std::span<const uint8_t>(buf_.data(), static_cast<size_t>(n)));
      if (!msgs.ok()) continue;  // not from the kernel's link code; skip
      for (const LinkMessage& m : *msgs) {
        if (m.seq != 0) {
          tracker_.Seed(m);
        } else if (auto ev = tracker_.Update(m)) {
          out.push_back(*std::move(ev));
        }
      }
    }
    // EBUSY while the previous dump runs: tried again at the next Drain.
    if (need_dump_) (void)RequestDump();
    return out;
  }

 private:
  UniqueFd fd_;
  LinkTracker tracker_;
  std::vector<uint8_t> buf_;
  uint32_t dump_seq_ = kDumpSeqBase;
  bool need_dump_ = false;
};

class MergedEventSource final : public EventSource {
 public:
  MergedEventSource(UniqueFd epoll,
                    std::vector<std::unique_ptr<EventSource>> sources)
      : epoll_(std::move(epoll)), sources_(std::move(sources)) {}
  int fd() const override { return epoll_.get(); }
  std::vector<DeviceEvent> Drain() override {
    std::vector<DeviceEvent> out;
    for (auto& s : sources_) {
      for (DeviceEvent& ev : s->Drain()) out.push_back(std::move(ev));
    }
    return out;
  }

 private:
  UniqueFd epoll_;
  std::vector<std::unique_ptr<EventSource>> sources_;
};

}  // namespace

absl::StatusOr<std::vector<LinkMessage>> ParseLinkMessages(
    std::span<const uint8_t> datagram) {
  auto msgs = netlink::ParseMessages(datagram);
  if (!msgs.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat("rtnetlink: ", msgs.status().message()));
  }
  std::vector<LinkMessage> out;
  size_t offset = 0;
  for (const netlink::Message& msg : *msgs) {
    size_t at = offset;
    offset += NLMSG_ALIGN(msg.bytes().size());
    if (msg.type() != RTM_NEWLINK && msg.type() != RTM_DELLINK) continue;
    auto ifi = msg.Header<ifinfomsg>();
    if (!ifi.ok()) {
      return absl::InvalidArgumentError(sk::StrCat(
          "rtnetlink: message at offset ", at, ": ", ifi.status().message()));
    }
    auto attrs = msg.Attributes(sizeof(ifinfomsg));
    if (!attrs.ok()) {
      return absl::InvalidArgumentError(sk::StrCat(
          "rtnetlink: message at offset ", at, ": ", attrs.status().message()));
    }
    LinkMessage m;
    m.deleted = msg.type() == RTM_DELLINK;
    m.seq = msg.seq();
    m.ifindex = ifi->ifi_index;
    m.lower_up = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
    if (const netlink::Attr* a = attrs->Find(IFLA_IFNAME))
      m.name = a->AsString();
    if (const netlink::Attr* a = attrs->Find(IFLA_LINKINFO)) {
      auto info = a->Nested();
      m.is_virtual = info.ok() && info->Find(IFLA_INFO_KIND) != nullptr;
    }
    out.push_back(std::move(m));
  }
  return out;
}

void LinkTracker::Seed(const LinkMessage& m) {
  if (m.deleted) {
    links_.erase(m.ifindex);
    return;
  }
  links_[m.ifindex] = State{m.name, m.lower_up, m.is_virtual};
}

std::optional<DeviceEvent> LinkTracker::Update(const LinkMessage& m) {
  auto it = links_.find(m.ifindex);
  bool is_virtual =
      m.is_virtual || (it != links_.end() && it->second.is_virtual);
  bool report = include_virtual_ || !is_virtual;
  if (m.deleted) {
    if (it == links_.end()) return std::nullopt;  // never seen: no change
    LinkMessage last = m;
    if (last.name.empty()) last.name = it->second.name;
    links_.erase(it);
    if (!report) return std::nullopt;
    return LinkEvent("remove", last);
  }
  if (it == links_.end()) {
    links_[m.ifindex] = State{m.name, m.lower_up, m.is_virtual};
    if (!report) return std::nullopt;
    return LinkEvent("add", m);
  }
  State before = it->second;
  it->second =
      State{m.name.empty() ? before.name : m.name, m.lower_up, is_virtual};
  if (!report) return std::nullopt;
  if (!m.name.empty() && m.name != before.name) {
    DeviceEvent ev = LinkEvent("move", m);
    ev.env["INTERFACE_OLD"] = before.name;
    return ev;
  }
  if (m.lower_up != before.lower_up) return LinkEvent("change", m);
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<EventSource>> OpenLinkEventSource(
    const LinkSourceOptions& opts) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       NETLINK_ROUTE));
  if (!fd) return ErrnoStatus(errno, "socket(NETLINK_ROUTE)");
  // Room for a burst (sriov_numvfs creating many VF netdevs at once); the
  // kernel caps it at net.core.rmem_max, and an overflow is handled anyway.
  int rcvbuf = 1 << 20;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_nl addr = {};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr),
             sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind(NETLINK_ROUTE, RTMGRP_LINK)");
  }
  auto src = std::make_unique<LinkEventSource>(std::move(fd), opts);
  SK_RETURN_IF_ERROR(src->RequestDump());
  return std::unique_ptr<EventSource>(std::move(src));
}

absl::StatusOr<std::unique_ptr<EventSource>> MergeEventSources(
    std::vector<std::unique_ptr<EventSource>> sources) {
  if (sources.empty()) {
    return absl::InvalidArgumentError("MergeEventSources: no sources");
  }
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return ErrnoStatus(errno, "epoll_create1");
  for (const auto& s : sources) {
    struct epoll_event e = {};
    e.events = EPOLLIN;
    e.data.fd = s->fd();
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, s->fd(), &e) != 0) {
      return ErrnoStatus(errno, "epoll_ctl(ADD, fd ", s->fd(), ")");
    }
  }
  return std::unique_ptr<EventSource>(
      new MergedEventSource(std::move(ep), std::move(sources)));
}

absl::StatusOr<std::unique_ptr<EventSource>> OpenKernelEventSources(
    std::vector<std::string>* warnings) {
  std::vector<std::unique_ptr<EventSource>> srcs;
  absl::Status last;
  for (auto open : {+[] { return OpenUeventSource(); },
                    +[] { return OpenLinkEventSource(); }}) {
    auto src = open();
    if (src.ok()) {
      srcs.push_back(*std::move(src));
    } else {
      last = src.status();
      warnings->push_back(std::string(last.message()));
    }
  }
  if (srcs.empty()) return last;
  return MergeEventSources(std::move(srcs));
}

}  // namespace sk::deviceplugin
