#include "lib/net/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"

namespace sk::net {

absl::StatusOr<UniqueFd> OpenNetns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return absl::NotFoundError("netns " + path + " does not exist");
    return ErrnoStatus(errno, "open netns ", path);
  }
  struct statfs sfs;
  if (::fstatfs(fd.get(), &sfs) != 0)
    return ErrnoStatus(errno, "statfs ", path);
  if (sfs.f_type != NSFS_MAGIC && sfs.f_type != PROC_SUPER_MAGIC)
    return absl::FailedPreconditionError(path + " is not a network namespace");
  return fd;
}

absl::StatusOr<UniqueFd> OpenCurrentNetns() {
  UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open /proc/thread-self/ns/net");
  return fd;
}

absl::Status RunInNetns(int netns_fd, const std::function<absl::Status()>& fn) {
  SK_ASSIGN_OR_RETURN(UniqueFd self, OpenCurrentNetns());
  if (::setns(netns_fd, CLONE_NEWNET) != 0) return ErrnoStatus(errno, "setns");
  absl::Status s = fn();
  SK_CHECK(::setns(self.get(), CLONE_NEWNET) == 0)
      << "cannot return to own netns";
  return s;
}

absl::StatusOr<UniqueFd> CreateAnonymousNetns() {
  SK_ASSIGN_OR_RETURN(UniqueFd self, OpenCurrentNetns());
  if (::unshare(CLONE_NEWNET) != 0)
    return ErrnoStatus(errno, "unshare(CLONE_NEWNET)");
  auto created = OpenCurrentNetns();
  SK_CHECK(::setns(self.get(), CLONE_NEWNET) == 0)
      << "cannot return to own netns";
  return created;
}

bool SameNetns(int a, int b) {
  struct stat sa, sb;
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

absl::Status WriteSysctlInNetns(int netns_fd, const std::string& key,
                                const std::string& value) {
  return RunInNetns(netns_fd, [&]() -> absl::Status {
    std::string path = "/proc/sys/" + key;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return ErrnoStatus(errno, "open ", path);
    if (::write(fd.get(), value.data(), value.size()) < 0)
      return ErrnoStatus(errno, "write ", path);
    return absl::OkStatus();
  });
}

}  // namespace sk::net
