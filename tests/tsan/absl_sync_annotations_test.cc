// Built in the ThreadSanitizer build only (tests/tsan). Without
// absl_sync_annotations.cc, TSan reports a data race on every field below:
// Debian's abseil does not tell it about its lock operations.
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace sk::tsan {
namespace {

struct Shared {
  absl::Mutex mu;
  absl::CondVar cv;
  int count ABSL_GUARDED_BY(mu) = 0;
  bool done ABSL_GUARDED_BY(mu) = false;
};

void Increment(Shared& s, int n) {
  for (int i = 0; i < n; ++i) {
    absl::MutexLock lock(&s.mu);
    ++s.count;
  }
}

TEST(AbslSyncAnnotationsTest, MutexLockOrdersGuardedAccesses) {
  Shared s;
  std::thread t([&s] { Increment(s, 1000); });
  Increment(s, 1000);
  t.join();
  absl::MutexLock lock(&s.mu);
  EXPECT_EQ(s.count, 2000);
}

TEST(AbslSyncAnnotationsTest, CondVarWaitAndAwaitReacquireTheMutex) {
  Shared s;
  std::thread t([&s] {
    Increment(s, 100);
    absl::MutexLock lock(&s.mu);
    s.done = true;
    s.cv.SignalAll();
  });
  {
    absl::MutexLock lock(&s.mu);
    while (!s.done) s.cv.Wait(&s.mu);
    ++s.count;
    s.mu.Await(absl::Condition(&s.done));
    ++s.count;
  }
  t.join();
  absl::MutexLock lock(&s.mu);
  EXPECT_EQ(s.count, 102);
}

// abseil evaluates these conditions inside its own code, with the lock held
// but unannotated: the waiter's re-evaluation after the writer's unlock read
// `count` as a race until the wrappers annotated the evaluation.
TEST(AbslSyncAnnotationsTest, AwaitConditionSeesFieldsWrittenUnderTheLock) {
  Shared s;
  std::thread t([&s] { Increment(s, 200); });
  {
    absl::MutexLock lock(&s.mu);
    auto reached = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
      return s.count >= 200;
    };
    EXPECT_TRUE(
        s.mu.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30)));
  }
  t.join();
}

TEST(AbslSyncAnnotationsTest, LockWhenConditionSeesFieldsWrittenUnderTheLock) {
  Shared s;
  std::thread t([&s] { Increment(s, 200); });
  auto reached = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    return s.count >= 200;
  };
  EXPECT_TRUE(
      s.mu.LockWhenWithTimeout(absl::Condition(&reached), absl::Seconds(30)));
  s.mu.Unlock();
  t.join();
}

TEST(AbslSyncAnnotationsTest, ReaderLockSeesTheWritersUpdate) {
  Shared s;
  std::thread t([&s] { Increment(s, 10); });
  int seen = -1;
  while (seen != 10) {
    absl::ReaderMutexLock lock(&s.mu);
    seen = s.count;
  }
  t.join();
  EXPECT_EQ(seen, 10);
}

}  // namespace
}  // namespace sk::tsan
