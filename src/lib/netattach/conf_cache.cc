#include "lib/netattach/conf_cache.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>

namespace sk::netattach {
namespace {

int64_t Ns(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

bool StatPath(const std::string& path, struct stat& st) {
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

ConfDirCache::ConfDirCache(std::chrono::milliseconds racy_window,
                           size_t max_entries)
    : racy_window_(racy_window), max_entries_(max_entries) {}

uint64_t ConfDirCache::misses() const {
  absl::MutexLock lock(&mu_);
  return misses_;
}

bool ConfDirCache::Snapshot(const std::filesystem::path& dir,
                            std::vector<Stamp>& out) {
  out.clear();
  auto add = [&](const std::string& path, bool want_dir) {
    struct stat st {};
    if (!StatPath(path, st)) return false;
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) return true;
    out.push_back(Stamp{.path = path,
                        .dev = st.st_dev,
                        .ino = st.st_ino,
                        .size = st.st_size,
                        .mtime_ns = Ns(st.st_mtim),
                        .ctime_ns = Ns(st.st_ctim)});
    return true;
  };
  if (!add(dir.string(), true) || out.empty()) return false;
  // The same candidates as NetConfigFromDir (delegate_conf.cc).
  std::error_code ec;
  std::vector<std::string> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string ext = it->path().extension().string();
    if (ext == ".conf" || ext == ".json" || ext == ".conflist")
      files.push_back(it->path().string());
  }
  if (ec) return false;
  std::sort(files.begin(), files.end());
  for (const std::string& f : files)
    if (!add(f, false)) return false;
  return true;
}

bool ConfDirCache::StillValid(const std::vector<Stamp>& stamps) {
  for (const Stamp& s : stamps) {
    struct stat st {};
    if (!StatPath(s.path, st) || st.st_dev != s.dev || st.st_ino != s.ino ||
        st.st_size != s.size || Ns(st.st_mtim) != s.mtime_ns ||
        Ns(st.st_ctim) != s.ctime_ns)
      return false;
  }
  return true;
}

absl::StatusOr<NetConfig> ConfDirCache::Lookup(const std::filesystem::path& dir,
                                               const std::string& name) {
  const auto key = std::make_pair(dir.string(), name);
  std::vector<Stamp> stamps;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      stamps = it->second.stamps;
      // Checked outside the lock below; copied so a concurrent refill
      // cannot change it meanwhile.
    }
  }
  if (!stamps.empty() && StillValid(stamps)) {
    absl::MutexLock lock(&mu_);
    if (auto it = entries_.find(key);
        it != entries_.end() && it->second.stamps == stamps)
      return it->second.conf;
  }

  std::vector<Stamp> before, after;
  const bool stable_before = Snapshot(dir, before);
  absl::StatusOr<NetConfig> conf = NetConfigFromDir(dir, name);
  const bool stable = stable_before && Snapshot(dir, after) && before == after;
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t settled_ns =
      Ns(now) -
      std::chrono::duration_cast<std::chrono::nanoseconds>(racy_window_)
          .count();
  bool racy = false;
  for (const Stamp& s : after) racy = racy || s.mtime_ns >= settled_ns;

  absl::MutexLock lock(&mu_);
  ++misses_;
  if (conf.ok() && stable && !racy) {
    if (entries_.size() >= max_entries_ && !entries_.count(key))
      entries_.erase(entries_.begin());
    entries_[key] = Entry{std::move(after), *conf};
  } else {
    entries_.erase(key);
  }
  return conf;
}

}  // namespace sk::netattach
