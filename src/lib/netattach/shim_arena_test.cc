#include "lib/netattach/shim_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace {

class ShimArenaTest : public ::testing::Test {
 protected:
  void SetUp() override { sk_arena_init(&arena_, buffer_, sizeof(buffer_)); }

  alignas(16) unsigned char buffer_[4096] = {};
  sk_arena arena_{};
};

// 1 when the page holding `p` is mapped.
bool Mapped(const void* p) {
  const long page = ::sysconf(_SC_PAGESIZE);
  auto* start = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) &
                                        ~static_cast<uintptr_t>(page - 1));
  unsigned char v = 0;
  return ::mincore(start, static_cast<size_t>(page), &v) == 0;
}

TEST_F(ShimArenaTest, BlocksAreAlignedAndFollowEachOther) {
  auto* a = static_cast<unsigned char*>(sk_arena_malloc(&arena_, 5));
  auto* b = static_cast<unsigned char*>(sk_arena_malloc(&arena_, 40));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 16, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 16, 0u);
  EXPECT_TRUE(sk_arena_owns(&arena_, a));
  // 5 bytes round up to 16, then b's 16-byte header.
  EXPECT_EQ(b - a, 32);
  std::memset(a, 'a', 5);
  std::memset(b, 'b', 40);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(a), 5), "aaaaa");
}

TEST_F(ShimArenaTest, ZeroBytesIsAUniqueBlock) {
  void* a = sk_arena_malloc(&arena_, 0);
  void* b = sk_arena_malloc(&arena_, 0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
}

TEST_F(ShimArenaTest, TheLastBlockGrowsAndShrinksInPlace) {
  auto* p = static_cast<char*>(sk_arena_malloc(&arena_, 8));
  std::memcpy(p, "12345678", 8);
  auto* q = static_cast<char*>(sk_arena_realloc(&arena_, p, 1000));
  EXPECT_EQ(q, p);
  EXPECT_EQ(std::string(q, 8), "12345678");
  q = static_cast<char*>(sk_arena_realloc(&arena_, q, 4));
  EXPECT_EQ(q, p);
  // Shrunk: the next block follows the 4 bytes (rounded to 16).
  auto* r = static_cast<char*>(sk_arena_malloc(&arena_, 1));
  EXPECT_EQ(r - p, 32);
}

TEST_F(ShimArenaTest, AnEarlierBlockMovesWithItsBytes) {
  auto* p = static_cast<char*>(sk_arena_malloc(&arena_, 8));
  std::memcpy(p, "abcdefgh", 8);
  auto* other = static_cast<char*>(sk_arena_malloc(&arena_, 8));
  std::memcpy(other, "ZZZZZZZZ", 8);
  auto* q = static_cast<char*>(sk_arena_realloc(&arena_, p, 100));
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q, p);
  EXPECT_GT(q, other);
  EXPECT_EQ(std::string(q, 8), "abcdefgh");
  EXPECT_EQ(std::string(other, 8), "ZZZZZZZZ");
}

TEST_F(ShimArenaTest, FreeingTheLastBlockGivesItsRoomBack) {
  void* a = sk_arena_malloc(&arena_, 100);
  void* b = sk_arena_malloc(&arena_, 100);
  sk_arena_free(&arena_, b);
  EXPECT_EQ(sk_arena_malloc(&arena_, 50), b);
  // An earlier block's room is kept until exit.
  sk_arena_free(&arena_, a);
  void* c = sk_arena_malloc(&arena_, 50);
  EXPECT_NE(c, a);
  sk_arena_free(&arena_, nullptr);  // as free(NULL): nothing
}

TEST_F(ShimArenaTest, CallocZeroesARecycledBlockAndRefusesOverflow) {
  auto* a = static_cast<unsigned char*>(sk_arena_malloc(&arena_, 64));
  std::memset(a, 0xff, 64);
  sk_arena_free(&arena_, a);
  auto* z = static_cast<unsigned char*>(sk_arena_calloc(&arena_, 8, 8));
  ASSERT_EQ(z, a);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(z[i], 0) << i;
  errno = 0;
  EXPECT_EQ(sk_arena_calloc(&arena_, SIZE_MAX / 2, 4), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(sk_arena_malloc(&arena_, SIZE_MAX), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(ShimArenaTest, WhatDoesNotFitIsAMappingFreedByMunmap) {
  auto* big = static_cast<char*>(sk_arena_malloc(&arena_, 10000));
  ASSERT_NE(big, nullptr);
  EXPECT_FALSE(sk_arena_owns(&arena_, big));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % 16, 0u);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(big[i], 0) << i;
  std::memset(big, 'x', 10000);
  // Grown past its mapping: a new one, with the bytes.
  auto* bigger = static_cast<char*>(sk_arena_realloc(&arena_, big, 50000));
  ASSERT_NE(bigger, nullptr);
  EXPECT_EQ(std::string(bigger, 10000), std::string(10000, 'x'));
  EXPECT_FALSE(Mapped(big));
  // Shrunk, then grown again within its mapping: kept where it is.
  EXPECT_EQ(sk_arena_realloc(&arena_, bigger, 100), bigger);
  EXPECT_EQ(sk_arena_realloc(&arena_, bigger, 40000), bigger);
  EXPECT_GE(sk_arena_usable_size(&arena_, bigger), 50000u);
  EXPECT_TRUE(Mapped(bigger));
  EXPECT_TRUE(Mapped(bigger + 49999));
  // The whole mapping goes, not what the shrink asked for.
  sk_arena_free(&arena_, bigger);
  EXPECT_FALSE(Mapped(bigger));
  EXPECT_FALSE(Mapped(bigger + 49999));
  // The buffer was never used: its first block is at its start.
  EXPECT_EQ(sk_arena_malloc(&arena_, 1), buffer_ + 16);
}

TEST_F(ShimArenaTest, ABlockLeftAtTheTopByAFreeGrowsInPlace) {
  // As the shim's request frame: the body, then a scratch array freed,
  // then the body grows.
  auto* body = static_cast<char*>(sk_arena_malloc(&arena_, 32));
  std::memcpy(body, "frame", 5);
  void* scratch = sk_arena_malloc(&arena_, 64);
  sk_arena_free(&arena_, scratch);
  EXPECT_EQ(sk_arena_realloc(&arena_, body, 500), body);
  EXPECT_EQ(std::string(body, 5), "frame");
  EXPECT_EQ(sk_arena_malloc(&arena_, 1), body + 512 + 16);
}

TEST_F(ShimArenaTest, AnEarlierBlockShrinksInPlace) {
  auto* p = static_cast<char*>(sk_arena_malloc(&arena_, 100));
  void* after = sk_arena_malloc(&arena_, 8);
  EXPECT_EQ(sk_arena_realloc(&arena_, p, 10), p);
  EXPECT_EQ(sk_arena_usable_size(&arena_, p), 16u);
  EXPECT_NE(after, nullptr);
}

TEST_F(ShimArenaTest, AFailedReallocKeepsTheBlock) {
  auto* p = static_cast<char*>(sk_arena_malloc(&arena_, 8));
  std::memcpy(p, "keepkeep", 8);
  errno = 0;
  EXPECT_EQ(sk_arena_realloc(&arena_, p, SIZE_MAX), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(std::string(p, 8), "keepkeep");
  // Zero bytes: a block, as malloc(0).
  EXPECT_NE(sk_arena_realloc(&arena_, p, 0), nullptr);
}

TEST_F(ShimArenaTest, CallocOfAMappingIsZero) {
  auto* z = static_cast<unsigned char*>(sk_arena_calloc(&arena_, 1000, 10));
  ASSERT_NE(z, nullptr);
  EXPECT_FALSE(sk_arena_owns(&arena_, z));
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(z[i], 0) << i;
  sk_arena_free(&arena_, z);
}

TEST_F(ShimArenaTest, AlignedAllocUpToSixteenOnly) {
  void* p = sk_arena_aligned_alloc(&arena_, 16, 10);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
  EXPECT_NE(sk_arena_aligned_alloc(&arena_, 8, 10), nullptr);
  errno = 0;
  EXPECT_EQ(sk_arena_aligned_alloc(&arena_, 64, 10), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(sk_arena_aligned_alloc(&arena_, 24, 10), nullptr);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(sk_arena_usable_size(&arena_, nullptr), 0u);
}

TEST_F(ShimArenaTest, ABufferBlockGrownPastTheBufferMovesToAMapping) {
  auto* p = static_cast<char*>(sk_arena_malloc(&arena_, 16));
  std::memcpy(p, "0123456789abcdef", 16);
  auto* q = static_cast<char*>(sk_arena_realloc(&arena_, p, 8192));
  ASSERT_NE(q, nullptr);
  EXPECT_FALSE(sk_arena_owns(&arena_, q));
  EXPECT_EQ(std::string(q, 16), "0123456789abcdef");
  // p was the last block: its room is back.
  EXPECT_EQ(sk_arena_malloc(&arena_, 1), p);
  sk_arena_free(&arena_, q);
}

}  // namespace
