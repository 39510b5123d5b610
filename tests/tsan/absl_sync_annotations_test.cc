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
