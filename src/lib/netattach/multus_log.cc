#include "lib/netattach/multus_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <vector>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::netattach {
namespace {

absl::Status Bad(std::string_view key, const nlohmann::json& v,
                 std::string_view want) {
  return absl::InvalidArgumentError(
      sk::StrCat("key \"", key, "\": expected ", want, ", got ", v.dump()));
}

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

absl::StatusOr<LogConfig> LogConfigFromJson(const nlohmann::json& conf) {
  LogConfig c;
  if (!conf.is_object()) return c;
  if (auto it = conf.find("logFile"); it != conf.end() && !it->is_null()) {
    if (!it->is_string()) return Bad("logFile", *it, "a string");
    c.file = it->get<std::string>();
    if (!c.file.empty() && c.file[0] != '/')
      return absl::InvalidArgumentError(
          sk::StrCat("key \"logFile\": \"", c.file, "\" is not absolute"));
  }
  if (auto it = conf.find("logLevel"); it != conf.end() && !it->is_null()) {
    if (!it->is_string()) return Bad("logLevel", *it, "a string");
    if (!it->get<std::string>().empty()) {
      absl::StatusOr<LogLevel> l = ParseLogLevel(it->get<std::string>());
      if (!l.ok())
        return absl::InvalidArgumentError(
            sk::StrCat("key \"logLevel\": ", l.status().message()));
      c.level = *l;
    }
  }
  if (auto it = conf.find("logToStderr"); it != conf.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("logToStderr", *it, "true or false");
    c.to_stderr = it->get<bool>();
  }
  if (auto it = conf.find("logOptions"); it != conf.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("logOptions", *it, "an object");
    auto num = [&](const char* k, auto& out, int64_t max) -> absl::Status {
      auto v = it->find(k);
      if (v == it->end() || v->is_null()) return absl::OkStatus();
      if (!v->is_number_integer() || v->get<int64_t>() < 0 ||
          v->get<int64_t>() > max)
        return Bad(sk::StrCat("logOptions.", k), *v,
                   sk::StrCat("an integer 0..", max));
      out = static_cast<std::remove_reference_t<decltype(out)>>(
          v->get<int64_t>());
      return absl::OkStatus();
    };
    SK_RETURN_IF_ERROR(num("maxSize", c.max_size_mb, 1 << 20));
    SK_RETURN_IF_ERROR(num("maxAge", c.max_age_days, 1 << 16));
    SK_RETURN_IF_ERROR(num("maxBackups", c.max_backups, 1 << 16));
    if (auto v = it->find("compress"); v != it->end() && !v->is_null()) {
      if (!v->is_boolean())
        return Bad("logOptions.compress", *v, "true or false");
      c.compress = v->get<bool>();
    }
  }
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
  Prune();
}

void MultusLogger::Prune() {
  std::filesystem::path p(config_.file);
  const std::string prefix = p.stem().string() + "-";
  const std::string ext = p.extension().string();
  std::vector<std::string> backups;  // names sort by time
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(p.parent_path(), ec)) {
    std::string n = e.path().filename().string();
    if (n.size() == prefix.size() + 23 + ext.size() &&
        n.compare(0, prefix.size(), prefix) == 0 &&
        n.compare(n.size() - ext.size(), ext.size(), ext) == 0)
      backups.push_back(n);
  }
  std::sort(backups.rbegin(), backups.rend());
  const std::string oldest =
      config_.max_age_days > 0
          ? FormatUtc(
                seams_.now() - std::chrono::hours(24) * config_.max_age_days,
                true)
          : std::string();
  for (size_t i = 0; i < backups.size(); ++i) {
    std::string stamp = backups[i].substr(prefix.size(), 23);
    bool too_many = config_.max_backups > 0 &&
                    i >= static_cast<size_t>(config_.max_backups);
    bool too_old = !oldest.empty() && stamp < oldest;
    if (too_many || too_old)
      std::filesystem::remove(p.parent_path() / backups[i], ec);
  }
}

}  // namespace sk::netattach
