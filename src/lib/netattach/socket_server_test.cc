#include "lib/netattach/socket_server.h"

#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/json.h"
#include "lib/base/unique_fd.h"
#include "lib/netattach/shim_client.h"
#include "lib/netattach/shim_protocol.h"
#include "tests/testing/fake_cni_handler.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::FakeCniHandler;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

mode_t ModeOf(const std::filesystem::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

UniqueFd ConnectTo(const std::filesystem::path& p) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  p.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0)
    return UniqueFd();
  return fd;
}

std::chrono::steady_clock::time_point In(int ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

// A socket file with nobody listening, as a crashed daemon leaves behind.
void MakeDeadSocket(const std::filesystem::path& p) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  p.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
}

class SocketServerTest : public ::testing::Test {
 protected:
  std::filesystem::path dir() const { return tmp_ / "s"; }
  std::string Conf() const {
    return R"({"cniVersion":"0.4.0","name":"n","socketDir":")" +
           dir().string() + R"("})";
  }
  absl::StatusOr<std::unique_ptr<SocketServer>> StartServer(
      size_t max_workers = 64, std::vector<uid_t> extra_uids = {},
      MultusLogger* logger = nullptr) {
    SocketServerOptions o;
    o.extra_allowed_uids = std::move(extra_uids);
    o.logger = logger;
    o.socket_dir = dir();
    o.max_workers = max_workers;
    o.read_timeout = absl::Seconds(5);
    return SocketServer::Start(o, &handler_);
  }
  CniResponse Call(const std::string& container_id) {
    CniRequest req;
    req.env = {{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", container_id}};
    req.stdin_data = Conf();
    ShimClientOptions o;
    o.reply_timeout = absl::Seconds(20);
    return RunShim(req, o);
  }

  // Calls the server from a forked child whose effective uid is `uid` (its
  // file-system uid stays 0, so the 0700 socket directory does not stop it
  // first and SO_PEERCRED is what decides). Returns the child's response.
  CniResponse CallAsUid(uid_t uid) {
    int p[2];
    if (::pipe(p) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      if (::setresuid(0, uid, 0) != 0) ::_exit(2);
      ::setfsuid(0);
      CniResponse r = Call("as-uid");
      std::string out = std::to_string(r.exit_code) + "\n" + r.stdout_data;
      (void)!::write(p[1], out.data(), out.size());
      ::_exit(0);
    }
    ::close(p[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof(buf))) > 0;)
      out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CniResponse r;
    size_t nl = out.find('\n');
    if (nl == std::string::npos) return {-1, out};
    r.exit_code = std::stoi(out.substr(0, nl));
    r.stdout_data = out.substr(nl + 1);
    return r;
  }

  TempDir tmp_;
  FakeCniHandler handler_;
};

TEST_F(SocketServerTest, FullRoundTrip) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  EXPECT_EQ((*srv)->socket_path(), dir() / "netattach.sock");
  CniResponse r = Call("c1");
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  auto j = ParseJsonBounded(r.stdout_data);
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ((*j)["env"]["CNI_COMMAND"], "ADD");
  EXPECT_EQ((*j)["env"]["CNI_CONTAINERID"], "c1");
  EXPECT_EQ((*j)["stdin"], Conf());
  EXPECT_EQ(handler_.calls(), 1);
}

TEST_F(SocketServerTest, TwentyConcurrentRequestsAllAnswered) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  handler_.HoldCalls();
  std::vector<std::future<CniResponse>> calls;
  for (int i = 0; i < 20; ++i) {
    calls.push_back(std::async(std::launch::async,
                               [this, i] { return Call(std::to_string(i)); }));
  }
  // All twenty are inside Handle() at once: one worker per connection.
  EXPECT_TRUE(handler_.WaitForInFlight(20, absl::Seconds(10)));
  handler_.ReleaseCalls();
  for (int i = 0; i < 20; ++i) {
    CniResponse r = calls[i].get();
    ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
    auto j = ParseJsonBounded(r.stdout_data);
    ASSERT_THAT(j, IsOk());
    EXPECT_EQ((*j)["env"]["CNI_CONTAINERID"], std::to_string(i));
  }
  EXPECT_EQ(handler_.calls(), 20);
}

TEST_F(SocketServerTest, SequentialRequestsReuseTheIdleWorker) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Call(std::to_string(i)).exit_code, 0);
    // The worker has answered; wait (bounded) until it is idle again, so
    // the next connection finds it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((*srv)->ActiveWorkersForTest() != 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(handler_.calls(), 5);
  EXPECT_EQ(handler_.distinct_threads(), 1u);
  // Stop() does not wait out the idle worker's 30 s.
  auto start = std::chrono::steady_clock::now();
  (*srv)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(SocketServerTest, WorkersAreBounded) {
  auto srv = StartServer(/*max_workers=*/2);
  ASSERT_THAT(srv, IsOk());
  handler_.HoldCalls();
  std::vector<std::future<CniResponse>> calls;
  for (int i = 0; i < 5; ++i) {
    calls.push_back(std::async(std::launch::async,
                               [this, i] { return Call(std::to_string(i)); }));
  }
  ASSERT_TRUE(handler_.WaitForInFlight(2, absl::Seconds(10)));
  // The other three wait in the backlog: a third call must not start.
  EXPECT_FALSE(handler_.WaitForInFlight(3, absl::Milliseconds(300)));
  EXPECT_LE((*srv)->ActiveWorkersForTest(), 2u);
  handler_.ReleaseCalls();
  for (auto& c : calls) EXPECT_EQ(c.get().exit_code, 0);
  EXPECT_EQ(handler_.calls(), 5);
  EXPECT_EQ(handler_.max_in_flight(), 2);
}

TEST_F(SocketServerTest, DirectoryIs0700AndSocket0600) {
  // An existing, too open directory is tightened.
  std::filesystem::create_directory(dir());
  ::chmod(dir().c_str(), 0755);
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  mode_t d = ModeOf(dir());
  EXPECT_TRUE(S_ISDIR(d));
  EXPECT_EQ(d & 07777, 0700u);
  mode_t s = ModeOf(dir() / "netattach.sock");
  EXPECT_TRUE(S_ISSOCK(s));
  EXPECT_EQ(s & 07777, 0600u);
}

TEST_F(SocketServerTest, CreatesMissingParents) {
  SocketServerOptions o;
  o.socket_dir = tmp_ / "a/b";
  auto srv = SocketServer::Start(o, &handler_);
  ASSERT_THAT(srv, IsOk());
  EXPECT_EQ(ModeOf(tmp_ / "a/b") & 07777, 0700u);
  EXPECT_TRUE(S_ISSOCK(ModeOf(tmp_ / "a/b/netattach.sock")));
}

TEST_F(SocketServerTest, StaleSocketReplaced) {
  std::filesystem::create_directory(dir());
  MakeDeadSocket(dir() / "netattach.sock");
  ASSERT_TRUE(S_ISSOCK(ModeOf(dir() / "netattach.sock")));
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  EXPECT_EQ(Call("c").exit_code, 0);
}

TEST_F(SocketServerTest, LiveSocketOfAnotherServerNotStolen) {
  auto first = StartServer();
  ASSERT_THAT(first, IsOk());
  FakeCniHandler other;
  SocketServerOptions o;
  o.socket_dir = dir();
  EXPECT_THAT(SocketServer::Start(o, &other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("another daemon is serving it")));
  EXPECT_EQ(Call("c").exit_code, 0);
  EXPECT_EQ(handler_.calls(), 1);
}

TEST_F(SocketServerTest, RegularFileAtSocketPathNotRemoved) {
  std::filesystem::create_directory(dir());
  std::ofstream(dir() / "netattach.sock") << "precious";
  EXPECT_THAT(
      StartServer(),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr((dir() / "netattach.sock").string() +
                         " exists and is a regular file, not a socket")));
  std::ifstream in(dir() / "netattach.sock");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(SocketServerTest, SymlinkAtSocketPathNotRemoved) {
  std::filesystem::create_directory(dir());
  std::filesystem::create_symlink("/nonexistent", dir() / "netattach.sock");
  EXPECT_THAT(StartServer(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("is a symlink, not a socket")));
  EXPECT_TRUE(S_ISLNK(ModeOf(dir() / "netattach.sock")));
}

TEST_F(SocketServerTest, SymlinkedSocketDirRefused) {
  std::filesystem::create_directory(tmp_ / "real");
  std::filesystem::create_directory_symlink(tmp_ / "real", dir());
  EXPECT_THAT(StartServer(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("socket dir " + dir().string() +
                                                " is a symlink")));
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "real/netattach.sock"));
}

TEST_F(SocketServerTest, SocketDirThatIsAFileRefused) {
  std::ofstream(dir()) << "x";
  EXPECT_THAT(StartServer(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is a regular file, not a directory")));
}

TEST_F(SocketServerTest, SocketDirOwnedBySomeoneElseRefused) {
  std::filesystem::create_directory(dir());
  if (::geteuid() != 0 || ::chown(dir().c_str(), 65534, 65534) != 0) {
    GTEST_SKIP() << "needs root to give the directory away";
  }
  EXPECT_THAT(StartServer(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("is owned by uid 65534")));
}

TEST_F(SocketServerTest, OverlongSocketPathRefused) {
  SocketServerOptions o;
  o.socket_dir = tmp_ / std::string(100, 'd');
  EXPECT_THAT(SocketServer::Start(o, &handler_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("over the 107-byte unix socket limit")));
}

TEST_F(SocketServerTest, MalformedRequestGetsCode7) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  struct Case {
    std::string frame_body;
    std::string want;
  } cases[] = {
      {"not json", "not valid JSON"},
      {R"({"version":9,"env":{},"stdin":""})", "version 9 is not supported"},
      {R"({"version":1,"env":{"PATH":"/"},"stdin":""})", "\"PATH\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.frame_body);
    UniqueFd fd = ConnectTo((*srv)->socket_path());
    ASSERT_TRUE(fd.valid());
    ASSERT_THAT(WriteFrame(fd.get(), c.frame_body, In(5000)), IsOk());
    auto reply = ReadFrame(fd.get(), In(5000));
    ASSERT_THAT(reply, IsOk());
    auto resp = DecodeResponse(*reply);
    ASSERT_THAT(resp, IsOk());
    EXPECT_EQ(resp->exit_code, 1);
    auto err = ParseJsonBounded(resp->stdout_data);
    ASSERT_THAT(err, IsOk());
    EXPECT_EQ((*err)["code"], 7);
    EXPECT_THAT((*err)["msg"].get<std::string>(),
                HasSubstr("malformed request"));
    EXPECT_THAT((*err)["msg"].get<std::string>(), HasSubstr(c.want));
  }
  EXPECT_EQ(handler_.calls(), 0);
}

TEST_F(SocketServerTest, OversizedFrameGetsCode7) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  UniqueFd fd = ConnectTo((*srv)->socket_path());
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::send(fd.get(), "\x01\0\0\0", 4, MSG_NOSIGNAL), 4);  // 16 MiB
  auto reply = ReadFrame(fd.get(), In(5000));
  ASSERT_THAT(reply, IsOk());
  auto resp = DecodeResponse(*reply);
  ASSERT_THAT(resp, IsOk());
  EXPECT_EQ(resp->exit_code, 1);
  EXPECT_THAT(resp->stdout_data, HasSubstr("\"code\":7"));
  EXPECT_THAT(resp->stdout_data,
              HasSubstr("frame of 16777216 bytes exceeds the 8388608-byte"));
}

TEST_F(SocketServerTest, SilentClientTimesOutWithCode7) {
  SocketServerOptions o;
  o.socket_dir = dir();
  o.read_timeout = absl::Milliseconds(200);
  auto srv = SocketServer::Start(o, &handler_);
  ASSERT_THAT(srv, IsOk());
  UniqueFd fd = ConnectTo((*srv)->socket_path());
  ASSERT_TRUE(fd.valid());
  auto reply = ReadFrame(fd.get(), In(5000));
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(*reply, HasSubstr("timed out waiting for a frame"));
}

TEST_F(SocketServerTest, StopRemovesSocketAndInterruptsIdleConnections) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  UniqueFd idle = ConnectTo((*srv)->socket_path());
  ASSERT_TRUE(idle.valid());
  auto t0 = std::chrono::steady_clock::now();
  (*srv)->Stop();
  // The worker waiting on `idle` gave up at once, not after read_timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_FALSE(std::filesystem::exists(dir() / "netattach.sock"));
  EXPECT_TRUE(std::filesystem::is_directory(dir()));
  (*srv)->Stop();  // idempotent
  // Nobody answers any more.
  CniResponse r = Call("late");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, HasSubstr("\"code\":11"));
}

TEST_F(SocketServerTest, StopWaitsForCallsInsideHandle) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  handler_.HoldCalls();
  auto call = std::async(std::launch::async, [this] { return Call("c"); });
  ASSERT_TRUE(handler_.WaitForInFlight(1, absl::Seconds(10)));
  auto stopper = std::async(std::launch::async, [&] { (*srv)->Stop(); });
  EXPECT_EQ(stopper.wait_for(std::chrono::milliseconds(200)),
            std::future_status::timeout);
  handler_.ReleaseCalls();
  stopper.get();
  EXPECT_EQ(call.get().exit_code, 0);
}

TEST_F(SocketServerTest, StopLeavesASuccessorsSocketAlone) {
  auto srv = StartServer();
  ASSERT_THAT(srv, IsOk());
  // A successor replaced the socket file (e.g. after our directory was
  // cleaned up); our Stop must not delete theirs.
  ASSERT_EQ(::unlink((dir() / "netattach.sock").c_str()), 0);
  MakeDeadSocket(dir() / "netattach.sock");
  (*srv)->Stop();
  EXPECT_TRUE(S_ISSOCK(ModeOf(dir() / "netattach.sock")));
}

TEST_F(SocketServerTest, PeerOfAnotherUidIsRefusedAndLogged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (setresuid)";
  LogConfig lc;
  lc.file = (tmp_ / "d.log").string();
  lc.level = LogLevel::kError;
  auto log = MultusLogger::Open(lc);
  ASSERT_THAT(log, IsOk());
  auto srv = StartServer(64, {}, log->get());
  ASSERT_THAT(srv, IsOk());
  CniResponse r = CallAsUid(4242);
  EXPECT_EQ(r.exit_code, 1) << r.stdout_data;
  EXPECT_THAT(r.stdout_data,
              HasSubstr("uid 4242 gid 0 is not an allowed uid (0)"));
  EXPECT_EQ(handler_.calls(), 0);
  std::ifstream f(tmp_ / "d.log");
  std::string line;
  std::getline(f, line);
  EXPECT_THAT(line, HasSubstr("[error] sriovkit-netattachd: connection "
                              "refused: peer pid "));
  EXPECT_THAT(line, HasSubstr(" uid 4242 "));
  // Root is served.
  EXPECT_EQ(Call("root").exit_code, 0);
  EXPECT_EQ(handler_.calls(), 1);
}

TEST_F(SocketServerTest, ConfiguredUidIsServed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (setresuid)";
  auto srv = StartServer(64, {4242});
  ASSERT_THAT(srv, IsOk());
  CniResponse r = CallAsUid(4242);
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data;
  EXPECT_EQ(handler_.calls(), 1);
}

TEST_F(SocketServerTest, RequestsLoggedAtVerbose) {
  LogConfig lc;
  lc.file = (tmp_ / "v.log").string();
  lc.level = LogLevel::kVerbose;
  auto log = MultusLogger::Open(lc);
  ASSERT_THAT(log, IsOk());
  auto srv = StartServer(64, {}, log->get());
  ASSERT_THAT(srv, IsOk());
  ASSERT_EQ(Call("c-logged").exit_code, 0);
  (*srv)->Stop();
  std::ifstream f(tmp_ / "v.log");
  std::string all((std::istreambuf_iterator<char>(f)), {});
  EXPECT_THAT(all, HasSubstr("[verbose] ADD containerID=c-logged"));
  // With the call's time and the delegates' part (the fake's 1.5 ms).
  EXPECT_THAT(all, ContainsRegex(R"(c-logged .*: ok in [0-9]+\.[0-9][0-9] ms )"
                                 R"(\(delegates 1\.50 ms\))"));
}

}  // namespace
}  // namespace sk::netattach
