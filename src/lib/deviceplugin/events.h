#pragma once
// Kernel device events as a seam for the device-plugin daemon: the daemon
// polls EventSource::fd() and re-runs discovery when Drain() returns an
// event that can change a pool (VFs created or destroyed by sriov_numvfs,
// driver bind/unbind, netdev add/remove/rename).
//
//   SK_ASSIGN_OR_RETURN(auto src, OpenUeventSource());
//   opts.events = std::move(src);   // DaemonOptions
//
// The real source is a NETLINK_KOBJECT_UEVENT socket bound to the kernel's
// multicast group (the raw kernel messages, not udev's re-broadcast), kept
// to subsystems "pci" and "net" and actions add/remove/bind/unbind/change/
// move. Tests use tests/testing/fake_event_source.h and inject the events a
// kernel would send.
//
// Thread safety: an EventSource is used from the daemon's thread only
// (fakes may allow Inject from others).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sk::deviceplugin {

// One kernel uevent: "ACTION@DEVPATH\0KEY=VALUE\0...".
struct DeviceEvent {
  std::string action;     // "add", "remove", "bind", "unbind", ...
  std::string devpath;    // "/devices/pci0000:00/0000:00:02.0/..."
  std::string subsystem;  // SUBSYSTEM=
  std::map<std::string, std::string> env;  // every KEY=VALUE, bounded
};

// Parses one datagram. InvalidArgument (naming the offset) when it has no
// "ACTION@DEVPATH" header, is over 8 KiB, or has more than 64 variables.
// Messages starting "libudev" (udev's re-broadcast) are InvalidArgument too.
absl::StatusOr<DeviceEvent> ParseUevent(std::string_view msg);

// True for pci/net events with an action that can change a pool.
bool AffectsPools(const DeviceEvent& ev);

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Readable (POLLIN) while events are pending.
  virtual int fd() const = 0;
  // Returns the pending events that AffectsPools(), without blocking.
  virtual std::vector<DeviceEvent> Drain() = 0;
};

// The NETLINK_KOBJECT_UEVENT source. The errno code of socket/bind
// (e.g. PermissionDenied) naming the call on failure.
absl::StatusOr<std::unique_ptr<EventSource>> OpenUeventSource();

}  // namespace sk::deviceplugin
