#pragma once

// Persistent plugin state, in the Go sriov-cni's on-disk format so a Go
// instance and this one can hand VFs over during a rolling upgrade
// (k8snetworkplumbingwg/sriov-cni v2.8: pkg/utils/pci_allocator.go and
// pkg/config/config.go):
//
//   <dir>/<containerID>-<ifname>     cache: the stdin config merged with
//                                    OrigVfState, Master, MAC, MTU, VFID
//   <dir>/pci/<bdf>                  allocation: the owner's netns path
//   <dir>/pci/vf_lock/<bdf>.lock     per-VF flock(2)
//
// We add one key, "sriovkit" (a Go instance ignores it):
//   {"version":1,"mode":"netdevice"|"userspace","phase":"adding"|"ready",
//    "containerID":..,"ifname":..,"netns":..}
// "phase":"adding" marks a write-ahead record saved before the first PF
// change; a cache without "sriovkit" came from the Go plugin (its mode is
// re-detected: Go sets OrigVfState.HostIFName only for netdevice VFs).
//
// Files are written atomically (temp + write + fsync + rename), mode 0600
// in 0700 directories. Every file and subdirectory under the state dir is
// opened relative to its parent's fd with O_NOFOLLOW: a symlink planted as
// pci/, pci/vf_lock/ or a state file is refused, never followed. A StateDir
// opens (and creates) each directory once and keeps its fd: one plugin
// command resolves the state dir, pci/ and pci/vf_lock/ once each.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/base/clock.h"
#include "lib/base/unique_fd.h"
#include "lib/cni/config.h"
#include "lib/net/link_ops.h"

namespace sk::cni {

enum class VfMode { kNetdevice, kUserspace };
enum class Phase { kAdding, kReady };

struct OrigVfState {
  std::string host_ifname;
  bool spoofchk = false;
  bool trust = false;
  std::string admin_mac = "00:00:00:00:00:00";
  std::string effective_mac;
  uint32_t vlan = 0;
  uint32_t vlan_qos = 0;
  uint32_t vlan_proto = 0x8100;  // ethertype as a number, 0 means 802.1q
  uint32_t min_tx_rate = 0;
  uint32_t max_tx_rate = 0;
  uint32_t link_state = 0;
  uint32_t mtu = 0;
};

// The one conversion between the live VF (the PF's IFLA_VFINFO_LIST entry)
// and its cached original state. Only the PF-side fields: host_ifname,
// effective_mac and mtu describe the VF netdev and stay as they are
// (defaults from OrigVfStateFromVf). VfInfoFromOrigVfState reads a
// vlan_proto of 0 (old caches) as 802.1Q and an admin MAC that does not
// parse as all zeroes.
OrigVfState OrigVfStateFromVf(const net::VfInfo& vf);
net::VfInfo VfInfoFromOrigVfState(const OrigVfState& orig, uint32_t vf_id);

struct CacheEntry {
  NetConf conf;  // the cached config (parsed leniently)
  OrigVfState orig;
  std::string master;  // PF netdev name
  std::string mac;     // the MAC requested at ADD (after precedence)
  uint32_t mtu = 0;    // result MTU
  uint32_t vf_id = 0;
  // sriovkit extension; has_ext false for a Go plugin's cache.
  bool has_ext = false;
  VfMode mode = VfMode::kNetdevice;
  Phase phase = Phase::kReady;
  std::string container_id;
  std::string ifname;
  std::string netns;
};

std::string EncodeCache(const CacheEntry& e);
// Code 6 when the file is not a cache object.
absl::StatusOr<CacheEntry> DecodeCache(std::string_view text);

// Holds a per-VF flock until destroyed.
class VfLock {
 public:
  VfLock() = default;
  explicit VfLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

class StateDir {
 public:
  // `clock` (not owned) times LockVf's wait. Move-only (it owns the
  // directory fds).
  explicit StateDir(std::filesystem::path dir, Clock& clock = RealClock())
      : dir_(std::move(dir)), clock_(&clock) {}
  StateDir(StateDir&&) = default;
  StateDir& operator=(StateDir&&) = default;
  const std::filesystem::path& dir() const { return dir_; }

  std::filesystem::path CachePath(const std::string& cid,
                                  const std::string& ifname) const;
  absl::Status SaveCache(
      const CacheEntry& e) const;  // uses e.container_id/ifname
  // nullopt when there is no cache file.
  absl::StatusOr<std::optional<CacheEntry>> LoadCache(
      const std::string& cid, const std::string& ifname) const;
  absl::Status RemoveCache(const std::string& cid,
                           const std::string& ifname) const;
  // All cache files: (file name, decoded entry). Undecodable files are
  // skipped.
  absl::StatusOr<std::vector<std::pair<std::string, CacheEntry>>> ListCaches()
      const;
  absl::Status RemoveCacheFile(const std::string& file_name) const;

  absl::StatusOr<std::optional<std::string>> ReadAllocation(
      const std::string& pci) const;
  absl::Status WriteAllocation(const std::string& pci,
                               const std::string& netns) const;
  absl::Status RemoveAllocation(const std::string& pci) const;

  // flock(LOCK_EX) on pci/vf_lock/<pci>.lock, polling every 5 ms on the
  // clock until `timeout`.
  // Unavailable with CNI code 11 "time out while waiting to acquire
  // exclusive lock on [<path>]" when it expires.
  absl::StatusOr<VfLock> LockVf(const std::string& pci,
                                std::chrono::milliseconds timeout) const;

 private:
  // The state dir itself (created with `create`; -1 when absent and not
  // `create`). The configured path may be a symlink; nothing under it is
  // followed. The fd stays owned by the StateDir (cached after the first
  // successful open).
  absl::StatusOr<int> OpenTop(bool create) const;
  // pci/, or pci/vf_lock/ with `lock_dir`; the same contract.
  absl::StatusOr<int> OpenPciDir(bool create, bool lock_dir) const;
  std::filesystem::path dir_;
  Clock* clock_;
  // Cached directory fds (invalid until opened). Mutable: caching is not
  // an observable change. Not thread-safe, like the rest of the plugin.
  mutable UniqueFd top_;
  mutable UniqueFd pci_;
  mutable UniqueFd lock_dir_;
};

}  // namespace sk::cni
