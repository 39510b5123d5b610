#pragma once
// ForkEach: runs `child(i)` for i in [0, n) in n processes forked at once
// and returns each one's result, indexed by i (-1 for a child that died
// without reporting). For races between processes, as concurrent plugin
// invocations are: each child works on its copy-on-write copy of the caller's
// fakes, and only what goes through the kernel (files, locks) is shared.
//
//   std::vector<int> codes = ForkEach(50, [&](int i) { return Add(i); });

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <vector>

namespace sk::testing {

inline std::vector<int> ForkEach(int n, const std::function<int(int)>& child) {
  std::vector<int> results(static_cast<size_t>(n), -1);
  int fds[2];
  if (::pipe(fds) != 0) return results;
  std::vector<pid_t> kids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      int rec[2] = {i, child(i)};
      (void)!::write(fds[1], rec, sizeof(rec));  // atomic: < PIPE_BUF
      ::_exit(0);
    }
    if (pid > 0) kids.push_back(pid);
  }
  ::close(fds[1]);
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  int rec[2];
  while (::read(fds[0], rec, sizeof(rec)) == static_cast<ssize_t>(sizeof(rec)))
    if (rec[0] >= 0 && rec[0] < n)
      results[static_cast<size_t>(rec[0])] = rec[1];
  ::close(fds[0]);
  return results;
}

}  // namespace sk::testing
