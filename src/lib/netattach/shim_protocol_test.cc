#include "lib/netattach/shim_protocol.h"

#include <sys/socket.h>

#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/unique_fd.h"
#include "tests/testing/status_matchers.h"

namespace sk::netattach {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

std::chrono::steady_clock::time_point In(int ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

TEST(ShimProtocolTest, RequestRoundTrips) {
  CniRequest req;
  req.env = {{"CNI_COMMAND", "ADD"},
             {"CNI_CONTAINERID", "abc"},
             {"CNI_ARGS", "K8S_POD_NAME=p;K8S_POD_NAMESPACE=ns"},
             {"CNI_IFNAME", "eth0"}};
  req.stdin_data = "{\"cniVersion\":\"1.0.0\",\"name\":\"x\u00e9\\n\"}\n\t\"";
  auto body = EncodeRequest(req);
  ASSERT_THAT(body, IsOk());
  EXPECT_THAT(*body, HasSubstr("\"version\":1"));
  auto back = DecodeRequest(*body);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->env, req.env);
  EXPECT_EQ(back->stdin_data, req.stdin_data);
}

TEST(ShimProtocolTest, ResponseRoundTrips) {
  for (const CniResponse& r :
       {CniResponse{0, "{\"cniVersion\":\"1.0.0\"}\n"}, CniResponse{1, ""},
        CniResponse{255, std::string("a\0b", 3)}}) {
    auto back = DecodeResponse(EncodeResponse(r));
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(back->exit_code, r.exit_code);
    EXPECT_EQ(back->stdout_data, r.stdout_data);
  }
}

TEST(ShimProtocolTest, EncodeRefusesNonCniEnvAndNonUtf8) {
  CniRequest req;
  req.env = {{"PATH", "/bin"}};
  EXPECT_THAT(EncodeRequest(req),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PATH")));
  req.env = {{"CNI_COMMAND", "ADD"}};
  req.stdin_data = "\xff\xfe";
  EXPECT_THAT(EncodeRequest(req),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stdin")));
  req.stdin_data = "{}";
  req.env = {{"CNI_ARGS", "\xc0\x80"}};
  EXPECT_THAT(EncodeRequest(req), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("CNI_ARGS")));
}

TEST(ShimProtocolTest, MalformedRequestsNameTheProblem) {
  struct Case {
    std::string body;
    std::string want;
  } cases[] = {
      {"", "not valid JSON"},
      {"[1]", "not a JSON object but array"},
      {R"({"env":{},"stdin":""})", "missing field \"version\""},
      {R"({"version":2,"env":{},"stdin":""})", "version 2 is not supported"},
      {R"({"version":"1","env":{},"stdin":""})", "version"},
      {R"({"version":1,"stdin":""})", "missing field \"env\""},
      {R"({"version":1,"env":{}})", "missing field \"stdin\""},
      {R"({"version":1,"env":[],"stdin":""})", "env is array"},
      {R"({"version":1,"env":{"HOME":"/"},"stdin":""})", "\"HOME\""},
      {R"({"version":1,"env":{"CNI_IFNAME":5},"stdin":""})",
       "CNI_IFNAME is number"},
      {R"({"version":1,"env":{},"stdin":{}})", "stdin is object"},
      {R"({"version":1,"env":{},"stdin":"","extra":0})", "\"extra\""},
      {R"({"version":1,"env":{"CNI_A":"x"},"stdin":"")", "not valid JSON"},
      {R"({"version":1,"env":{},"stdin":"","x":[[[[]]]]})", "deeper than 4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    EXPECT_THAT(
        DecodeRequest(c.body),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(ShimProtocolTest, TooManyEnvEntriesRefused) {
  std::string body = R"({"version":1,"stdin":"","env":{)";
  for (int i = 0; i < 65; ++i) {
    body +=
        (i ? "," : "") + std::string("\"CNI_") + std::to_string(i) + "\":\"v\"";
  }
  body += "}}";
  EXPECT_THAT(DecodeRequest(body), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("65 entries")));
}

TEST(ShimProtocolTest, MalformedResponsesNameTheProblem) {
  struct Case {
    std::string body;
    std::string want;
  } cases[] = {
      {"nope", "not valid JSON"},
      {R"({"stdout":""})", "missing field \"exitCode\""},
      {R"({"exitCode":-1,"stdout":""})", "exitCode -1 is not"},
      {R"({"exitCode":256,"stdout":""})", "not an integer in [0, 255]"},
      {R"({"exitCode":1.5,"stdout":""})", "exitCode"},
      {R"({"exitCode":0})", "missing field \"stdout\""},
      {R"({"exitCode":0,"stdout":5})", "stdout is number"},
      {R"({"exitCode":0,"stdout":"","more":1})", "\"more\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    EXPECT_THAT(
        DecodeResponse(c.body),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(ShimProtocolTest, FrameIsBigEndianLengthPrefixed) {
  auto f = Frame("abc");
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(*f, std::string("\0\0\0\x03"
                            "abc",
                            7));
  std::string big(300, 'x');
  auto g = Frame(big);
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->substr(0, 4), std::string("\0\0\x01\x2c", 4));
  auto n = FrameLength(reinterpret_cast<const unsigned char*>(g->data()));
  EXPECT_THAT(n, ::sk::testing::IsOkAndHolds(300u));
}

TEST(ShimProtocolTest, OversizedFramesRefused) {
  std::string big(kMaxShimFrameBytes + 1, 'x');
  EXPECT_THAT(Frame(big), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("8388608-byte limit")));
  const unsigned char header[4] = {0x00, 0x80, 0x00, 0x01};  // 8 MiB + 1
  EXPECT_THAT(FrameLength(header),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("frame of 8388609 bytes")));
  const unsigned char exact[4] = {0x00, 0x80, 0x00, 0x00};
  EXPECT_THAT(FrameLength(exact),
              ::sk::testing::IsOkAndHolds(kMaxShimFrameBytes));
}

class SocketPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a_.Reset(fds[0]);
    b_.Reset(fds[1]);
  }
  UniqueFd a_, b_;
};

TEST_F(SocketPairTest, FrameTravelsBothWays) {
  std::string body(100000, 'q');  // more than one socket buffer's worth
  std::thread writer(
      [&] { EXPECT_THAT(WriteFrame(a_.get(), body, In(5000)), IsOk()); });
  auto got = ReadFrame(b_.get(), In(5000));
  writer.join();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, body);
}

TEST_F(SocketPairTest, EmptyBodyIsAFrame) {
  ASSERT_THAT(WriteFrame(a_.get(), "", In(1000)), IsOk());
  EXPECT_THAT(ReadFrame(b_.get(), In(1000)), ::sk::testing::IsOkAndHolds(""));
}

TEST_F(SocketPairTest, ReadTimesOut) {
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THAT(ReadFrame(b_.get(), In(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("timed out waiting for a frame")));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(SocketPairTest, PeerClosedBeforeReply) {
  a_.Reset();
  EXPECT_THAT(ReadFrame(b_.get(), In(1000)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("connection closed without a reply")));
}

TEST_F(SocketPairTest, PeerClosedMidFrame) {
  ASSERT_EQ(::send(a_.get(),
                   "\0\0\0\x09"
                   "abc",
                   7, 0),
            7);
  a_.Reset();
  EXPECT_THAT(ReadFrame(b_.get(), In(1000)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("in the middle of a frame (3 of 9 body")));
}

TEST_F(SocketPairTest, OversizedHeaderRefusedWithoutReadingBody) {
  ASSERT_EQ(::send(a_.get(), "\x7f\0\0\0", 4, 0), 4);
  EXPECT_THAT(ReadFrame(b_.get(), In(1000)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the 8388608-byte limit")));
  ASSERT_EQ(::send(a_.get(), "\0\0\0\x10", 4, 0), 4);
  EXPECT_THAT(ReadFrame(b_.get(), In(1000), -1, /*max_bytes=*/15),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("frame of 16 bytes exceeds the 15-byte")));
}

TEST_F(SocketPairTest, WriteToClosedPeerIsUnavailable) {
  b_.Reset();
  EXPECT_THAT(WriteFrame(a_.get(), "x", In(1000)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("closed by the peer")));
}

TEST_F(SocketPairTest, CancelFdInterruptsRead) {
  int c[2];
  ASSERT_EQ(::pipe(c), 0);
  UniqueFd r(c[0]), w(c[1]);
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  EXPECT_THAT(ReadFrame(b_.get(), In(60000), r.get()),
              StatusIs(absl::StatusCode::kCancelled));
}

}  // namespace
}  // namespace sk::netattach
