#include "lib/netattach/multus_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/file_util.h"
#include "lib/base/strings.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::RunShell;
using ::sk::testing::ShellResult;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;

std::string Read(const std::filesystem::path& p) {
  absl::StatusOr<std::string> t = ReadFileBounded(p, size_t{8} << 20);
  return t.ok() ? *t : "";
}

std::vector<std::string> Names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Decompressed by gzip(1), not zlib: an independent reader of the format.
std::string Gunzip(const std::filesystem::path& p) {
  ShellResult t = RunShell("gzip -t '" + p.string() + "'");
  EXPECT_EQ(t.exit_code, 0) << p << ": " << t.stderr_text;
  ShellResult r = RunShell("gzip -dc '" + p.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << p << ": " << r.stderr_text;
  return r.stdout_text;
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
           {R"({"logLevel":"loud"})",
            "config: logLevel: expected one of \"\", \"panic\", \"error\", "
            "\"verbose\", \"debug\", got \"loud\""},
           {R"({"logFile":"rel.log"})",
            "config: logFile: expected an absolute path, got \"rel.log\""},
           {R"({"logFile":7})", "config: logFile: expected a string, got 7"},
           {R"({"logToStderr":"yes"})",
            "config: logToStderr: expected true or false, got \"yes\""},
           {R"({"logOptions":[]})",
            "config: logOptions: expected an object, got []"},
           {R"({"logOptions":{"maxSize":-1}})",
            "config: logOptions.maxSize: expected an integer in 0..1048576, "
            "got -1"},
           {R"({"logOptions":{"maxBackups":"3"}})",
            "config: logOptions.maxBackups: expected an integer in 0..65536, "
            "got \"3\""},
           {R"({"logOptions":{"compress":1}})",
            "config: logOptions.compress: expected true or false, got 1"}}) {
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
  c.compress = false;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  const std::string big(400 * 1024, 'x');
  for (int i = 0; i < 12; ++i) {  // ~4.8 MiB: rotations at 3, 5, 7, 9 and 11 s
    now_ += std::chrono::seconds(1);
    (*log)->Log(LogLevel::kDebug, big);
  }
  (*log)->WaitForMill();
  EXPECT_EQ(Names(dir_.path()),
            (std::vector<std::string>{"multus-2026-01-01T00-00-09.000.log",
                                      "multus-2026-01-01T00-00-11.000.log",
                                      "multus.log"}));
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
  c.compress = false;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  const std::string big(700 * 1024, 'x');
  (*log)->Log(LogLevel::kDebug, big);
  (*log)->Log(LogLevel::kDebug, big);  // rotates
  (*log)->WaitForMill();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "m-2025-12-01T00-00-00.000.log"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "m-2025-12-31T12-00-00.000.log"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "m-2026-01-01T00-00-00.000.log"));
}

// compress (Multus's default): every backup becomes <backup>.gz, the
// uncompressed one goes, and the backups plus the live file hold exactly the
// lines written, in order.
TEST_F(MultusLoggerTest, CompressedBackupsHoldTheExactBytes) {
  LogConfig c;
  c.file = (dir_ / "multus.log").string();
  c.level = LogLevel::kDebug;
  c.max_size_mb = 1;
  c.max_backups = 0;  // keep all
  c.max_age_days = 0;
  ASSERT_TRUE(c.compress);
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  std::string written;
  for (int i = 0; i < 9; ++i) {  // ~2.7 MiB: three or four rotations
    now_ += std::chrono::seconds(1);
    std::string msg = sk::StrCat(
        "line ", i, " ", std::string(300 * 1024, static_cast<char>('a' + i)));
    (*log)->Log(LogLevel::kDebug, msg);
    written += sk::StrCat(Rfc3339(now_), " [debug] ", msg, "\n");
  }
  (*log)->WaitForMill();
  std::vector<std::string> names = Names(dir_.path());
  ASSERT_GE(names.size(), 3u);
  ASSERT_EQ(names.back(), "multus.log");
  std::string got;
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    EXPECT_THAT(names[i], ::testing::MatchesRegex(
                              "multus-2026-01-01T00-00-0[0-9].000.log.gz"));
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / names[i]).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_LT(st.st_size, 64 * 1024);  // runs of one letter compress well
    got += Gunzip(dir_ / names[i]);
  }
  got += Read(dir_ / "multus.log");
  EXPECT_EQ(got.size(), written.size());
  EXPECT_TRUE(got == written);
}

// maxBackups counts compressed backups; a backup that a crash left both
// plain and compressed counts once and is compressed again; older ones go.
TEST_F(MultusLoggerTest, MaxBackupsCountsCompressedFiles) {
  std::ofstream(dir_ / "m-2025-12-29T00-00-00.000.log") << "oldest";
  std::ofstream(dir_ / "m-2025-12-29T00-00-00.000.log.gz") << "half";
  std::ofstream(dir_ / "m-2025-12-30T00-00-00.000.log.gz") << "older";
  std::ofstream(dir_ / "m-2025-12-31T00-00-00.000.log") << "young\n";
  std::ofstream(dir_ / "m-2025-12-31T00-00-00.000.log.gz") << "torn";
  std::ofstream(dir_ / "other-2025-12-01T00-00-00.000.log") << "not ours";
  LogConfig c;
  c.file = (dir_ / "m.log").string();
  c.level = LogLevel::kDebug;
  c.max_size_mb = 1;
  c.max_backups = 2;
  c.max_age_days = 0;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  const std::string big(700 * 1024, 'x');
  (*log)->Log(LogLevel::kDebug, big);
  (*log)->Log(LogLevel::kDebug, big);  // rotates at 2026-01-01T00-00-00.000
  (*log)->WaitForMill();
  EXPECT_EQ(Names(dir_.path()), (std::vector<std::string>{
                                    "m-2025-12-31T00-00-00.000.log.gz",
                                    "m-2026-01-01T00-00-00.000.log.gz", "m.log",
                                    "other-2025-12-01T00-00-00.000.log"}));
  EXPECT_EQ(Gunzip(dir_ / "m-2025-12-31T00-00-00.000.log.gz"), "young\n");
  EXPECT_EQ(Gunzip(dir_ / "m-2026-01-01T00-00-00.000.log.gz"),
            sk::StrCat(Rfc3339(now_), " [debug] ", big, "\n"));
}

// maxAge applies to compressed backups too.
TEST_F(MultusLoggerTest, MaxAgeDropsOldCompressedBackups) {
  std::ofstream(dir_ / "m-2025-12-01T00-00-00.000.log.gz") << "old";
  LogConfig c;
  c.file = (dir_ / "m.log").string();
  c.level = LogLevel::kDebug;
  c.max_size_mb = 1;
  c.max_age_days = 5;
  auto log = MultusLogger::Open(c, Seams());
  ASSERT_TRUE(log.ok());
  const std::string big(700 * 1024, 'x');
  (*log)->Log(LogLevel::kDebug, big);
  (*log)->Log(LogLevel::kDebug, big);
  (*log)->WaitForMill();
  EXPECT_EQ(
      Names(dir_.path()),
      (std::vector<std::string>{"m-2026-01-01T00-00-00.000.log.gz", "m.log"}));
}

// A short-lived process (the shim) destroys its logger right after the
// rotation: the destructor finishes the compression.
TEST_F(MultusLoggerTest, DestructorFinishesTheCompression) {
  LogConfig c;
  c.file = (dir_ / "m.log").string();
  c.level = LogLevel::kDebug;
  c.max_size_mb = 1;
  {
    auto log = MultusLogger::Open(c, Seams());
    ASSERT_TRUE(log.ok());
    const std::string big(700 * 1024, 'y');
    (*log)->Log(LogLevel::kDebug, big);
    (*log)->Log(LogLevel::kDebug, big);
  }
  EXPECT_EQ(
      Names(dir_.path()),
      (std::vector<std::string>{"m-2026-01-01T00-00-00.000.log.gz", "m.log"}));
  EXPECT_EQ(Gunzip(dir_ / "m-2026-01-01T00-00-00.000.log.gz").size(),
            700u * 1024 + 30);
}

TEST(CompressLogFileTest, RefusesSymlinksAndKeepsTheSourceOnError) {
  TempDir d;
  std::ofstream(d / "target") << "precious";
  std::ofstream(d / "src.log") << "backup";
  std::filesystem::create_symlink(d / "target", d / "link.gz");
  absl::Status s = CompressLogFile(d / "src.log", d / "link.gz");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr((d / "link.gz").string()));
  EXPECT_EQ(Read(d / "target"), "precious");
  EXPECT_EQ(Read(d / "src.log"), "backup");

  std::filesystem::create_symlink(d / "target", d / "link.log");
  s = CompressLogFile(d / "link.log", d / "out.gz");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr((d / "link.log").string()));
  EXPECT_FALSE(std::filesystem::exists(d / "out.gz"));

  ASSERT_TRUE(CompressLogFile(d / "src.log", d / "src.log.gz").ok());
  EXPECT_FALSE(std::filesystem::exists(d / "src.log"));
  EXPECT_EQ(Gunzip(d / "src.log.gz"), "backup");

  // An empty backup is a valid, empty gzip member.
  std::ofstream(d / "empty.log").flush();
  ASSERT_TRUE(CompressLogFile(d / "empty.log", d / "empty.log.gz").ok());
  EXPECT_EQ(Gunzip(d / "empty.log.gz"), "");
}

}  // namespace
}  // namespace sk::netattach
