#include "lib/netattach/conf_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;

class ConfDirCacheTest : public ::testing::Test {
 protected:
  void Write(const std::string& file, const std::string& name,
             const std::string& type) {
    std::ofstream(dir_ / file) << R"({"cniVersion":"1.0.0","name":")" << name
                               << R"(","type":")" << type << R"("})";
  }
  // An hour old, so that a later change moves the mtime whatever the
  // timestamp granularity.
  void Age(const std::filesystem::path& p) {
    struct timespec t[2] = {{::time(nullptr) - 3600, 0},
                            {::time(nullptr) - 3600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, 0), 0) << p;
  }
  void AgeAll() {
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
      Age(e.path());
    Age(dir_.path());
  }
  TempDir dir_;
};

TEST_F(ConfDirCacheTest, ReusesTheAnswerWhileNothingChanged) {
  Write("10-a.conf", "a", "macvlan");
  Write("20-b.conflist", "b", "bridge");
  AgeAll();
  ConfDirCache cache(std::chrono::milliseconds(0));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<NetConfig> c = cache.Lookup(dir_.path(), "a");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->plugin_types, std::vector<std::string>{"macvlan"});
  }
  EXPECT_EQ(cache.misses(), 1u);
}

TEST_F(ConfDirCacheTest, AChangedFileIsPickedUp) {
  Write("10-a.conf", "a", "macvlan");
  AgeAll();
  ConfDirCache cache(std::chrono::milliseconds(0));
  ASSERT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "macvlan");
  Write("10-a.conf", "a", "ipvlan!");  // same size, new content
  absl::StatusOr<NetConfig> c = cache.Lookup(dir_.path(), "a");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->plugin_types[0], "ipvlan!");
  EXPECT_EQ(cache.misses(), 2u);
}

TEST_F(ConfDirCacheTest, AnAddedOrRemovedFileIsPickedUp) {
  Write("20-a.conf", "a", "macvlan");
  AgeAll();
  ConfDirCache cache(std::chrono::milliseconds(0));
  ASSERT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "macvlan");
  // A file sorted first with the same network name now wins.
  Write("10-a.conf", "a", "bridge");
  EXPECT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "bridge");
  std::filesystem::remove(dir_ / "10-a.conf");
  EXPECT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "macvlan");
  std::filesystem::remove(dir_ / "20-a.conf");
  EXPECT_THAT(cache.Lookup(dir_.path(), "a"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ConfDirCacheTest, RecentlyChangedFilesAreNotKept) {
  // Written just now: within the racy window, so every lookup reads the
  // dir, and a same-size rewrite in the same clock tick is still seen.
  Write("10-a.conf", "a", "macvlan");
  ConfDirCache cache;  // 2 s window
  ASSERT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "macvlan");
  Write("10-a.conf", "a", "ipvlan!");
  EXPECT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "ipvlan!");
  EXPECT_EQ(cache.misses(), 2u);
}

TEST_F(ConfDirCacheTest, FailuresAreNotKept) {
  ConfDirCache cache(std::chrono::milliseconds(0));
  EXPECT_THAT(cache.Lookup(dir_.path(), "a"),
              StatusIs(absl::StatusCode::kNotFound));
  Write("10-a.conf", "a", "macvlan");
  EXPECT_EQ(cache.Lookup(dir_.path(), "a")->plugin_types[0], "macvlan");
}

}  // namespace
}  // namespace sk::netattach
