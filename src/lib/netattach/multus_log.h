#pragma once

// Multus's logging keys, honoured as multus-cni pkg/logging/logging.go does:
//
//   "logLevel":    "panic" | "error" | "verbose" | "debug"  (default panic:
//                  nothing but panics, as Multus's default)
//   "logFile":     a path; lines are appended to it
//   "logToStderr": also (or only) write to stderr (default false)
//   "logOptions":  {"maxSize": MiB (100), "maxAge": days (5),
//                   "maxBackups": count (5), "compress": bool}
//
// A line is "<RFC 3339 time> [<level>] <message>\n", as Multus writes it.
// The file is opened with O_NOFOLLOW|O_APPEND and must be a regular file (a
// symlink or a FIFO is refused, as Multus refuses a symlinked logFile); when
// a write would take it past maxSize it is rotated as lumberjack does
// (renamed to <name>-<UTC time>.<ext>, a new file started). After each
// rotation a background thread "mills" the backups as lumberjack's
// millRunOnce does: it keeps at most maxBackups backups (a backup and its
// .gz count once) no older than maxAge days, and with `compress` (Multus's
// default) gzips every remaining uncompressed backup to <backup>.gz and
// removes the original. A backup left uncompressed by a crash is compressed
// at the next rotation. Destroying the logger finishes a pending mill, so a
// short-lived process (the CNI shim) leaves no half-written .gz behind.
//
//   absl::StatusOr<LogConfig> c = LogConfigFromJson(conf_json);
//   absl::StatusOr<std::unique_ptr<MultusLogger>> log = MultusLogger::Open(*c);
//   (*log)->Errorf... -> (*log)->Log(LogLevel::kError, "message");
//
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/base/unique_fd.h"

namespace sk::netattach {

enum class LogLevel { kPanic = 0, kError = 1, kVerbose = 2, kDebug = 3 };

// "panic", "error", "verbose", "debug".
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view s);
std::string_view LogLevelName(LogLevel l);

struct LogConfig {
  std::string file;
  LogLevel level = LogLevel::kPanic;
  bool to_stderr = false;
  int64_t max_size_mb = 100;
  int max_age_days = 5;
  int max_backups = 5;
  bool compress = true;
};

// Reads the keys above from a Multus-style config object (a non-object
// gives the defaults) through sk::FieldReader: InvalidArgument of its shape,
// "config: logOptions.maxSize: expected an integer in 0..1048576, got -1";
// a relative logFile is refused.
absl::StatusOr<LogConfig> LogConfigFromJson(const nlohmann::json& conf);

// Test seams of MultusLogger: the wall clock and the stderr descriptor.
struct LogSeams {
  std::function<std::chrono::system_clock::time_point()> now;
  int stderr_fd = 2;
};

// gzips `src` to `dst` (gzip format, zlib's default level, `src`'s mode) and
// removes `src`, as lumberjack's compressLogFile does. Neither path may be a
// symlink (O_NOFOLLOW) and `src` must be a regular file; an existing `dst`
// (an earlier attempt) is overwritten. On error `dst` is removed and `src`
// kept; the error names the path and the step.
absl::Status CompressLogFile(const std::filesystem::path& src,
                             const std::filesystem::path& dst);

class MultusLogger {
 public:
  using Seams = LogSeams;
  ~MultusLogger();
  MultusLogger(const MultusLogger&) = delete;
  MultusLogger& operator=(const MultusLogger&) = delete;

  // Opens (creates, 0600) config.file when set. Errors name the path.
  static absl::StatusOr<std::unique_ptr<MultusLogger>> Open(
      const LogConfig& config, Seams seams = {});

  bool Enabled(LogLevel l) const { return l <= config_.level; }
  // Writes `message` when `level` is enabled; a failing write is dropped
  // (logging never fails a CNI request).
  void Log(LogLevel level, std::string_view message);

  const LogConfig& config() const { return config_; }

  // Blocks until the post-rotation work (pruning, compression) queued so far
  // is done.
  void WaitForMill();

 private:
  MultusLogger(LogConfig config, Seams seams)
      : config_(std::move(config)), seams_(std::move(seams)) {}
  absl::Status OpenFile();
  void Rotate();
  void ScheduleMill(std::chrono::system_clock::time_point now);
  void MillLoop();
  void MillOnce(std::chrono::system_clock::time_point now);

  LogConfig config_;
  Seams seams_;
  std::mutex mu_;
  UniqueFd fd_;
  int64_t size_ = 0;

  // The mill thread, started at the first rotation.
  std::mutex mill_mu_;
  std::condition_variable mill_cv_;
  bool mill_pending_ = false;  // guarded by mill_mu_
  bool milling_ = false;       // guarded by mill_mu_
  bool stop_ = false;          // guarded by mill_mu_
  // The clock at the last rotation: maxAge is judged against it, so the
  // mill thread never calls the clock seam.
  std::chrono::system_clock::time_point mill_now_;  // guarded by mill_mu_
  std::thread mill_thread_;
};

// "2006-01-02T15:04:05Z" (Go's time.RFC3339 in UTC).
std::string Rfc3339(std::chrono::system_clock::time_point t);

}  // namespace sk::netattach
