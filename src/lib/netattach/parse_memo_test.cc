#include "lib/netattach/parse_memo.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sk::netattach {
namespace {

TEST(ParseMemoTest, AnswersOnlyForTheBytesItWasPutWith) {
  ParseMemo<int> memo;
  memo.Put("/a", "{\"x\":1}", std::make_shared<const int>(1));
  ASSERT_NE(memo.Find("/a", "{\"x\":1}"), nullptr);
  EXPECT_EQ(*memo.Find("/a", "{\"x\":1}"), 1);
  EXPECT_EQ(memo.hits(), 2u);
  // The file changed since (edited in place, truncated, another key): parse.
  EXPECT_EQ(memo.Find("/a", "{\"x\":2}"), nullptr);
  EXPECT_EQ(memo.Find("/a", "{\"x\":1"), nullptr);
  EXPECT_EQ(memo.Find("/a", ""), nullptr);
  EXPECT_EQ(memo.Find("/b", "{\"x\":1}"), nullptr);
  EXPECT_EQ(memo.hits(), 2u);
}

TEST(ParseMemoTest, PutReplacesAndEraseForgets) {
  ParseMemo<int> memo;
  memo.Put("/a", "one", std::make_shared<const int>(1));
  memo.Put("/a", "two", std::make_shared<const int>(2));
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_EQ(memo.Find("/a", "one"), nullptr);
  EXPECT_EQ(*memo.Find("/a", "two"), 2);
  memo.Erase("/a");
  memo.Erase("/never-put");
  EXPECT_EQ(memo.Find("/a", "two"), nullptr);
  EXPECT_EQ(memo.size(), 0u);
}

TEST(ParseMemoTest, BoundedDroppingTheOldestPut) {
  ParseMemo<int> memo(3);
  for (int i = 0; i < 5; ++i)
    memo.Put("/" + std::to_string(i), "t", std::make_shared<const int>(i));
  EXPECT_EQ(memo.size(), 3u);
  EXPECT_EQ(memo.Find("/0", "t"), nullptr);
  EXPECT_EQ(memo.Find("/1", "t"), nullptr);
  EXPECT_EQ(*memo.Find("/4", "t"), 4);
  // Put again, "/2" is the newest: "/3" goes next.
  memo.Put("/2", "t", std::make_shared<const int>(20));
  memo.Put("/5", "t", std::make_shared<const int>(5));
  EXPECT_EQ(memo.Find("/3", "t"), nullptr);
  EXPECT_EQ(*memo.Find("/2", "t"), 20);
  ParseMemo<int> none(0);
  none.Put("/a", "t", std::make_shared<const int>(1));
  EXPECT_EQ(none.Find("/a", "t"), nullptr);
}

// A text over the byte bound is not kept, and drops what the key held.
TEST(ParseMemoTest, LargeTextsAreNotKept) {
  ParseMemo<int> memo(8, 4);
  memo.Put("/a", "1234", std::make_shared<const int>(1));
  EXPECT_EQ(*memo.Find("/a", "1234"), 1);
  memo.Put("/a", "12345", std::make_shared<const int>(2));
  EXPECT_EQ(memo.Find("/a", "12345"), nullptr);
  EXPECT_EQ(memo.Find("/a", "1234"), nullptr);
  EXPECT_EQ(memo.size(), 0u);
}

// A value found stays valid while another thread replaces or drops it.
TEST(ParseMemoTest, ConcurrentUse) {
  ParseMemo<std::string> memo(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&memo, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "/" + std::to_string((i + t) % 16);
        memo.Put(key, "v", std::make_shared<const std::string>(key));
        if (auto v = memo.Find(key, "v")) {
          EXPECT_EQ(*v, key);
        }
        if (i % 3 == 0) memo.Erase(key);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(memo.size(), 8u);
}

}  // namespace
}  // namespace sk::netattach
