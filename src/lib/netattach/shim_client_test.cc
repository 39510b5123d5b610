#include "lib/netattach/shim_client.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/unique_fd.h"
#include "lib/netattach/shim_protocol.h"
#include "lib/netattach/socket_server.h"
#include "tests/testing/fake_cni_handler.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::FakeCniHandler;
using ::sk::testing::IsOk;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// A listening socket at <dir>/netattach.sock driven by the test itself.
UniqueFd Listen(const std::filesystem::path& dir, bool listen = true) {
  std::filesystem::create_directories(dir);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  (dir / "netattach.sock").string().copy(addr.sun_path, 100);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return UniqueFd();
  if (listen && ::listen(fd.get(), 8) != 0) return UniqueFd();
  return fd;
}

nlohmann::json ErrorOf(const CniResponse& r) {
  EXPECT_EQ(r.exit_code, 1) << r.stdout_data;
  auto j = ParseJsonBounded(r.stdout_data);
  EXPECT_THAT(j, IsOk()) << r.stdout_data;
  return j.ok() ? *j : nlohmann::json();
}

class ShimClientTest : public ::testing::Test {
 protected:
  std::filesystem::path dir() const { return tmp_ / "s"; }
  std::string sock() const { return (dir() / "netattach.sock").string(); }
  CniRequest Req(std::string extra = "") const {
    CniRequest r;
    r.env = {{"CNI_COMMAND", "ADD"}, {"CNI_IFNAME", "eth0"}};
    r.stdin_data = R"({"cniVersion":"0.3.1","socketDir":")" + dir().string() +
                   "\"" + extra + "}";
    return r;
  }
  TempDir tmp_;
};

TEST_F(ShimClientTest, VersionAnsweredWithoutDaemon) {
  CniRequest r;
  r.env = {{"CNI_COMMAND", "VERSION"}};
  r.stdin_data = R"({"cniVersion":"0.4.0"})";
  CniResponse resp = RunShim(r);
  EXPECT_EQ(resp.exit_code, 0);
  auto j = ParseJsonBounded(resp.stdout_data);
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ((*j)["cniVersion"], "0.4.0");
  EXPECT_EQ((*j)["supportedVersions"],
            nlohmann::json({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  r.stdin_data = "";
  resp = RunShim(r);
  EXPECT_EQ(resp.exit_code, 0);
  EXPECT_THAT(resp.stdout_data, HasSubstr(R"("cniVersion":"1.1.0")"));
}

TEST_F(ShimClientTest, NoSocketIsCode11NamingIt) {
  auto t0 = Clock::now();
  nlohmann::json e = ErrorOf(RunShim(Req()));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(e["code"], 11);
  EXPECT_EQ(e["cniVersion"], "0.3.1");
  EXPECT_THAT(e["msg"].get<std::string>(),
              HasSubstr("sriovkit-netattachd unreachable at " + sock() +
                        ": connect: No such file or directory"));
}

TEST_F(ShimClientTest, UnreachableIsLoggedToTheConfiguredFile) {
  std::string log = (tmp_ / "shim.log").string();
  ErrorOf(RunShim(Req(R"(,"logFile":")" + log + R"(","logLevel":"error")")));
  auto text = ReadFileBounded(log, 1 << 16);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, HasSubstr("[error] sriov-netattach: ADD containerID= "
                               "ifname=eth0: "));
  EXPECT_THAT(*text, HasSubstr("unreachable at " + sock()));
  // Below "error" (the default "panic"), nothing is written, and the file
  // is not even created (the log opens at its first line, so the fast path,
  // which logs nothing, behaves the same).
  std::filesystem::remove(log);
  ErrorOf(RunShim(Req(R"(,"logFile":")" + log + "\"")));
  EXPECT_FALSE(std::filesystem::exists(log));
}

TEST_F(ShimClientTest, RefusedIsCode11) {
  UniqueFd bound = Listen(dir(), /*listen=*/false);
  ASSERT_TRUE(bound.valid());
  nlohmann::json e = ErrorOf(RunShim(Req()));
  EXPECT_EQ(e["code"], 11);
  EXPECT_THAT(e["msg"].get<std::string>(),
              HasSubstr(sock() + ": connect: Connection refused"));
}

TEST_F(ShimClientTest, DaemonThatNeverAnswersTimesOut) {
  UniqueFd l = Listen(dir());
  ASSERT_TRUE(l.valid());
  // The connection sits in the backlog (or is accepted and ignored): the
  // shim must give up after its reply timeout.
  ShimClientOptions o;
  o.reply_timeout = absl::Milliseconds(300);
  auto t0 = Clock::now();
  nlohmann::json e = ErrorOf(RunShim(Req(), o));
  auto took = Clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(e["code"], 11);
  EXPECT_THAT(e["msg"].get<std::string>(),
              HasSubstr(sock() + ": no reply within 300ms"));
}

TEST_F(ShimClientTest, DaemonTimeoutSecondsFromConfig) {
  UniqueFd l = Listen(dir());
  ASSERT_TRUE(l.valid());
  std::promise<void> shim_done;
  std::thread acceptor([&] {
    // Accepts, reads the request, and never answers until the shim is done.
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    (void)ReadFrame(c.get(), Clock::now() + std::chrono::seconds(5));
    shim_done.get_future().wait_for(std::chrono::seconds(10));
  });
  auto t0 = Clock::now();
  nlohmann::json e = ErrorOf(RunShim(Req(R"(,"daemonTimeoutSeconds":1)")));
  auto took = Clock::now() - t0;
  shim_done.set_value();
  acceptor.join();
  EXPECT_GE(took, std::chrono::milliseconds(990));
  EXPECT_LT(took, std::chrono::seconds(6));
  EXPECT_EQ(e["code"], 11);
  EXPECT_THAT(e["msg"].get<std::string>(), HasSubstr("no reply within 1s"));
}

TEST_F(ShimClientTest, ClosedWithoutReplyIsCode11) {
  UniqueFd l = Listen(dir());
  ASSERT_TRUE(l.valid());
  std::thread acceptor([&] {
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    (void)ReadFrame(c.get(), Clock::now() + std::chrono::seconds(5));
  });  // closes without answering
  nlohmann::json e = ErrorOf(RunShim(Req()));
  acceptor.join();
  EXPECT_EQ(e["code"], 11);
  EXPECT_THAT(e["msg"].get<std::string>(),
              HasSubstr(sock() + ": connection closed without a reply"));
}

TEST_F(ShimClientTest, MalformedReplyIsCode999) {
  UniqueFd l = Listen(dir());
  ASSERT_TRUE(l.valid());
  std::thread acceptor([&] {
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    (void)ReadFrame(c.get(), Clock::now() + std::chrono::seconds(5));
    (void)WriteFrame(c.get(), R"({"exitCode":"zero","stdout":""})",
                     Clock::now() + std::chrono::seconds(5));
  });
  nlohmann::json e = ErrorOf(RunShim(Req()));
  acceptor.join();
  EXPECT_EQ(e["code"], 999);
  EXPECT_THAT(e["msg"].get<std::string>(),
              HasSubstr("at " + sock() + " sent a malformed reply"));
  EXPECT_THAT(e["msg"].get<std::string>(), HasSubstr("exitCode"));
}

TEST_F(ShimClientTest, RelaysTheDaemonsAnswerUnchanged) {
  UniqueFd l = Listen(dir());
  ASSERT_TRUE(l.valid());
  std::string got_request;
  std::thread acceptor([&] {
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    auto body = ReadFrame(c.get(), Clock::now() + std::chrono::seconds(5));
    if (body.ok()) got_request = *body;
    (void)WriteFrame(c.get(), EncodeResponse({3, "out\n"}),
                     Clock::now() + std::chrono::seconds(5));
  });
  CniResponse r = RunShim(Req());
  acceptor.join();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_data, "out\n");
  auto req = DecodeRequest(got_request);
  ASSERT_THAT(req, IsOk());
  EXPECT_EQ(req->env, Req().env);
  EXPECT_EQ(req->stdin_data, Req().stdin_data);
}

TEST_F(ShimClientTest, BadShimConfigIsCode7NamingTheKey) {
  struct Case {
    std::string stdin_data;
    std::string want;
    std::string version;
  } cases[] = {
      {"{", "not valid JSON", "1.0.0"},
      {"[]", "network configuration is array", "1.0.0"},
      {R"({"cniVersion":"1.1.0","socketDir":5})", "socketDir 5", "1.1.0"},
      {R"({"socketDir":""})", "socketDir \"\"", "1.0.0"},
      {R"({"daemonTimeoutSeconds":0})", "daemonTimeoutSeconds 0", "1.0.0"},
      {R"({"daemonTimeoutSeconds":"9"})", "daemonTimeoutSeconds \"9\"",
       "1.0.0"},
      {R"({"daemonTimeoutSeconds":3601})", "in [1, 3600]", "1.0.0"},
      {R"({"socketDir":"/)" + std::string(100, 'x') + "\"}",
       "netattach.sock is 116 bytes, over the 107-byte", "1.0.0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.stdin_data);
    CniRequest r;
    r.env = {{"CNI_COMMAND", "ADD"}};
    r.stdin_data = c.stdin_data;
    nlohmann::json e = ErrorOf(RunShim(r));
    EXPECT_EQ(e["code"], 7);
    EXPECT_EQ(e["cniVersion"], c.version);
    EXPECT_THAT(e["msg"].get<std::string>(), HasSubstr(c.want));
  }
}

TEST_F(ShimClientTest, DefaultSocketDirIsDocumented) {
  EXPECT_STREQ(kDefaultSocketDir, "/run/sriovkit/netattach");
  EXPECT_EQ(kDefaultReplyTimeout, absl::Seconds(120));
  CniRequest r;
  r.env = {{"CNI_COMMAND", "DEL"}};
  r.stdin_data = R"({"cniVersion":"1.0.0"})";
  if (std::filesystem::exists("/run/sriovkit/netattach/netattach.sock")) {
    GTEST_SKIP() << "a daemon runs on this host";
  }
  nlohmann::json e = ErrorOf(RunShim(r));
  EXPECT_THAT(
      e["msg"].get<std::string>(),
      HasSubstr("unreachable at /run/sriovkit/netattach/netattach.sock"));
}

TEST_F(ShimClientTest, ProcessEntryForwardsOnlyCniVariables) {
  FakeCniHandler h;
  SocketServerOptions so;
  so.socket_dir = dir();
  auto srv = SocketServer::Start(so, &h);
  ASSERT_THAT(srv, IsOk());
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  std::string conf = Req().stdin_data;
  ASSERT_EQ(::write(wr.get(), conf.data(), conf.size()),
            static_cast<ssize_t>(conf.size()));
  wr.Reset();
  const char* envp[] = {"PATH=/bin", "CNI_COMMAND=CHECK", "CNI_ARGS=a=b=c",
                        "CNI_X", nullptr};
  CniResponse r = RunShimProcess(envp, rd.get());
  ASSERT_EQ(r.exit_code, 0) << r.stdout_data;
  auto j = ParseJsonBounded(r.stdout_data);
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ((*j)["env"],
            nlohmann::json({{"CNI_COMMAND", "CHECK"}, {"CNI_ARGS", "a=b=c"}}));
  EXPECT_EQ((*j)["stdin"], conf);
}

TEST_F(ShimClientTest, ProcessEntryRefusesOversizedStdin) {
  TempDir t;
  std::filesystem::path f = t / "big";
  { std::ofstream create(f); }
  std::filesystem::resize_file(f, kMaxShimStdinBytes + 1);  // zeros
  UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  const char* envp[] = {"CNI_COMMAND=ADD", nullptr};
  nlohmann::json e = ErrorOf(RunShimProcess(envp, fd.get()));
  EXPECT_EQ(e["code"], 7);
  EXPECT_THAT(e["msg"].get<std::string>(),
              HasSubstr("stdin: more than 1048576 bytes"));
}

TEST(ShimHandoffTest, ParsesEachState) {
  absl::StatusOr<ShimHandoff> h = ParseShimHandoff("stdin:11");
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->stdin_errno, EAGAIN);
  h = ParseShimHandoff("write:32:100:4096");
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->transport_error, SendError(EPIPE, 100, 4096));
  EXPECT_THAT(std::string(h->transport_error.message()),
              HasSubstr("(100 of 4096 bytes sent)"));
  h = ParseShimHandoff("write:0:0:10");
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->transport_error.code(), absl::StatusCode::kDeadlineExceeded);
  h = ParseShimHandoff("recv:104");
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->transport_error, RecvError(ECONNRESET));
  h = ParseShimHandoff("reply:3:1500");
  ASSERT_THAT(h, IsOk());
  EXPECT_TRUE(h->transport_error.ok());
  EXPECT_EQ(h->reply_fd, 3);
  EXPECT_EQ(h->reply_time_left, absl::Milliseconds(1500));
}

// stdin:ERRNO reports what the shim's own failed read reports (here
// EAGAIN, from an empty non-blocking pipe).
TEST(ShimHandoffTest, StdinErrorAsTheShimsOwnRead) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  const char* env[] = {"CNI_COMMAND=ADD", nullptr};
  CniResponse own = RunShimProcess(env, r.get());
  ShimClientOptions o;
  o.handoff = ParseShimHandoff("stdin:" + std::to_string(EAGAIN)).value();
  CniResponse handed = RunShimProcess(env, -1, o);
  EXPECT_EQ(own.exit_code, 1);
  EXPECT_THAT(own.stdout_data, HasSubstr("read stdin: Resource temporarily"));
  EXPECT_EQ(handed.exit_code, own.exit_code);
  EXPECT_EQ(handed.stdout_data, own.stdout_data);
}

TEST(ShimHandoffTest, RefusesAnythingElseNamingIt) {
  for (const char* bad :
       {"", "reply", "reply:3", "reply:-1:5", "reply:3:5:7", "recv:0",
        "stdin:0", "write:1:2", "write:x:1:2", "nope:1", "reply:3:1e3"}) {
    absl::StatusOr<ShimHandoff> h = ParseShimHandoff(bad);
    EXPECT_FALSE(h.ok()) << bad;
    EXPECT_THAT(std::string(h.status().message()),
                HasSubstr(std::string("--fast-path-handoff=") + bad + ":"));
  }
}

}  // namespace
}  // namespace sk::netattach
