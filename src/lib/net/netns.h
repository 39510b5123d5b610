#pragma once

// Network-namespace handles for the CNI plugin.
//
// The calling thread temporarily enters a namespace with setns(2) and always
// returns to its own before these functions return, so callers never run in
// a foreign namespace by accident. Single-threaded use only (the CNI plugin
// is).

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/base/unique_fd.h"

namespace sk::net {

// Opens a netns file (/run/netns/x, /proc/<pid>/ns/net). NotFound when the
// path does not exist (the pod netns is gone); FailedPrecondition when it is
// not a network namespace; other errno statuses otherwise.
absl::StatusOr<UniqueFd> OpenNetns(const std::string& path);

// The calling thread's current network namespace.
absl::StatusOr<UniqueFd> OpenCurrentNetns();

// A new, empty, anonymous network namespace kept alive only by the fd: the
// kernel destroys it on the last close (physical netdevs inside are then
// returned to the initial namespace).
absl::StatusOr<UniqueFd> CreateAnonymousNetns();

// Runs `fn` with the calling thread inside `netns_fd`, then switches back.
absl::Status RunInNetns(int netns_fd, const std::function<absl::Status()>& fn);

// True when both fds refer to the same namespace (same nsfs inode).
bool SameNetns(int a, int b);

// Best-effort write of a /proc/sys value inside `netns_fd` (e.g.
// "net/ipv4/conf/net1/arp_notify"). Returns the errno status.
absl::Status WriteSysctlInNetns(int netns_fd, const std::string& key,
                                const std::string& value);

}  // namespace sk::net
