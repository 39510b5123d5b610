#include "lib/netattach/multus_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::TempDir;
using ::testing::HasSubstr;

std::string Read(const std::filesystem::path& p) {
  absl::StatusOr<std::string> t = ReadFileBounded(p, size_t{8} << 20);
  return t.ok() ? *t : "";
}

TEST(LogConfigTest, KeysAndErrors) {
  absl::StatusOr<LogConfig> c = LogConfigFromJson(nlohmann::json::parse(
      R"({"logFile":"/var/log/x.log","logLevel":"verbose","logToStderr":true,
          "logOptions":{"maxSize":7,"maxAge":2,"maxBackups":3,"compress":false}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->file, "/var/log/x.log");
  EXPECT_EQ(c->level, LogLevel::kVerbose);
  EXPECT_TRUE(c->to_stderr);
  EXPECT_EQ(c->max_size_mb, 7);
  EXPECT_EQ(c->max_age_days, 2);
  EXPECT_EQ(c->max_backups, 3);
  EXPECT_FALSE(c->compress);

  c = LogConfigFromJson(nlohmann::json::object());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->level, LogLevel::kPanic);  // Multus's default
  EXPECT_FALSE(c->to_stderr);
  EXPECT_TRUE(c->file.empty());

  for (const auto& [bad, want] :
       std::vector<std::pair<std::string, std::string>>{
           {R"({"logLevel":"loud"})", "key \"logLevel\": log level \"loud\""},
           {R"({"logFile":"rel.log"})", "\"rel.log\" is not absolute"},
           {R"({"logToStderr":"yes"})", "key \"logToStderr\""},
           {R"({"logOptions":{"maxSize":-1}})",
            "key \"logOptions.maxSize\""}}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<LogConfig> b = LogConfigFromJson(nlohmann::json::parse(bad));
    ASSERT_FALSE(b.ok());
    EXPECT_THAT(b.status().message(), HasSubstr(want));
  }
}

class MultusLoggerTest : public ::testing::Test {
 protected:
  MultusLogger::Seams Seams() {
    MultusLogger::Seams s;
    s.now = [this] { return now_; };
    return s;
  }
  TempDir dir_;
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01
};

TEST_F(MultusLoggerTest, LevelsAndFormat) {
  LogConfig c;
  c.file = (dir_ / "m.log").string();
  c.level = LogLevel::kError;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Log(LogLevel::kError, "refused uid 1000");
  (*log)->Log(LogLevel::kVerbose, "not written");
  (*log)->Log(LogLevel::kDebug, "not written either");
  EXPECT_EQ(Read(dir_ / "m.log"),
            "2026-01-01T00:00:00Z [error] refused uid 1000\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "m.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(MultusLoggerTest, StderrOnlyWhenAsked) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  LogConfig c;
  c.level = LogLevel::kDebug;
  c.to_stderr = true;
  MultusLogger::Seams s = Seams();
  s.stderr_fd = p[1];
  auto log = MultusLogger::Open(c, s);
  ASSERT_TRUE(log.ok());
  (*log)->Log(LogLevel::kDebug, "hello");
  ::close(p[1]);
  char buf[256];
  ssize_t n = ::read(p[0], buf, sizeof(buf));
  ::close(p[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0),
            "2026-01-01T00:00:00Z [debug] hello\n");
}

TEST_F(MultusLoggerTest, SymlinkAndFifoRefused) {
  std::ofstream(dir_ / "target") << "keep";
  std::filesystem::create_symlink(dir_ / "target", dir_ / "link.log");
  LogConfig c;
  c.file = (dir_ / "link.log").string();
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr("link.log"));
  EXPECT_EQ(Read(dir_ / "target"), "keep");

  ASSERT_EQ(::mkfifo((dir_ / "fifo.log").c_str(), 0600), 0);
  c.file = (dir_ / "fifo.log").string();
  log = MultusLogger::Open(c, Seams());
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr("not a regular file"));
}

TEST_F(MultusLoggerTest, RotatesAtMaxSizeAndKeepsMaxBackups) {
  LogConfig c;
  c.file = (dir_ / "multus.log").string();
  c.level = LogLevel::kDebug;
  c.max_size_mb = 1;
  c.max_backups = 2;
  c.max_age_days = 0;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  const std::string big(400 * 1024, 'x');
  for (int i = 0; i < 12; ++i) {  // ~4.8 MiB: rotations at 3, 5, 7, 9 and 11 s
    now_ += std::chrono::seconds(1);
    (*log)->Log(LogLevel::kDebug, big);
  }
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "multus-2026-01-01T00-00-09.000.log",
                       "multus-2026-01-01T00-00-11.000.log", "multus.log"}));
  EXPECT_LE(std::filesystem::file_size(dir_ / "multus.log"), size_t{1} << 20);
}

TEST_F(MultusLoggerTest, MaxAgeDropsOldBackups) {
  std::ofstream(dir_ / "m-2025-12-01T00-00-00.000.log") << "old";
  std::ofstream(dir_ / "m-2025-12-31T12-00-00.000.log") << "young";
  LogConfig c;
  c.file = (dir_ / "m.log").string();
  c.level = LogLevel::kDebug;
  c.max_size_mb = 1;
  c.max_age_days = 5;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  const std::string big(700 * 1024, 'x');
  (*log)->Log(LogLevel::kDebug, big);
  (*log)->Log(LogLevel::kDebug, big);  // rotates
  EXPECT_FALSE(std::filesystem::exists(dir_ / "m-2025-12-01T00-00-00.000.log"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "m-2025-12-31T12-00-00.000.log"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "m-2026-01-01T00-00-00.000.log"));
}

}  // namespace
}  // namespace sk::netattach
