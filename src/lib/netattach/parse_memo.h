#pragma once

// Remembers what the files this daemon wrote decode to, so that reading one
// back (DEL, CHECK: the saved delegate list, a libcni result cache) costs a
// read and a compare instead of a JSON parse.
//
//   memo.Put(path, text, std::make_shared<const T>(value));  // as written
//   ...
//   if (auto v = memo.Find(path, text_read_now)) use(*v);     // else parse
//
// An entry answers only for the very bytes it was put with: a file anyone
// changed since (rewritten, truncated, edited in place) reads differently
// and is parsed as ever. So the memo never needs the file's timestamps, and
// a stale entry costs memory only: at most `max_entries` are kept, the
// oldest put dropped first, and a text over `max_text_bytes` is not kept
// (it is parsed when read back).
//
// Thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sk::netattach {

template <typename T>
class ParseMemo {
 public:
  explicit ParseMemo(size_t max_entries = 1024,
                     size_t max_text_bytes = size_t{64} << 10)
      : max_entries_(max_entries), max_text_bytes_(max_text_bytes) {}

  void Put(const std::string& key, std::string text,
           std::shared_ptr<const T> value) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      order_.erase(it->second.seq);
      entries_.erase(it);
    }
    if (max_entries_ == 0 || text.size() > max_text_bytes_) return;
    const uint64_t seq = next_seq_++;
    entries_.emplace(key, Entry{std::move(text), std::move(value), seq});
    order_.emplace(seq, key);
    while (entries_.size() > max_entries_) {
      auto oldest = order_.begin();
      entries_.erase(oldest->second);
      order_.erase(oldest);
    }
  }

  // The value put for `key` with exactly `text`; null otherwise.
  std::shared_ptr<const T> Find(const std::string& key,
                                std::string_view text) const {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.text != text) return nullptr;
    ++hits_;
    return it->second.value;
  }

  // Finds answered (for tests and benchmarks).
  uint64_t hits() const {
    absl::MutexLock lock(&mu_);
    return hits_;
  }

  void Erase(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    order_.erase(it->second.seq);
    entries_.erase(it);
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::string text;
    std::shared_ptr<const T> value;
    uint64_t seq = 0;
  };
  const size_t max_entries_;
  const size_t max_text_bytes_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> order_ ABSL_GUARDED_BY(mu_);  // by age
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  mutable uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sk::netattach
