#include "lib/deviceplugin/events.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/errno_status.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"
#include "lib/deviceplugin/validate.h"

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

}  // namespace sk::deviceplugin
