#include "lib/base/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;

TEST(FileUtilTest, WriteAtomicThenRead) {
  sk::testing::TempDir dir;
  auto p = dir / "a/b/state.json";
  SK_ASSERT_OK(MakeDirs(p.parent_path()));
  SK_ASSERT_OK(WriteFileAtomic(p, "{\"x\":1}", 0600));
  EXPECT_THAT(ReadFile(p), IsOkAndHolds("{\"x\":1}"));
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Overwrite replaces the content and leaves no temp files behind.
  SK_ASSERT_OK(WriteFileAtomic(p, "new"));
  EXPECT_THAT(ReadFile(p), IsOkAndHolds("new"));
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(p.parent_path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(FileUtilTest, WriteReplacesSymlinkInsteadOfFollowingIt) {
  sk::testing::TempDir dir;
  auto target = dir / "victim";
  SK_ASSERT_OK(WriteFileAtomic(target, "precious"));
  auto link = dir / "cache";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  SK_ASSERT_OK(WriteFileAtomic(link, "state"));
  EXPECT_THAT(ReadFile(target), IsOkAndHolds("precious"));
  EXPECT_FALSE(std::filesystem::is_symlink(link));
  EXPECT_THAT(ReadFile(link), IsOkAndHolds("state"));
}

TEST(FileUtilTest, ReadMissingNamesPath) {
  EXPECT_THAT(ReadFile("/nonexistent/sk/file"),
              StatusIs(absl::StatusCode::kNotFound,
                       ::testing::HasSubstr("/nonexistent/sk/file")));
}

}  // namespace
}  // namespace sk
