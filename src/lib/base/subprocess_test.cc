#include "lib/base/subprocess.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"

namespace sk {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

SubprocessOptions Sh(const std::string& script) {
  SubprocessOptions o;
  o.argv = {"sh", "-c", script};
  o.timeout = absl::Seconds(10);
  return o;
}

TEST(SubprocessTest, OutputStdinAndExitCode) {
  SubprocessOptions o = Sh("cat; echo; echo \"$SK_X\"; exit 3");
  o.stdin_data = "fed";
  o.env = std::vector<std::string>{"SK_X=only-this", "PATH=/usr/bin:/bin"};
  absl::StatusOr<SubprocessResult> r = RunSubprocess(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "fed\nonly-this\n");
  EXPECT_TRUE(r->exited());
  EXPECT_EQ(r->exit_code(), 3);
  EXPECT_EQ(r->HowItEnded(), "exit 3");
}

// A daemon's blocked signals and ignored SIGPIPE do not reach the child.
TEST(SubprocessTest, ChildStartsWithNoBlockedSignalsAndDefaultSigpipe) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  struct sigaction ign = {}, old_pipe = {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ign, &old_pipe), 0);
  absl::StatusOr<SubprocessResult> r = RunSubprocess(
      Sh("grep -E '^Sig(Blk|Ign):' /proc/self/status | tr -d '\\t'"));
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  unsigned long long blocked = 0, ignored = 0;
  ASSERT_EQ(std::sscanf(r->output.c_str(), "SigBlk:%llx\nSigIgn:%llx", &blocked,
                        &ignored),
            2)
      << r->output;
  EXPECT_EQ(blocked, 0u);
  EXPECT_EQ(ignored & (1ull << (SIGPIPE - 1)), 0u) << r->output;
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  SubprocessOptions o;
  o.argv = {"/nonexistent/sk-no-such-program"};
  EXPECT_THAT(RunSubprocess(o), StatusIs(absl::StatusCode::kNotFound,
                                         HasSubstr("sk-no-such-program")));
}

// while_running runs once, while the child runs (here: it lets the child
// end, which waits for a file it creates), and not at all when the child
// cannot be started.
TEST(SubprocessTest, WhileRunningOverlapsTheChild) {
  char dir[] = "/tmp/sk-while-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string go = std::string(dir) + "/go";
  SubprocessOptions o =
      Sh("while [ ! -e '" + go + "' ]; do sleep 0.01; done; echo ran");
  int calls = 0;
  o.while_running = [&] {
    ++calls;
    std::FILE* f = std::fopen(go.c_str(), "w");
    if (f != nullptr) std::fclose(f);
  };
  absl::StatusOr<SubprocessResult> r = RunSubprocess(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "ran\n");
  EXPECT_EQ(calls, 1);
  std::remove(go.c_str());
  ::rmdir(dir);

  SubprocessOptions missing;
  missing.argv = {"/nonexistent/sk-no-such-program"};
  missing.while_running = [&] { ++calls; };
  EXPECT_FALSE(RunSubprocess(missing).ok());
  EXPECT_EQ(calls, 1);
}

// A while_running that throws: the child is killed and reaped (no zombie
// left) and the exception passes on.
TEST(SubprocessTest, WhileRunningThatThrowsKillsTheChild) {
  SubprocessOptions o = Sh("sleep 30");
  o.while_running = [] { throw std::runtime_error("boom"); };
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW((void)RunSubprocess(o), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(20));
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// The deadline kills the child's whole process group: the grandchild
// holding stdout does not keep the call (or the pipe) alive.
TEST(SubprocessTest, TimeoutKillsTheProcessGroup) {
  SubprocessOptions o = Sh("sleep 30 & sleep 30");
  o.timeout = absl::Milliseconds(300);
  absl::Time t0 = absl::Now();
  EXPECT_THAT(RunSubprocess(o),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("no answer within 300 ms; killed")));
  EXPECT_LT(absl::Now() - t0, absl::Seconds(5));
}

TEST(SubprocessTest, OutputOverTheLimitIsKilled) {
  SubprocessOptions o = Sh("while :; do echo xxxxxxxxxxxxxxxx; done");
  o.max_output = 4096;
  EXPECT_THAT(RunSubprocess(o),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("output exceeds the 4096-byte limit")));
}

// A child that exits while a process it started keeps stdout open: the call
// ends with the child's exit, not the grandchild's.
TEST(SubprocessTest, ExitEndsTheCallWhileAGrandchildHoldsStdout) {
  absl::Time t0 = absl::Now();
  absl::StatusOr<SubprocessResult> r = RunSubprocess(Sh("echo up; sleep 5 &"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "up\n");
  EXPECT_EQ(r->exit_code(), 0);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(4));
}

}  // namespace
}  // namespace sk
