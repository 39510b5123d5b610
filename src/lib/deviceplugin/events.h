#pragma once
// Kernel device events as a seam for the device-plugin daemon: the daemon
// polls EventSource::fd() and re-runs discovery when Drain() returns an
// event that can change a pool (VFs created or destroyed by sriov_numvfs,
// driver bind/unbind, netdev add/remove/rename, a PF's carrier change).
//
//   std::vector<std::unique_ptr<EventSource>> srcs;
//   SK_ASSIGN_OR_RETURN(srcs.emplace_back(), OpenUeventSource());
//   SK_ASSIGN_OR_RETURN(srcs.emplace_back(), OpenLinkEventSource());
//   SK_ASSIGN_OR_RETURN(opts.events, MergeEventSources(std::move(srcs)));
//
// Two real sources:
// - uevents: a NETLINK_KOBJECT_UEVENT socket bound to the kernel's
//   multicast group (the raw kernel messages, not udev's re-broadcast), kept
//   to subsystems "pci" and "net" and actions add/remove/bind/unbind/change/
//   move.
// - link events: a NETLINK_ROUTE socket in RTNLGRP_LINK. The kernel sends
//   RTM_NEWLINK for every link change (flags, MTU, a VF's MAC set through
//   its PF...), so the source keeps the last state of each link (seeded
//   from an RTM_GETLINK dump when it opens) and reports only what pools
//   depend on, as a DeviceEvent of subsystem "net" with
//   env SOURCE=rtnetlink, INTERFACE, IFINDEX, CARRIER (0/1):
//     "add"    a link appeared           "remove" RTM_DELLINK (also a
//     "move"   renamed (INTERFACE_OLD)            netns move away)
//     "change" carrier changed (IFF_LOWER_UP: up and carrier, as the
//              carrier file reads; a link set down has no carrier)
//   Virtual links (IFLA_LINKINFO names a kind: veth, bridge, vlan...) are
//   left out unless LinkSourceOptions::include_virtual, so pod churn on a
//   node does not trigger rediscovery. Without it a PF's carrier change is
//   seen only at the next uevent or rescan (the kernel sends no uevent for
//   carrier).
// Tests use tests/testing/fake_event_source.h and inject the events a
// kernel would send (FakeEventSource::InjectLink for link events).
//
// Thread safety: an EventSource is used from the daemon's thread only
// (fakes may allow Inject from others).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
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

// One RTM_NEWLINK / RTM_DELLINK message, reduced to what pools depend on.
struct LinkMessage {
  bool deleted = false;  // RTM_DELLINK
  uint32_t seq = 0;      // nlmsg_seq: 0 for notifications, else a dump's
  int ifindex = 0;
  std::string name;         // IFLA_IFNAME
  bool lower_up = false;    // ifi_flags & IFF_LOWER_UP
  bool is_virtual = false;  // IFLA_LINKINFO carries IFLA_INFO_KIND
};

// The link messages of one NETLINK_ROUTE datagram; other message types
// (NLMSG_DONE, NLMSG_ERROR, addresses...) are skipped. InvalidArgument,
// naming the offset, for a truncated message, a short ifinfomsg or
// malformed attributes.
absl::StatusOr<std::vector<LinkMessage>> ParseLinkMessages(
    std::span<const uint8_t> datagram);

// The last state of each link, and the DeviceEvent (rules above) a new
// message makes. Pure; the real source feeds it from its socket.
class LinkTracker {
 public:
  explicit LinkTracker(bool include_virtual)
      : include_virtual_(include_virtual) {}
  // Records `m` without an event (the dump at start or after an overflow).
  void Seed(const LinkMessage& m);
  // Records `m`; the event when it changes what pools depend on.
  std::optional<DeviceEvent> Update(const LinkMessage& m);
  size_t size() const { return links_.size(); }

 private:
  struct State {
    std::string name;
    bool lower_up = false;
    bool is_virtual = false;
  };
  bool include_virtual_;
  std::map<int, State> links_;
};

struct LinkSourceOptions {
  bool include_virtual = false;  // report veth, bridge... links too
};

// The NETLINK_ROUTE RTNLGRP_LINK source. The errno code of socket/bind/send
// naming the call on failure.
absl::StatusOr<std::unique_ptr<EventSource>> OpenLinkEventSource(
    const LinkSourceOptions& opts = {});

// One source over several (an epoll descriptor readable while any of them
// is); Drain() returns their events in the order given. Internal (errno of
// epoll_create1/epoll_ctl) on failure; InvalidArgument for no sources.
absl::StatusOr<std::unique_ptr<EventSource>> MergeEventSources(
    std::vector<std::unique_ptr<EventSource>> sources);

// The uevent and link sources merged (what the daemon binary uses). A
// source that cannot open is left out, its error appended to `warnings`;
// the error of the last one when none opens.
absl::StatusOr<std::unique_ptr<EventSource>> OpenKernelEventSources(
    std::vector<std::string>* warnings);

}  // namespace sk::deviceplugin
