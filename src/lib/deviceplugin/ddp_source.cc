#include "lib/deviceplugin/ddp_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "lib/base/errno_status.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"
#include "lib/netlink/kernel_socket.h"

extern char** environ;

namespace sk::deviceplugin {
namespace {

// ddptool's exit code when the device has no DDP profile (upstream
// pkg/utils/ddp.go ddpNoDDPProfile).
constexpr int kDdptoolNoProfile = 8;

void KillAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

absl::StatusOr<std::string> RunBounded(const std::vector<std::string>& argv,
                                       absl::Duration timeout,
                                       size_t max_output, int* exit_code) {
  if (argv.empty()) return absl::InvalidArgumentError("RunBounded: no argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc =
      argv[0].find('/') == std::string::npos
          ? ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ)
          : ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.Reset();
  if (rc == ENOENT) {
    return absl::NotFoundError(sk::StrCat(argv[0], ": not found"));
  }
  if (rc != 0) return ErrnoStatus(rc, "posix_spawn ", argv[0]);

  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  while (true) {
    int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) {
      KillAndReap(pid);
      return absl::DeadlineExceededError(
          sk::StrCat(argv[0], ": still running after ",
                     absl::FormatDuration(timeout), "; killed"));
    }
    struct pollfd p = {rd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(rd.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF (or an error): the child closed stdout
    if (out.size() + static_cast<size_t>(got) > max_output) {
      KillAndReap(pid);
      return absl::ResourceExhaustedError(sk::StrCat(
          argv[0], ": more than ", max_output, " bytes of output; killed"));
    }
    out.append(buf, static_cast<size_t>(got));
  }
  int st = 0;
  // stdout closed; the exit follows (bounded by the same deadline).
  while (true) {
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return ErrnoStatus(errno, "waitpid");
    if (absl::Now() >= deadline) {
      KillAndReap(pid);
      return absl::DeadlineExceededError(
          sk::StrCat(argv[0], ": did not exit within ",
                     absl::FormatDuration(timeout), "; killed"));
    }
    ::usleep(1000);
  }
  if (WIFSIGNALED(st)) {
    return absl::UnknownError(
        sk::StrCat(argv[0], ": killed by signal ", WTERMSIG(st)));
  }
  int code = WEXITSTATUS(st);
  if (exit_code != nullptr) *exit_code = code;
  if (code != 0) {
    return absl::UnknownError(sk::StrCat(argv[0], ": exit code ", code));
  }
  return out;
}

absl::StatusOr<std::string> DdptoolDdpSource::Profile(
    const std::string& bdf) const {
  if (devlink_) {
    auto name = devlink_->InfoVersion("pci", bdf, "fw.app.name");
    if (name.ok() && !name->empty()) return *name;
  }
  int code = -1;
  auto out = RunBounded({opts_.program, "-l", "-a", "-j", "-s", bdf},
                        opts_.timeout, opts_.max_output, &code);
  if (!out.ok()) {
    if (absl::IsNotFound(out.status())) {
      return absl::NotFoundError(
          sk::StrCat(bdf, ": no DDP profile (no devlink fw.app.name; ",
                     opts_.program, " not installed)"));
    }
    if (code == kDdptoolNoProfile) {
      return absl::NotFoundError(sk::StrCat(bdf, ": no DDP profile (",
                                            opts_.program, " exit code 8)"));
    }
    return out.status();
  }
  auto name = ParseDdptoolJson(*out);
  if (!name.ok()) {
    return absl::Status(name.status().code(),
                        sk::StrCat(bdf, ": ", name.status().message()));
  }
  if (name->empty()) {
    return absl::NotFoundError(sk::StrCat(bdf, ": no DDP profile"));
  }
  return *name;
}

HostFactSources OpenHostFactSources(const DdptoolOptions& ddptool,
                                    std::vector<std::string>* warnings) {
  HostFactSources out;
  std::shared_ptr<DevlinkClient> dl;
  auto sock = netlink::KernelSocket::Open(-1, NETLINK_GENERIC);
  if (sock.ok()) {
    dl = std::make_shared<DevlinkClient>(*std::move(sock));
    out.rdma_param = std::make_shared<DevlinkRdmaParamSource>(dl);
  } else {
    warnings->push_back(sk::StrCat("devlink: ", sock.status().message(),
                                   "; isRdma from sysfs only, DDP profiles "
                                   "from ddptool only"));
  }
  out.ddp = std::make_shared<DdptoolDdpSource>(dl, ddptool);
  return out;
}

}  // namespace sk::deviceplugin
