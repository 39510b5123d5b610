#include "lib/base/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/unique_fd.h"
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

TEST(FileUtilTest, ReadBoundedAcceptsExactLimitAndRefusesOneMore) {
  sk::testing::TempDir dir;
  auto p = dir / "in";
  SK_ASSERT_OK(WriteFileAtomic(p, std::string(10000, 'x')));
  EXPECT_THAT(ReadFileBounded(p, 10000), IsOkAndHolds(std::string(10000, 'x')));
  EXPECT_THAT(ReadFileBounded(p, 9999),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       p.string() + ": larger than the 9999-byte limit"));
  EXPECT_THAT(ReadFileBounded(dir / "missing", 10),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(FileUtilTest, ReadFdBoundedStopsAtTheLimitOnAPipe) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  // More than the limit is waiting; the reader must stop, not drain it.
  const std::string data(20000, 'y');
  ASSERT_EQ(::write(w.get(), data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  EXPECT_THAT(ReadFdBounded(r.get(), 4096, "stdin"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "stdin: more than 4096 bytes"));
  char rest[32768];
  EXPECT_EQ(::read(r.get(), rest, sizeof(rest)), 20000 - 4097);
  w.Reset();
  EXPECT_THAT(ReadFdBounded(r.get(), 4096, "stdin"), IsOkAndHolds(""));
}

}  // namespace
}  // namespace sk
