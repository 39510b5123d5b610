#include "lib/base/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "lib/base/errno_status.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"

extern char** environ;

namespace sk {
namespace {

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// posix_spawn takes char* const[] for argv and envp but does not write
// through them (POSIX), so the strings are not copied to get char*.
std::vector<char*> Pointers(const std::vector<std::string>& v) {
  std::vector<char*> p;
  p.reserve(v.size() + 1);
  for (const std::string& s : v) p.push_back(const_cast<char*>(s.c_str()));
  p.push_back(nullptr);
  return p;
}

}  // namespace

std::string SubprocessResult::HowItEnded() const {
  return exited() ? StrCat("exit ", exit_code())
                  : StrCat("signal ", WTERMSIG(status));
}

absl::StatusOr<SubprocessResult> RunSubprocess(const SubprocessOptions& o) {
  if (o.argv.empty())
    return absl::InvalidArgumentError("RunSubprocess: no argv");
  const std::string& path = o.program.empty() ? o.argv[0] : o.program;
  std::vector<std::string> own_env;
  if (!o.env) {
    for (char** e = environ; *e; ++e) own_env.emplace_back(*e);
  }
  std::vector<char*> argv_p = Pointers(o.argv);
  std::vector<char*> env_p = Pointers(o.env ? *o.env : own_env);

  UniqueFd in;
  if (!o.stdin_data.empty()) {
    in = UniqueFd(::memfd_create("sk-stdin", MFD_CLOEXEC));
    if (!in) return ErrnoStatus(errno, "memfd_create");
    if (absl::Status st = WriteAll(in.get(), o.stdin_data); !st.ok()) return st;
    if (::lseek(in.get(), 0, SEEK_SET) != 0) return ErrnoStatus(errno, "lseek");
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in) {
    posix_spawn_file_actions_adddup2(&fa, in.get(), 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  if (o.discard_stderr) {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  // Its own process group, so a kill reaches what the child started too.
  // And a clean signal state: a daemon blocks SIGTERM/SIGINT for its signal
  // thread and ignores SIGPIPE, and exec keeps both (a blocked mask and
  // SIG_IGN are inherited), so the child would not die of a SIGTERM or of
  // writing to a closed pipe.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  int rc = path.find('/') == std::string::npos
               ? ::posix_spawnp(&pid, path.c_str(), &fa, &attr, argv_p.data(),
                                env_p.data())
               : ::posix_spawn(&pid, path.c_str(), &fa, &attr, argv_p.data(),
                               env_p.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT)
    return absl::NotFoundError(StrCat("exec ", path, ": not found"));
  if (rc != 0) return ErrnoStatus(rc, "exec ", path);
  out_w.Reset();
  in.Reset();
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  // The child's exit wakes the same poll as its output (a pidfd, Linux >=
  // 5.3), so the call ends as soon as the child has exited and its output
  // is read, even when a process it started still holds stdout open, and
  // the wait has no slices. Opening it after posix_spawn is race-free: the
  // child cannot be reaped (its pid reused) before our waitpid. Without
  // pidfds, the pipe is polled in 50 ms slices and the exit checked after
  // each.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  const absl::Time deadline = absl::Now() + o.timeout;
  if (o.while_running) {
    try {
      o.while_running();
    } catch (...) {  // the contract says it does not; the child is not left
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      throw;
    }
  }
  SubprocessResult r;
  bool reaped = false;
  bool eof = false;
  bool exited = false;  // the pidfd is readable: waitpid will not block
  absl::Status failure;
  while (true) {
    // Everything the pipe holds now.
    while (!eof) {
      char buf[16384];
      ssize_t n = ::read(out_r.get(), buf, sizeof(buf));
      if (n > 0) {
        r.output.append(buf, static_cast<size_t>(n));
        if (r.output.size() > o.max_output) {
          failure = absl::ResourceExhaustedError(
              StrCat(path, ": output exceeds the ", o.max_output,
                     "-byte limit; killed"));
          break;
        }
        continue;
      }
      if (n == 0) {
        eof = true;
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN) {
        failure = ErrnoStatus(errno, "read ", path, " output");
      }
      break;
    }
    // Exited and drained once more: a child it left holding stdout open
    // does not hold the call.
    if (!failure.ok() || reaped) break;
    if (exited || !pidfd) {
      pid_t w = ::waitpid(pid, &r.status, eof && !pidfd ? 0 : WNOHANG);
      if (w == pid) {
        reaped = true;
        continue;  // one more drain of what is buffered
      }
      if (w < 0 && errno != EINTR) {
        failure = ErrnoStatus(errno, "wait for ", path);
        break;
      }
    }
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) {
      failure = absl::DeadlineExceededError(
          StrCat(path, ": no answer within ",
                 absl::ToInt64Milliseconds(o.timeout), " ms; killed"));
      break;
    }
    pollfd p[2];
    nfds_t nfds = 0;
    if (!eof) p[nfds++] = {out_r.get(), POLLIN, 0};
    if (pidfd) p[nfds++] = {pidfd.get(), POLLIN, 0};
    const int64_t slice = pidfd ? left + 1 : 50;
    int ready = ::poll(
        p, nfds,
        static_cast<int>(std::min<int64_t>({left + 1, slice, INT32_MAX})));
    if (ready > 0 && pidfd && p[nfds - 1].revents != 0) exited = true;
  }
  out_r.Reset();
  if (!reaped) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!failure.ok()) return failure;
  return r;
}

}  // namespace sk
