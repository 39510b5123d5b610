// The sriov-netattach binary end to end, as a container runtime runs it: a
// clean environment with CNI_* variables, the network config on stdin, the
// answer on stdout and in the exit code. The daemon is a SocketServer in
// this test process, or a socket the test drives itself. The fast path
// (sriov-netattach, C) must answer exactly as the C++ shim
// (sriov-netattach-full) does, whichever of them finishes the call.
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/unique_fd.h"
#include "lib/netattach/shim_protocol.h"
#include "lib/netattach/socket_server.h"
#include "tests/testing/fake_cni_handler.h"
#include "tests/testing/run_shell.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::UniqueFd;
using ::sk::testing::FakeCniHandler;
using ::sk::testing::IsOk;
using ::sk::testing::RunShell;
using ::sk::testing::ShellResult;
using ::sk::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kShim[] = SK_NETATTACH_SHIM_BINARY;
constexpr char kFull[] = SK_NETATTACH_FULL_BINARY;

class ShimBinaryTest : public ::testing::Test {
 protected:
  std::string Conf(const std::string& extra = "") const {
    return R"({"cniVersion":"1.0.0","name":"meta","socketDir":")" +
           (tmp_ / "s").string() + "\"" + extra + "}";
  }
  TempDir tmp_;
  FakeCniHandler handler_;
};

TEST_F(ShimBinaryTest, AddRoundTripThroughTheDaemon) {
  SocketServerOptions o;
  o.socket_dir = tmp_ / "s";
  auto srv = SocketServer::Start(o, &handler_);
  ASSERT_THAT(srv, IsOk());
  ShellResult r = RunShell(
      std::string("env -i CNI_COMMAND=ADD CNI_CONTAINERID=ctr "
                  "CNI_NETNS=/var/run/netns/x CNI_IFNAME=eth0 "
                  "'CNI_ARGS=K8S_POD_NAMESPACE=default;K8S_POD_NAME=vm' "
                  "CNI_PATH=/opt/cni/bin HOME=/root ") +
          kShim,
      Conf());
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  auto j = ParseJsonBounded(r.stdout_text);
  ASSERT_THAT(j, IsOk()) << r.stdout_text;
  EXPECT_EQ(
      (*j)["env"],
      nlohmann::json({{"CNI_COMMAND", "ADD"},
                      {"CNI_CONTAINERID", "ctr"},
                      {"CNI_NETNS", "/var/run/netns/x"},
                      {"CNI_IFNAME", "eth0"},
                      {"CNI_ARGS", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=vm"},
                      {"CNI_PATH", "/opt/cni/bin"}}));
  EXPECT_EQ((*j)["stdin"], Conf());
  EXPECT_EQ(handler_.calls(), 1);
}

#if SK_SHIM_ARENA
// The program's allocator is lib/netattach/shim_arena.h alone (malloc.c):
// none of musl's, which an entry point left undefined there would link in
// beside it without a word (two allocators: a block of one freed by the
// other).
TEST(ShimArenaLinkTest, NoneOfMuslsAllocatorIsLinked) {
  ShellResult nm = RunShell(std::string("nm ") + kShim);
  ASSERT_EQ(nm.exit_code, 0) << nm.stderr_text;
  std::set<std::string> defined;
  std::istringstream lines(nm.stdout_text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string addr, type, name;
    if (f >> addr >> type >> name) defined.insert(name);
  }
  for (const char* ours :
       {"malloc", "calloc", "realloc", "free", "aligned_alloc",
        "malloc_usable_size", "sk_arena_malloc"}) {
    EXPECT_TRUE(defined.contains(ours)) << ours;
  }
  for (const char* musls :
       {"__libc_malloc", "__libc_malloc_impl", "__libc_calloc",
        "__libc_realloc", "__libc_free", "__malloc_alloc_meta",
        "__simple_malloc", "__malloc_donate"}) {
    EXPECT_FALSE(defined.contains(musls)) << musls;
  }
}
#endif

TEST_F(ShimBinaryTest, VersionWithoutDaemon) {
  ShellResult r = RunShell(std::string("env -i CNI_COMMAND=VERSION ") + kShim,
                           R"({"cniVersion":"0.3.1"})");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text,
            "{\"cniVersion\":\"0.3.1\",\"supportedVersions\":[\"0.3.0\","
            "\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
}

TEST_F(ShimBinaryTest, NoDaemonIsCode11WithinTheConnectTimeout) {
  auto t0 = std::chrono::steady_clock::now();
  ShellResult r =
      RunShell(std::string("env -i CNI_COMMAND=DEL ") + kShim, Conf());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(r.exit_code, 1);
  auto j = ParseJsonBounded(r.stdout_text);
  ASSERT_THAT(j, IsOk()) << r.stdout_text;
  EXPECT_EQ((*j)["code"], 11);
  EXPECT_EQ((*j)["cniVersion"], "1.0.0");
  EXPECT_THAT((*j)["msg"].get<std::string>(),
              HasSubstr("sriovkit-netattachd unreachable at " +
                        (tmp_ / "s/netattach.sock").string()));
}

TEST_F(ShimBinaryTest, BadConfigAnsweredLocallyWithCode7) {
  SocketServerOptions o;
  o.socket_dir = tmp_ / "s";
  auto srv = SocketServer::Start(o, &handler_);
  ASSERT_THAT(srv, IsOk());
  // The daemon runs, but a config the shim refuses never reaches it.
  ShellResult r = RunShell(std::string("env -i CNI_COMMAND=ADD ") + kShim,
                           Conf(R"(,"daemonTimeoutSeconds":-1)"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_text, HasSubstr("\"code\":7"));
  EXPECT_THAT(r.stdout_text, HasSubstr("daemonTimeoutSeconds -1"));
  EXPECT_EQ(handler_.calls(), 0);
}

TEST_F(ShimBinaryTest, OversizedStdinRefused) {
  ShellResult r = RunShell(std::string("head -c 2000000 /dev/zero | env -i "
                                       "CNI_COMMAND=ADD ") +
                           kShim);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_text, HasSubstr("\"code\":7"));
  EXPECT_THAT(r.stdout_text, HasSubstr("more than 1048576 bytes"));
}

// A daemon stand-in for one connection: accepts it, reads the request and
// does `act` with the connection (answer, close, stall, ...).
using Act = std::function<void(int fd)>;

class OneCallDaemon {
 public:
  OneCallDaemon(const std::filesystem::path& dir, Act act, bool listen = true) {
    std::filesystem::create_directories(dir);
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    (dir / "netattach.sock").string().copy(addr.sun_path, 100);
    bound_ = ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr),
                    sizeof(addr)) == 0;
    if (!listen) return;
    bound_ = bound_ && ::listen(listener_.get(), 8) == 0;
    thread_ = std::thread([this, act] {
      UniqueFd c(::accept(listener_.get(), nullptr, nullptr));
      absl::StatusOr<std::string> body = ReadFrame(
          c.get(), std::chrono::steady_clock::now() + std::chrono::seconds(5));
      if (body.ok()) request_ = *body;
      act(c.get());
    });
  }
  ~OneCallDaemon() {
    if (thread_.joinable()) thread_.join();
  }
  bool bound() const { return bound_; }
  // After the call: the request's body, as the daemon read it.
  const absl::StatusOr<std::string>& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  UniqueFd listener_;
  bool bound_ = false;
  std::thread thread_;
  absl::StatusOr<std::string> request_ = absl::UnknownError("no request");
};

void Send(int fd, const std::string& bytes) {
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

Act Reply(const std::string& body) {
  return [body](int fd) {
    (void)WriteFrame(
        fd, body, std::chrono::steady_clock::now() + std::chrono::seconds(5));
  };
}

// The log lines without their time stamps.
std::string LogWithoutTimes(const std::filesystem::path& log) {
  std::istringstream in(ReadFileBounded(log, 1 << 20).value_or(""));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    out += line.substr(std::min(line.find(" ["), line.size())) + "\n";
  }
  return out;
}

struct Scenario {
  std::string name;
  std::string conf_extra;  // more keys of the shim config
  Act act;                 // the daemon's part; empty: no daemon
  bool listen = true;      // false: a socket nobody accepts on (refused)
};

class ShimFastPathTest : public ShimBinaryTest {
 protected:
  struct Outcome {
    ShellResult result;
    absl::StatusOr<std::string> request = absl::UnknownError("no daemon");
    std::string log;
  };
  Outcome Run(const char* binary, const Scenario& sc) {
    std::filesystem::remove_all(tmp_ / "s");
    std::filesystem::path log = tmp_ / "shim.log";
    std::filesystem::remove(log);
    Outcome o;
    {
      std::unique_ptr<OneCallDaemon> d;
      if (sc.act) {
        d = std::make_unique<OneCallDaemon>(tmp_ / "s", sc.act, sc.listen);
        EXPECT_TRUE(d->bound());
      }
      o.result =
          RunShell(std::string("env -i CNI_COMMAND=ADD CNI_CONTAINERID=ctr "
                               "CNI_IFNAME=eth0 CNI_NETNS=/var/run/netns/x "
                               "'CNI_ARGS=K8S_POD_NAME=vm' HOME=/root ") +
                       binary,
                   // Whitespace the request escapes (as a file's config
                   // has it).
                   Conf(R"(,"logLevel":"error","logFile":")" + log.string() +
                        "\"" + sc.conf_extra) +
                       "\n\t\r\n");
      if (d && sc.listen) o.request = d->request();
    }
    o.log = LogWithoutTimes(log);
    return o;
  }
};

TEST_F(ShimFastPathTest, AnswersExactlyAsTheCppShim) {
  const std::string big(100 * 1024, 'x');
  std::vector<Scenario> scenarios = {
      {"reply", "", Reply(EncodeResponse({0, "{\"cniVersion\":\"1.0.0\"}\n"}))},
      {"reply with exit code 3 and escapes", "",
       Reply(EncodeResponse(
           {3, std::string("a\"b\\c\n\x01 \xc3\xa9") + '\0' + "z"}))},
      {"reply over 64 KiB", "", Reply(EncodeResponse({0, big}))},
      {"closed without a reply", "", [](int) {}},
      {"reply in 1-byte writes", "",
       [](int fd) {
         std::string frame =
             Frame(EncodeResponse({0, std::string(2048, 'r')})).value();
         for (char c : frame) Send(fd, std::string(1, c));
       }},
      {"malformed reply", "", Reply(R"({"exitCode":"zero","stdout":""})")},
      {"reply with an unknown field", "",
       Reply(R"({"exitCode":0,"stdout":"","more":1})")},
      {"half a header", "", [](int fd) { Send(fd, std::string("\0\0", 2)); }},
      {"half a body", "",
       [](int fd) { Send(fd, std::string("\0\0\0\x64{\"exitCode\"", 15)); }},
      {"frame over the limit", "",
       [](int fd) { Send(fd, std::string("\x00\x90\x00\x00", 4)); }},
      {"no reply in daemonTimeoutSeconds", R"(,"daemonTimeoutSeconds":1)",
       [](int) {
         std::this_thread::sleep_for(std::chrono::milliseconds(1300));
       }},
      {"connection refused", "", [](int) {}, /*listen=*/false},
      {"no socket", "", nullptr},
      {"logLevel debug (the C++ shim runs the call)", R"(,"logLevel":"debug")",
       Reply(EncodeResponse({0, "{}\n"}))},
      {"a bad daemonTimeoutSeconds", R"(,"daemonTimeoutSeconds":0)", nullptr},
  };
  for (const Scenario& sc : scenarios) {
    SCOPED_TRACE(sc.name);
    Outcome fast = Run(kShim, sc);
    Outcome full = Run(kFull, sc);
    EXPECT_EQ(fast.result.exit_code, full.result.exit_code);
    EXPECT_EQ(fast.result.stdout_text, full.result.stdout_text);
    EXPECT_EQ(fast.log, full.log);
    ASSERT_EQ(fast.request.ok(), full.request.ok()) << fast.request.status();
    // The same bytes: the same frame length in any error that counts them.
    if (full.request.ok()) {
      EXPECT_EQ(*fast.request, *full.request);
    }
  }
}

// A stdin that cannot be read (here a directory: EISDIR) is never sent in
// part: the C++ shim reads it again and reports.
TEST_F(ShimFastPathTest, UnreadableStdinAsTheCppShim) {
  ShellResult fast = RunShell(std::string("env -i CNI_COMMAND=ADD ") + kShim +
                              " < " + tmp_.path().string());
  ShellResult full = RunShell(std::string("env -i CNI_COMMAND=ADD ") + kFull +
                              " < " + tmp_.path().string());
  EXPECT_EQ(fast.exit_code, 1);
  EXPECT_THAT(fast.stdout_text, HasSubstr("read stdin: Is a directory"));
  EXPECT_EQ(fast.stdout_text, full.stdout_text);
  EXPECT_EQ(fast.exit_code, full.exit_code);
}

// A hand-off state the C++ shim does not know is a CNI error naming it.
TEST_F(ShimFastPathTest, UnknownHandoffIsACniErrorNamingIt) {
  ShellResult r = RunShell(std::string("env -i CNI_COMMAND=ADD ") + kFull +
                               " --fast-path-handoff=bogus:1",
                           Conf());
  EXPECT_EQ(r.exit_code, 1);
  auto j = ParseJsonBounded(r.stdout_text);
  ASSERT_THAT(j, IsOk()) << r.stdout_text;
  EXPECT_EQ((*j)["code"], 999);
  EXPECT_THAT((*j)["msg"].get<std::string>(),
              HasSubstr("--fast-path-handoff=bogus:1: not stdin:ERRNO"));
}

// The fast path finishes the common call, VERSION included, without the C++
// shim; what it hands over fails, naming the missing program, when that is
// not installed beside it.
TEST_F(ShimFastPathTest, CommonCallsNeedNoFullShim) {
  std::filesystem::create_directories(tmp_ / "bin");
  std::filesystem::copy_file(kShim, tmp_ / "bin/sriov-netattach");
  const std::string alone = (tmp_ / "bin/sriov-netattach").string();
  Outcome ok = Run(alone.c_str(),
                   {"reply", "", Reply(EncodeResponse({0, "{\"r\":1}\n"}))});
  EXPECT_EQ(ok.result.exit_code, 0);
  EXPECT_EQ(ok.result.stdout_text, "{\"r\":1}\n");
  ShellResult v = RunShell("env -i CNI_COMMAND=VERSION " + alone,
                           R"({"cniVersion":"0.4.0"})");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_THAT(v.stdout_text, HasSubstr("\"cniVersion\":\"0.4.0\""));

  Outcome missing = Run(alone.c_str(), {"no socket", "", nullptr});
  EXPECT_EQ(missing.result.exit_code, 1);
  EXPECT_THAT(missing.result.stdout_text, HasSubstr("\"code\":999"));
  EXPECT_THAT(missing.result.stdout_text,
              HasSubstr("cannot run " + (tmp_ / "bin").string() +
                        "/sriov-netattach-full: No such file or directory"));
}

}  // namespace
}  // namespace sk::netattach
