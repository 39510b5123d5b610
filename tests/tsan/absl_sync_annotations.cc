// ThreadSanitizer annotations for Debian's abseil synchronization archive.
//
// absl::Mutex and absl::CondVar tell ThreadSanitizer about their lock and
// unlock operations only when abseil itself is compiled with
// -fsanitize=thread (absl/base/internal/tsan_mutex_interface.h). Debian's
// libabsl_synchronization.a is not, so under TSan every field guarded by an
// absl::Mutex would look racy: the lock's own atomics and futex waits are
// invisible. The TSan build links this file into every test binary and
// wraps (ld --wrap, see tests/tsan/CMakeLists.txt) the public entry points
// with the same annotations abseil's mutex.cc makes in a TSan build, so
// ThreadSanitizer sees the happens-before edges the real lock provides and
// still reports accesses made without the lock.
//
// The wrapped symbols carry abseil's inline namespace, checked below.
#include <string_view>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include <sanitizer/tsan_interface.h>

#define SK_STR2(x) #x
#define SK_STR(x) SK_STR2(x)
static_assert(std::string_view(SK_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME)) ==
                  "debian3",
              "tests/tsan/CMakeLists.txt wraps abseil symbols mangled with the "
              "inline namespace 'debian3'; update both for this abseil");

// NOLINTBEGIN(readability-identifier-naming): the names are the linker's.
#define SK_REAL(sym) "__real_" sym
#define SK_WRAP(sym) "__wrap_" sym
#define SK_MU_LOCK "_ZN4absl7debian35Mutex4LockEv"
#define SK_MU_UNLOCK "_ZN4absl7debian35Mutex6UnlockEv"
#define SK_MU_RLOCK "_ZN4absl7debian35Mutex10ReaderLockEv"
#define SK_MU_RUNLOCK "_ZN4absl7debian35Mutex12ReaderUnlockEv"
#define SK_MU_TRYLOCK "_ZN4absl7debian35Mutex7TryLockEv"
#define SK_MU_RTRYLOCK "_ZN4absl7debian35Mutex13ReaderTryLockEv"
#define SK_MU_AWAIT "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE"
#define SK_MU_AWAIT_TO \
  "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE"
#define SK_MU_AWAIT_DL \
  "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE"
#define SK_MU_LOCKWHEN "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE"
#define SK_MU_LOCKWHEN_TO                                             \
  "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_" \
  "8DurationE"
#define SK_MU_LOCKWHEN_DL \
  "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE"
#define SK_CV_WAIT "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE"
#define SK_CV_WAIT_TO \
  "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE"
#define SK_CV_WAIT_DL \
  "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE"

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Time;

// The real functions (ld resolves __real_X to X).
void RealLock(Mutex*) asm(SK_REAL(SK_MU_LOCK));
void RealUnlock(Mutex*) asm(SK_REAL(SK_MU_UNLOCK));
void RealReaderLock(Mutex*) asm(SK_REAL(SK_MU_RLOCK));
void RealReaderUnlock(Mutex*) asm(SK_REAL(SK_MU_RUNLOCK));
bool RealTryLock(Mutex*) asm(SK_REAL(SK_MU_TRYLOCK));
bool RealReaderTryLock(Mutex*) asm(SK_REAL(SK_MU_RTRYLOCK));
void RealAwait(Mutex*, const Condition&) asm(SK_REAL(SK_MU_AWAIT));
bool RealAwaitTo(Mutex*, const Condition&,
                 Duration) asm(SK_REAL(SK_MU_AWAIT_TO));
bool RealAwaitDl(Mutex*, const Condition&, Time) asm(SK_REAL(SK_MU_AWAIT_DL));
void RealLockWhen(Mutex*, const Condition&) asm(SK_REAL(SK_MU_LOCKWHEN));
bool RealLockWhenTo(Mutex*, const Condition&,
                    Duration) asm(SK_REAL(SK_MU_LOCKWHEN_TO));
bool RealLockWhenDl(Mutex*, const Condition&,
                    Time) asm(SK_REAL(SK_MU_LOCKWHEN_DL));
void RealWait(CondVar*, Mutex*) asm(SK_REAL(SK_CV_WAIT));
bool RealWaitTo(CondVar*, Mutex*, Duration) asm(SK_REAL(SK_CV_WAIT_TO));
bool RealWaitDl(CondVar*, Mutex*, Time) asm(SK_REAL(SK_CV_WAIT_DL));

// The wrappers the linker substitutes for every call of X (__wrap_X).
void WrapLock(Mutex*) asm(SK_WRAP(SK_MU_LOCK));
void WrapUnlock(Mutex*) asm(SK_WRAP(SK_MU_UNLOCK));
void WrapReaderLock(Mutex*) asm(SK_WRAP(SK_MU_RLOCK));
void WrapReaderUnlock(Mutex*) asm(SK_WRAP(SK_MU_RUNLOCK));
bool WrapTryLock(Mutex*) asm(SK_WRAP(SK_MU_TRYLOCK));
bool WrapReaderTryLock(Mutex*) asm(SK_WRAP(SK_MU_RTRYLOCK));
void WrapAwait(Mutex*, const Condition&) asm(SK_WRAP(SK_MU_AWAIT));
bool WrapAwaitTo(Mutex*, const Condition&,
                 Duration) asm(SK_WRAP(SK_MU_AWAIT_TO));
bool WrapAwaitDl(Mutex*, const Condition&, Time) asm(SK_WRAP(SK_MU_AWAIT_DL));
void WrapLockWhen(Mutex*, const Condition&) asm(SK_WRAP(SK_MU_LOCKWHEN));
bool WrapLockWhenTo(Mutex*, const Condition&,
                    Duration) asm(SK_WRAP(SK_MU_LOCKWHEN_TO));
bool WrapLockWhenDl(Mutex*, const Condition&,
                    Time) asm(SK_WRAP(SK_MU_LOCKWHEN_DL));
void WrapWait(CondVar*, Mutex*) asm(SK_WRAP(SK_CV_WAIT));
bool WrapWaitTo(CondVar*, Mutex*, Duration) asm(SK_WRAP(SK_CV_WAIT_TO));
bool WrapWaitDl(CondVar*, Mutex*, Time) asm(SK_WRAP(SK_CV_WAIT_DL));
// NOLINTEND(readability-identifier-naming)

namespace {

// The annotations abseil's mutex.cc makes around a blocking acquire and a
// release (ABSL_TSAN_MUTEX_PRE_LOCK / POST_LOCK / PRE_UNLOCK / POST_UNLOCK).
void PreLock(Mutex* mu, unsigned flags) { __tsan_mutex_pre_lock(mu, flags); }
void PostLock(Mutex* mu, unsigned flags) {
  __tsan_mutex_post_lock(mu, flags, 0);
}
void PreUnlock(Mutex* mu, unsigned flags) {
  __tsan_mutex_pre_unlock(mu, flags);
}
void PostUnlock(Mutex* mu, unsigned flags) {
  __tsan_mutex_post_unlock(mu, flags);
}

// Await and CondVar::Wait release the mutex while they wait and hold it again
// when they return: to TSan, an unlock followed by a lock.
template <typename F>
auto ReleasedWhile(Mutex* mu, F wait) {
  PreUnlock(mu, 0);
  PostUnlock(mu, 0);
  auto result = wait();
  PreLock(mu, 0);
  PostLock(mu, 0);
  return result;
}

// abseil evaluates a Condition only with the mutex held, but from inside its
// own uninstrumented code: in the waiter after it took the lock again (before
// Await or LockWhen returns to the wrappers below) or in the thread releasing
// the lock. To TSan the waiter holds nothing at that point, so a condition
// reading a field another thread wrote under the lock looked like a race.
// The wrappers hand abseil this condition instead: it acquires the mutex's
// synchronisation object (the clock every annotated unlock releases) before
// evaluating the caller's condition and releases it after, which is what
// abseil's EvalConditionAnnotated does in a TSan build.
struct AnnotatedCondition {
  Mutex* mu;
  const Condition* cond;
};
bool EvalAnnotated(AnnotatedCondition* c) {
  __tsan_acquire(c->mu);
  bool result = c->cond->Eval();
  __tsan_release(c->mu);
  return result;
}

template <typename R, typename F>
R Acquire(Mutex* mu, unsigned flags, F lock) {
  PreLock(mu, flags);
  R result = lock();
  PostLock(mu, flags);
  return result;
}

}  // namespace

void WrapLock(Mutex* mu) {
  PreLock(mu, 0);
  RealLock(mu);
  PostLock(mu, 0);
}
void WrapUnlock(Mutex* mu) {
  PreUnlock(mu, 0);
  RealUnlock(mu);
  PostUnlock(mu, 0);
}
void WrapReaderLock(Mutex* mu) {
  PreLock(mu, __tsan_mutex_read_lock);
  RealReaderLock(mu);
  PostLock(mu, __tsan_mutex_read_lock);
}
void WrapReaderUnlock(Mutex* mu) {
  PreUnlock(mu, __tsan_mutex_read_lock);
  RealReaderUnlock(mu);
  PostUnlock(mu, __tsan_mutex_read_lock);
}
bool WrapTryLock(Mutex* mu) {
  PreLock(mu, __tsan_mutex_try_lock);
  bool locked = RealTryLock(mu);
  PostLock(mu,
           __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed));
  return locked;
}
bool WrapReaderTryLock(Mutex* mu) {
  const unsigned flags = __tsan_mutex_read_lock | __tsan_mutex_try_lock;
  PreLock(mu, flags);
  bool locked = RealReaderTryLock(mu);
  PostLock(mu, flags | (locked ? 0 : __tsan_mutex_try_lock_failed));
  return locked;
}
void WrapAwait(Mutex* mu, const Condition& cond) {
  AnnotatedCondition c{mu, &cond};
  ReleasedWhile(mu, [&] {
    RealAwait(mu, Condition(&EvalAnnotated, &c));
    return 0;
  });
}
bool WrapAwaitTo(Mutex* mu, const Condition& cond, Duration timeout) {
  AnnotatedCondition c{mu, &cond};
  return ReleasedWhile(mu, [&] {
    return RealAwaitTo(mu, Condition(&EvalAnnotated, &c), timeout);
  });
}
bool WrapAwaitDl(Mutex* mu, const Condition& cond, Time deadline) {
  AnnotatedCondition c{mu, &cond};
  return ReleasedWhile(mu, [&] {
    return RealAwaitDl(mu, Condition(&EvalAnnotated, &c), deadline);
  });
}
void WrapLockWhen(Mutex* mu, const Condition& cond) {
  AnnotatedCondition c{mu, &cond};
  Acquire<int>(mu, 0, [&] {
    RealLockWhen(mu, Condition(&EvalAnnotated, &c));
    return 0;
  });
}
bool WrapLockWhenTo(Mutex* mu, const Condition& cond, Duration timeout) {
  AnnotatedCondition c{mu, &cond};
  return Acquire<bool>(mu, 0, [&] {
    return RealLockWhenTo(mu, Condition(&EvalAnnotated, &c), timeout);
  });
}
bool WrapLockWhenDl(Mutex* mu, const Condition& cond, Time deadline) {
  AnnotatedCondition c{mu, &cond};
  return Acquire<bool>(mu, 0, [&] {
    return RealLockWhenDl(mu, Condition(&EvalAnnotated, &c), deadline);
  });
}
void WrapWait(CondVar* cv, Mutex* mu) {
  ReleasedWhile(mu, [&] {
    RealWait(cv, mu);
    return 0;
  });
}
bool WrapWaitTo(CondVar* cv, Mutex* mu, Duration timeout) {
  return ReleasedWhile(mu, [&] { return RealWaitTo(cv, mu, timeout); });
}
bool WrapWaitDl(CondVar* cv, Mutex* mu, Time deadline) {
  return ReleasedWhile(mu, [&] { return RealWaitDl(cv, mu, deadline); });
}
