#include "lib/netattach/multus_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <system_error>
#include <vector>

#include "lib/base/errno_status.h"
#include "lib/base/field_reader.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

// Go's time.RFC3339 in UTC ("2006-01-02T15:04:05Z"), or lumberjack's
// backup stamp ("2006-01-02T15-04-05.000").
std::string FormatUtc(std::chrono::system_clock::time_point t, bool backup) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = backup
                 ? std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H-%M-%S", &tm)
                 : std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string out(buf, n);
  if (backup) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  t.time_since_epoch())
                  .count() %
              1000;
    char m[8];
    std::snprintf(m, sizeof(m), ".%03lld", static_cast<long long>(ms));
    out += m;
  }
  return out;
}

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// WriteAll that reports the failure (a short write is ENOSPC, as write(2)
// would say on the next call).
absl::Status WriteAllOrError(int fd, const unsigned char* p, size_t len,
                             const std::filesystem::path& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "write ", path.string());
    if (n == 0) return ErrnoStatus(ENOSPC, "write ", path.string());
    p += n;
    len -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Streams `in` through a gzip deflater into `out`.
absl::Status Deflate(int in, int out, const std::filesystem::path& src,
                     const std::filesystem::path& dst) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer (RFC 1952), as Go's
  // compress/gzip writes; level 6 is both zlib's and Go's default.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return absl::ResourceExhaustedError(
        sk::StrCat("compress ", src.string(), ": deflateInit2 failed"));
  std::vector<unsigned char> ibuf(size_t{64} << 10), obuf(size_t{64} << 10);
  absl::Status status;
  for (bool eof = false; !eof && status.ok();) {
    ssize_t n = ::read(in, ibuf.data(), ibuf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoStatus(errno, "read ", src.string());
      break;
    }
    eof = n == 0;
    zs.next_in = ibuf.data();
    zs.avail_in = static_cast<uInt>(n);
    int rc = Z_OK;
    do {  // drain the deflater for this input (and, at EOF, the trailer)
      zs.next_out = obuf.data();
      zs.avail_out = static_cast<uInt>(obuf.size());
      rc = deflate(&zs, eof ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) {
        status = absl::InternalError(
            sk::StrCat("compress ", src.string(), ": deflate failed"));
        break;
      }
      status =
          WriteAllOrError(out, obuf.data(), obuf.size() - zs.avail_out, dst);
    } while (status.ok() && zs.avail_out == 0);
    if (status.ok() && eof && rc != Z_STREAM_END)
      status = absl::InternalError(sk::StrCat(
          "compress ", src.string(), ": deflate did not finish the stream"));
  }
  deflateEnd(&zs);
  return status;
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "panic") return LogLevel::kPanic;
  if (s == "error") return LogLevel::kError;
  if (s == "verbose") return LogLevel::kVerbose;
  if (s == "debug") return LogLevel::kDebug;
  return absl::InvalidArgumentError(sk::StrCat(
      "log level \"", s, "\" is not one of panic, error, verbose, debug"));
}

std::string_view LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kPanic:
      return "panic";
    case LogLevel::kError:
      return "error";
    case LogLevel::kVerbose:
      return "verbose";
    case LogLevel::kDebug:
      return "debug";
  }
  return "unknown";
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  return FormatUtc(t, false);
}

absl::Status CompressLogFile(const std::filesystem::path& src,
                             const std::filesystem::path& dst) {
  int ifd = ::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (ifd < 0) return ErrnoStatus(errno, "open log backup ", src.string());
  UniqueFd in(ifd);
  struct stat st {};
  if (::fstat(ifd, &st) != 0) return ErrnoStatus(errno, "stat ", src.string());
  if (!S_ISREG(st.st_mode))
    return absl::FailedPreconditionError(
        sk::StrCat("log backup ", src.string(), " is not a regular file"));
  int ofd =
      ::open(dst.c_str(),
             O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
             st.st_mode & 07777);
  if (ofd < 0) return ErrnoStatus(errno, "create ", dst.string());
  UniqueFd out(ofd);
  absl::Status s;
  struct stat ost {};
  if (::fstat(ofd, &ost) != 0) {
    s = ErrnoStatus(errno, "stat ", dst.string());
  } else if (!S_ISREG(ost.st_mode)) {
    // Not ours to remove: refuse without touching it.
    return absl::FailedPreconditionError(
        sk::StrCat(dst.string(), " is not a regular file"));
  }
  if (s.ok()) s = Deflate(ifd, ofd, src, dst);
  // Durable before the original goes (rotation is rare; this is cheap).
  if (s.ok() && ::fsync(ofd) != 0)
    s = ErrnoStatus(errno, "fsync ", dst.string());
  if (s.ok() && ::close(out.Release()) != 0)
    s = ErrnoStatus(errno, "close ", dst.string());
  if (!s.ok()) {
    out.Reset();
    ::unlink(dst.c_str());
    return s;
  }
  if (::unlink(src.c_str()) != 0)
    return ErrnoStatus(errno, "remove ", src.string());
  return absl::OkStatus();
}

absl::StatusOr<LogConfig> LogConfigFromJson(const nlohmann::json& conf) {
  LogConfig c;
  if (!conf.is_object()) return c;
  // Errors: "config: logOptions.maxSize: expected an integer in 0..1048576,
  // got -1".
  const FieldReader r(conf, "config");
  SK_ASSIGN_OR_RETURN(std::optional<std::string> file,
                      r.OptionalString("logFile"));
  c.file = file.value_or("");
  if (!c.file.empty() && c.file[0] != '/')
    return r.Child("logFile").Expected("an absolute path");
  SK_ASSIGN_OR_RETURN(
      std::optional<size_t> level,
      r.OptionalEnum("logLevel", {"", "panic", "error", "verbose", "debug"}));
  if (level.value_or(0) != 0) {
    SK_ASSIGN_OR_RETURN(
        c.level, ParseLogLevel(r.Child("logLevel").json().get<std::string>()));
  }
  SK_ASSIGN_OR_RETURN(std::optional<bool> to_stderr,
                      r.OptionalBool("logToStderr"));
  c.to_stderr = to_stderr.value_or(c.to_stderr);
  SK_ASSIGN_OR_RETURN(const FieldReader options, r.Object("logOptions"));
  SK_ASSIGN_OR_RETURN(std::optional<int64_t> max_size,
                      options.OptionalInt("maxSize", 0, 1 << 20));
  c.max_size_mb = max_size.value_or(c.max_size_mb);
  SK_ASSIGN_OR_RETURN(std::optional<int64_t> max_age,
                      options.OptionalInt("maxAge", 0, 1 << 16));
  if (max_age) c.max_age_days = static_cast<int>(*max_age);
  SK_ASSIGN_OR_RETURN(std::optional<int64_t> max_backups,
                      options.OptionalInt("maxBackups", 0, 1 << 16));
  if (max_backups) c.max_backups = static_cast<int>(*max_backups);
  SK_ASSIGN_OR_RETURN(std::optional<bool> compress,
                      options.OptionalBool("compress"));
  c.compress = compress.value_or(c.compress);
  return c;
}

absl::StatusOr<std::unique_ptr<MultusLogger>> MultusLogger::Open(
    const LogConfig& config, Seams seams) {
  if (!seams.now) seams.now = [] { return std::chrono::system_clock::now(); };
  std::unique_ptr<MultusLogger> l(new MultusLogger(config, std::move(seams)));
  if (!config.file.empty()) SK_RETURN_IF_ERROR(l->OpenFile());
  return l;
}

absl::Status MultusLogger::OpenFile() {
  const std::string& path = config_.file;
  // Checked before opening (a FIFO would otherwise fail with ENXIO or
  // block); O_NOFOLLOW and the fstat below close the race.
  struct stat pre {};
  if (::lstat(path.c_str(), &pre) == 0 && !S_ISREG(pre.st_mode))
    return absl::FailedPreconditionError(
        sk::StrCat("log file ", path, " is not a regular file",
                   S_ISLNK(pre.st_mode) ? " (a symlink)" : ""));
  int fd = ::open(
      path.c_str(),
      O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
      0600);
  if (fd < 0) return ErrnoStatus(errno, "open log file ", path);
  UniqueFd f(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat ", path);
  if (!S_ISREG(st.st_mode))
    return absl::FailedPreconditionError(
        sk::StrCat("log file ", path, " is not a regular file"));
  // Back to blocking writes (O_NONBLOCK only kept a FIFO from hanging open).
  ::fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
  fd_ = std::move(f);
  size_ = st.st_size;
  return absl::OkStatus();
}

void MultusLogger::Log(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  std::string line = sk::StrCat(Rfc3339(seams_.now()), " [",
                                LogLevelName(level), "] ", message, "\n");
  std::lock_guard<std::mutex> lock(mu_);
  if (config_.to_stderr) WriteAll(seams_.stderr_fd, line);
  if (!fd_.valid()) return;
  const int64_t max = config_.max_size_mb * 1024 * 1024;
  if (max > 0 && size_ + static_cast<int64_t>(line.size()) > max && size_ > 0)
    Rotate();
  if (!fd_.valid()) return;
  WriteAll(fd_.get(), line);
  size_ += static_cast<int64_t>(line.size());
}

MultusLogger::~MultusLogger() {
  {
    std::lock_guard<std::mutex> lock(mill_mu_);
    stop_ = true;
  }
  mill_cv_.notify_all();
  if (mill_thread_.joinable()) mill_thread_.join();
}

void MultusLogger::Rotate() {
  // lumberjack backupName: <dir>/<name>-<2006-01-02T15-04-05.000><ext>.
  std::filesystem::path p(config_.file);
  std::filesystem::path backup =
      p.parent_path() / sk::StrCat(p.stem().string(), "-",
                                   FormatUtc(seams_.now(), true),
                                   p.extension().string());
  fd_.Reset();
  if (::rename(p.c_str(), backup.c_str()) != 0) {
    (void)OpenFile();  // keep appending to the old file
    return;
  }
  (void)OpenFile();
  ScheduleMill(seams_.now());
}

void MultusLogger::ScheduleMill(std::chrono::system_clock::time_point now) {
  if (config_.max_backups == 0 && config_.max_age_days == 0 &&
      !config_.compress)
    return;  // nothing to do (lumberjack's millRunOnce returns early too)
  std::lock_guard<std::mutex> lock(mill_mu_);
  mill_pending_ = true;
  mill_now_ = now;
  if (!mill_thread_.joinable()) {
    try {
      mill_thread_ = std::thread([this] { MillLoop(); });
    } catch (const std::system_error&) {
      // No thread to be had: the next rotation (or the destructor) retries;
      // the backups stay as they are meanwhile.
      return;
    }
  }
  mill_cv_.notify_all();
}

void MultusLogger::MillLoop() {
  std::unique_lock<std::mutex> lock(mill_mu_);
  for (;;) {
    mill_cv_.wait(lock, [this] { return mill_pending_ || stop_; });
    if (!mill_pending_) return;  // stopping with nothing queued
    mill_pending_ = false;
    milling_ = true;
    const std::chrono::system_clock::time_point now = mill_now_;
    lock.unlock();
    MillOnce(now);
    lock.lock();
    milling_ = false;
    mill_cv_.notify_all();
  }
}

void MultusLogger::WaitForMill() {
  std::unique_lock<std::mutex> lock(mill_mu_);
  if (!mill_thread_.joinable()) return;
  mill_cv_.wait(lock, [this] { return !mill_pending_ && !milling_; });
}

void MultusLogger::MillOnce(std::chrono::system_clock::time_point now) {
  std::filesystem::path p(config_.file);
  const std::filesystem::path dir = p.parent_path();
  const std::string prefix = p.stem().string() + "-";
  const std::string ext = p.extension().string();
  const std::string gz = ".gz";
  constexpr size_t kStamp = 23;  // 2006-01-02T15-04-05.000
  struct Backup {
    std::string name;
    std::string stamp;
    bool compressed;
  };
  std::vector<Backup> backups;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_directory(ec)) continue;
    std::string n = e.path().filename().string();
    if (n.size() < prefix.size() + kStamp + ext.size() ||
        n.compare(0, prefix.size(), prefix) != 0)
      continue;
    std::string_view rest = std::string_view(n).substr(prefix.size() + kStamp);
    bool compressed = rest == ext + gz;
    if (rest != ext && !compressed) continue;
    backups.push_back({n, n.substr(prefix.size(), kStamp), compressed});
  }
  // Newest first; names sort by time.
  std::sort(backups.begin(), backups.end(),
            [](const Backup& a, const Backup& b) { return a.name > b.name; });
  const std::string oldest =
      config_.max_age_days > 0
          ? FormatUtc(now - std::chrono::hours(24) * config_.max_age_days, true)
          : std::string();
  std::set<std::string> preserved;  // stamps: x.log and x.log.gz count once
  for (const Backup& b : backups) {
    preserved.insert(b.stamp);
    bool too_many = config_.max_backups > 0 &&
                    preserved.size() > static_cast<size_t>(config_.max_backups);
    bool too_old = !oldest.empty() && b.stamp < oldest;
    if (too_many || too_old) {
      std::filesystem::remove(dir / b.name, ec);
    } else if (config_.compress && !b.compressed) {
      // An error leaves the backup uncompressed, to be retried at the next
      // rotation (lumberjack drops the mill's errors too).
      (void)CompressLogFile(dir / b.name, dir / (b.name + gz));
    }
  }
}

}  // namespace sk::netattach
