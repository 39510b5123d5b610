#include "lib/base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"

#include "lib/base/errno_status.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"

namespace sk {

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open ", path.string());
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read ", path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::StatusOr<std::string> ReadFdBounded(int fd, size_t max_bytes,
                                          std::string_view what) {
  std::string out;
  char buf[8192];
  while (true) {
    // Never ask for more than one byte past the limit.
    size_t want = std::min(sizeof(buf), max_bytes + 1 - out.size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read ", what);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(
          sk::StrCat(what, ": more than ", max_bytes, " bytes"));
    }
  }
}

absl::StatusOr<std::string> ReadFileBounded(const std::filesystem::path& path,
                                            size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open ", path.string());
  absl::StatusOr<std::string> out =
      ReadFdBounded(fd.get(), max_bytes, path.string());
  if (out.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(sk::StrCat(
        path.string(), ": larger than the ", max_bytes, "-byte limit"));
  }
  return out;
}

absl::Status WriteFileAtomic(const std::filesystem::path& path,
                             std::string_view contents, int mode, bool sync_dir,
                             bool sync_file) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return ErrnoStatus(errno, "open ", dir.string());
  return WriteFileAtomicAt(dfd.get(), path.filename().string(), contents, mode,
                           sync_dir, path.string(), sync_file);
}

absl::Status WriteFileAtomicAt(int dirfd, const std::string& name,
                               std::string_view contents, int mode,
                               bool sync_dir, const std::string& display,
                               bool sync_file) {
  // Unique among live writers: the pid among processes, the counter within
  // one (O_EXCL refuses a leftover of a dead process that had this pid).
  // std::random_device may open and read /dev/urandom on every call.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = sk::StrCat(name, ".tmp.", ::getpid(), ".",
                               counter.fetch_add(1, std::memory_order_relaxed));
  std::string tmp_display = sk::StrCat(display, ".tmp.");
  UniqueFd fd(::openat(dirfd, tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       mode));
  if (!fd) return ErrnoStatus(errno, "create ", tmp_display);
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::unlinkat(dirfd, tmp.c_str(), 0);
      return ErrnoStatus(e, "write ", tmp_display);
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0 ||
      (sync_file && ::fsync(fd.get()) != 0)) {
    int e = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return ErrnoStatus(e, "fsync ", tmp_display);
  }
  fd.Reset();
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    int e = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return ErrnoStatus(e, "rename ", tmp_display, " to ", display);
  }
  if (sync_dir) ::fsync(dirfd);
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenDirAt(int dirfd, const std::string& name,
                                   bool create, int mode,
                                   const std::string& display) {
  if (create &&
      ::mkdirat(dirfd, name.c_str(), static_cast<mode_t>(mode)) != 0 &&
      errno != EEXIST)
    return ErrnoStatus(errno, "mkdir ", display);
  UniqueFd fd(::openat(dirfd, name.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP || errno == ENOTDIR)
      return absl::FailedPreconditionError(
          display + " is a symlink or not a directory; refusing to follow it");
    return ErrnoStatus(errno, "open ", display);
  }
  if (create && ::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
    return ErrnoStatus(errno, "chmod ", display);
  return fd;
}

absl::StatusOr<std::optional<std::string>> ReadFileAt(
    int dirfd, const std::string& name, const std::string& display) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno == ELOOP)
      return absl::FailedPreconditionError(
          display + " is a symlink; refusing to follow it");
    return ErrnoStatus(errno, "open ", display);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read ", display);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

absl::Status MakeDirs(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoStatus(ec.value(), "mkdir ", dir.string());
  return absl::OkStatus();
}

}  // namespace sk
