#pragma once
// RunSubprocess: one bounded child process. The caller's stdin data is fed
// from a memfd (the child may exit without reading it, and we never block
// writing), stdout is collected up to a byte limit, stderr is inherited or
// discarded, and the wait ends when the child has exited and its output is
// drained, or at the deadline. The child runs in its own process group, so a
// timeout or an output flood kills what it started too.
//
//   sk::SubprocessOptions o;
//   o.argv = {"ddptool", "-l"};
//   o.timeout = absl::Seconds(2);
//   SK_ASSIGN_OR_RETURN(sk::SubprocessResult r, sk::RunSubprocess(o));
//   if (r.exited() && r.exit_code() == 0) use(r.output);
//
// Errors: NotFound (the program does not exist), DeadlineExceeded (still
// running at the deadline; killed), ResourceExhausted (more output than
// max_output; killed), others from the syscalls. A child that exits non-zero
// is not an error: the result says how it ended.
#include <sys/wait.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sk {

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is the name the child sees
  // The executable; empty: argv[0], looked up in PATH when it has no '/'.
  std::string program;
  // The whole environment; nullopt: this process's.
  std::optional<std::vector<std::string>> env;
  std::string_view stdin_data;  // empty: the child's stdin is /dev/null
  bool discard_stderr = false;  // else inherited
  absl::Duration timeout = absl::Seconds(10);
  size_t max_output = size_t{1} << 20;
  // Called once the child is running, before the wait for it: work that
  // can overlap the child's run (it costs the call nothing when the child
  // takes longer; the timeout counts from before it). Not called when the
  // child could not be started. It should not throw; if it does, the child
  // is killed and reaped and the exception passes on.
  std::function<void()> while_running;
};

struct SubprocessResult {
  int status = 0;  // as waitpid() reports it
  std::string output;

  bool exited() const { return WIFEXITED(status); }
  int exit_code() const { return WEXITSTATUS(status); }
  // "exit 3" or "signal 9".
  std::string HowItEnded() const;
};

absl::StatusOr<SubprocessResult> RunSubprocess(const SubprocessOptions& o);

}  // namespace sk
