#pragma once

// Remembers which network configuration a conf dir holds for a name
// (NetConfigFromDir), so that the cluster network named in the daemon's
// config is not looked up again (the dir listed, each file read and parsed)
// on every ADD.
//
// An answer is reused only while nothing it was read from has changed: the
// directory (its mtime moves when a file is added, removed or renamed) and
// every candidate file in it (device, inode, size, mtime, ctime; a symlink
// is followed, as NetConfigFromDir follows it). Checking that costs one
// stat(2) per file instead of a listing and a read and parse of each.
// Because file timestamps are coarse (a kernel tick), an answer read from a
// file or directory modified (mtime) less than `racy_window` before the
// lookup is not kept (git's "racily clean" rule): a later write moves the
// mtime past the recorded one even within the same tick. A write that puts
// the old mtime back (touch -d, cp -p) still moves the ctime. NotFound and
// other failures are never kept.
//
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

#include "lib/netattach/delegate_conf.h"

namespace sk::netattach {

class ConfDirCache {
 public:
  explicit ConfDirCache(
      std::chrono::milliseconds racy_window = std::chrono::seconds(2),
      size_t max_entries = 64);

  // NetConfigFromDir(dir, name), from the cache when still valid.
  absl::StatusOr<NetConfig> Lookup(const std::filesystem::path& dir,
                                   const std::string& name);

  // Lookups that read the directory (not answered from the cache).
  uint64_t misses() const;

 private:
  struct Stamp {
    std::string path;
    uint64_t dev = 0, ino = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Entry {
    std::vector<Stamp> stamps;  // the dir first, then its candidate files
    NetConfig conf;
  };
  // The dir and its candidate files (as NetConfigFromDir picks them).
  static bool Snapshot(const std::filesystem::path& dir,
                       std::vector<Stamp>& out);
  static bool StillValid(const std::vector<Stamp>& stamps);

  const std::chrono::milliseconds racy_window_;
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_
      ABSL_GUARDED_BY(mu_);
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sk::netattach
