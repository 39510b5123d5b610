// The shim's C fast path (shim_fast.h) against what the C++ shim does with
// the same input: nlohmann's parse, the request the C++ shim encodes, the
// VERSION answer, the response it decodes.
#include "lib/netattach/shim_fast.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/json.h"
#include "lib/cni/version.h"
#include "lib/netattach/shim_client.h"
#include "lib/netattach/shim_protocol.h"
#include "tests/testing/status_matchers.h"

namespace sk::netattach {
namespace {

using ::sk::testing::IsOk;

sk_json_member Member(const char* key) {
  sk_json_member m{};
  m.key = key;
  return m;
}

bool Scan(const std::string& text, std::vector<sk_json_member>* members,
          int* top = nullptr) {
  int top_type = 0;
  size_t others = 0;
  int ok = sk_json_scan(text.data(), text.size(), members->data(),
                        members->size(), &top_type, &others);
  if (top != nullptr) *top = top_type;
  return ok == 1;
}

bool Scan(const std::string& text) {
  std::vector<sk_json_member> none;
  return Scan(text, &none);
}

std::string Nest(int depth) {
  return std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']');
}

TEST(ShimFastScanTest, AcceptsWhatNlohmannAccepts) {
  const std::vector<std::string> valid = {
      R"({"cniVersion":"1.0.0","name":"x","plugins":[{"type":"a"}]})",
      " \t\r\n{ \"a\" : [ 1 , -2.5e+10 , 0.0 , true , false , null ] } \n",
      R"("a string with \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00")",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
      "[]",
      "{}",
      "0",
      "-0",
      "123456789012345678901234567890",
      "1E99",
      Nest(64)};
  for (const std::string& t : valid) {
    EXPECT_TRUE(Scan(t)) << t;
    EXPECT_THAT(ParseJsonBounded(t), IsOk()) << t;
  }
}

TEST(ShimFastScanTest, WhatItRefusesNlohmannRefusesOrIsNotSureOf) {
  const std::vector<std::string> invalid = {
      "",
      "   ",
      "{",
      "{\"a\"}",
      "{\"a\":}",
      "[1,]",
      "{\"a\":1,}",
      "01",
      "1.",
      ".5",
      "+1",
      "1e",
      "tru",
      "nul",
      "[1 2]",
      "{} {}",
      "\"\x01\"",
      "\"\\x\"",
      "\"\\ud800\"",
      "\"\\udc00\"",
      "\"\\ud800\\u0041\"",
      "\"\xc0\xaf\"",          // overlong
      "\"\xed\xa0\x80\"",      // a surrogate in UTF-8
      "\"\xf4\x90\x80\x80\"",  // past U+10FFFF
      "\"\xe2\x82\"",          // truncated
      "\xff",
      "{'a':1}",
      "[1]//",
      Nest(65)};
  for (const std::string& t : invalid) {
    EXPECT_FALSE(Scan(t)) << t;
    EXPECT_FALSE(ParseJsonBounded(t).ok()) << t;
  }
  // Valid, but this scanner is not sure of them: the C++ shim decides.
  for (const std::string& t :
       {std::string("\xef\xbb\xbf{}"), std::string("1e400"),
        std::string(400, '9'), std::string(R"({"socket\u0044ir":"x"})")}) {
    EXPECT_FALSE(Scan(t)) << t;
  }
}

TEST(ShimFastScanTest, TopLevelMembersLastOfDuplicatesWins) {
  std::vector<sk_json_member> m = {Member("a"), Member("b"), Member("c")};
  int top = 0;
  // The members point into the text.
  const std::string text =
      R"({"a":"one","x":{"a":"nested"},"b":[1,{"c":2}],"a":"t\"wo","y":3})";
  ASSERT_TRUE(Scan(text, &m, &top));
  EXPECT_EQ(top, SK_JSON_OBJECT);
  EXPECT_EQ(m[0].type, SK_JSON_STRING);
  EXPECT_EQ(std::string(m[0].raw, m[0].raw_len), "t\\\"wo");
  EXPECT_EQ(m[0].escaped, 1);
  EXPECT_EQ(m[1].type, SK_JSON_ARRAY);
  EXPECT_EQ(std::string(m[1].raw, m[1].raw_len), "[1,{\"c\":2}]");
  EXPECT_EQ(m[2].type, SK_JSON_ABSENT);  // only inside b
  int t = 0;
  size_t others = 0;
  const std::string two_others = R"({"a":1,"x":2,"y":{}})";
  ASSERT_EQ(sk_json_scan(two_others.data(), two_others.size(), m.data(),
                         m.size(), &t, &others),
            1);
  EXPECT_EQ(others, 2u);
}

TEST(ShimFastScanTest, UnescapeDecodesAsNlohmann) {
  const std::string text =
      R"("q\" b\\ s\/ \b\f\n\r\t \u0000 \u00e9 \u20ac \ud83d\ude00 plain")";
  std::vector<sk_json_member> none;
  ASSERT_TRUE(Scan(text, &none));
  sk_buf out{};
  ASSERT_EQ(sk_json_unescape(text.data() + 1, text.size() - 2, &out), 1);
  EXPECT_EQ(std::string(out.data, out.len),
            ParseJsonBounded(text)->get<std::string>());
  sk_buf_free(&out);
}

TEST(ShimFastScanTest, AppendStringRoundTripsThroughNlohmann) {
  const std::string s = std::string("a\"b\\c\n\t\x01\x1f\x7f ") + '\0' +
                        "\xc3\xa9\xf0\x9f\x98\x80 /";
  sk_buf out{};
  sk_json_append_string(&out, s.data(), s.size());
  auto j = ParseJsonBounded(std::string(out.data, out.len));
  ASSERT_THAT(j, IsOk()) << out.data;
  EXPECT_EQ(j->get<std::string>(), s);
  sk_buf_free(&out);
}

TEST(ShimFastScanTest, Utf8CheckAgreesWithNlohmannsDump) {
  const std::vector<std::string> cases = {"ascii",
                                          "\xc3\xa9",
                                          "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80",
                                          "\xf4\x8f\xbf\xbf",
                                          "\xc0\xaf",
                                          "\xc1\xbf",
                                          "\xe0\x80\xaf",
                                          "\xed\xa0\x80",
                                          "\xf4\x90\x80\x80",
                                          "\xf5\x80\x80\x80",
                                          "\x80",
                                          "\xc3",
                                          "\xe2\x82",
                                          "\xff"};
  for (const std::string& s : cases) {
    bool nlohmann_ok = true;
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
      nlohmann_ok = false;
    }
    EXPECT_EQ(sk_utf8_valid(s.data(), s.size()) == 1, nlohmann_ok) << s;
  }
}

std::vector<char*> Env(std::vector<std::string>* storage) {
  std::vector<char*> env;
  for (std::string& s : *storage) env.push_back(s.data());
  env.push_back(nullptr);
  return env;
}

struct Planned {
  sk_fast_kind kind;
  std::string why;
  std::string socket_path;
  int timeout_seconds;
  std::string body;
};

Planned Plan(const std::string& in, std::vector<std::string> env_strings,
             bool over_limit = false) {
  std::vector<char*> env = Env(&env_strings);
  sk_fast_plan plan;
  sk_fast_plan_call(in.data(), in.size(), over_limit ? 1 : 0, env.data(),
                    &plan);
  Planned p{plan.kind, plan.why ? plan.why : "", plan.socket_path,
            plan.timeout_seconds,
            plan.body.data ? std::string(plan.body.data, plan.body.len) : ""};
  sk_fast_plan_free(&plan);
  return p;
}

TEST(ShimFastPlanTest, SendsTheRequestTheCppShimWouldSend) {
  const std::string conf =
      "{\"cniVersion\":\"1.0.0\",\n\t\"name\":\"m\",\r\n\"socketDir\":\"/run/"
      "x\","
      R"("daemonTimeoutSeconds":30,"logLevel":"verbose","k":"\u00e9\n"})";
  Planned p = Plan(conf, {"CNI_COMMAND=ADD", "PATH=/bin", "CNI_IFNAME=eth0",
                          "CNI_ARGS=A=1;B=\"2\"", "CNI_IFNAME=second",
                          "CNI_NOVALUE", "CNI_PATH=caf\xc3\xa9"});
  ASSERT_EQ(p.kind, SK_FAST_SEND) << p.why;
  EXPECT_EQ(p.socket_path, "/run/x/netattach.sock");
  EXPECT_EQ(p.timeout_seconds, 30);
  absl::StatusOr<CniRequest> got = DecodeRequest(p.body);
  ASSERT_THAT(got, IsOk()) << p.body;
  // What RunShimProcess reads from the same environment (the first of
  // duplicates, CNI_* only).
  CniRequest want;
  want.env = {{"CNI_COMMAND", "ADD"},
              {"CNI_IFNAME", "eth0"},
              {"CNI_ARGS", "A=1;B=\"2\""},
              {"CNI_PATH", "caf\xc3\xa9"}};
  want.stdin_data = conf;
  EXPECT_EQ(got->env, want.env);
  EXPECT_EQ(got->stdin_data, want.stdin_data);
  // Byte for byte what the C++ shim sends (escapes, the env's order).
  EXPECT_EQ(p.body, EncodeRequest(want).value());
}

TEST(ShimFastPlanTest, DefaultsAsTheCppShim) {
  Planned p = Plan(R"({"cniVersion":"1.0.0"})", {"CNI_COMMAND=DEL"});
  ASSERT_EQ(p.kind, SK_FAST_SEND) << p.why;
  EXPECT_EQ(p.socket_path, std::string(kDefaultSocketDir) + "/" + kSocketName);
  EXPECT_EQ(p.timeout_seconds, absl::ToInt64Seconds(kDefaultReplyTimeout));
}

TEST(ShimFastPlanTest, FallsBackWhereTheCppShimDoesMoreThanSend) {
  const std::string long_dir(100, 'd');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"logLevel":"debug","logFile":"/tmp/x"})", "ADD"},
      {R"({"logLevel":"DEBUG"})", "ADD"},
      {R"({"logLevel":7})", "ADD"},
      {R"({"socketDir":""})", "ADD"},
      {R"({"socketDir":7})", "ADD"},
      {R"({"socketDir":"/a\/b"})", "ADD"},
      {R"({"socketDir":")" + long_dir + "\"}", "ADD"},
      {R"({"daemonTimeoutSeconds":0})", "ADD"},
      {R"({"daemonTimeoutSeconds":3601})", "ADD"},
      {R"({"daemonTimeoutSeconds":1.0})", "ADD"},
      {R"({"daemonTimeoutSeconds":"5"})", "ADD"},
      {"[1]", "ADD"},
      {"{", "ADD"},
      {"{}", "FOO"},
      {"{}", ""},
      {R"({"cniVersion":"1\u002e0"})", "VERSION"},
      {"not json", "VERSION"},
  };
  for (const auto& [conf, command] : cases) {
    Planned p = Plan(conf, {"CNI_COMMAND=" + command});
    EXPECT_EQ(p.kind, SK_FAST_FALLBACK) << conf << " " << command;
    EXPECT_FALSE(p.why.empty());
  }
  EXPECT_EQ(Plan("{}", {}).kind, SK_FAST_FALLBACK);
  EXPECT_EQ(Plan("{}", {"CNI_COMMAND=ADD"}, true).kind, SK_FAST_FALLBACK);
  EXPECT_EQ(Plan("{}", {"CNI_COMMAND=ADD", "CNI_X=\xff"}).kind,
            SK_FAST_FALLBACK);
}

TEST(ShimFastPlanTest, VersionAnswersAsTheCppShim) {
  for (const std::string& conf :
       {std::string(R"({"cniVersion":"0.3.1"})"), std::string("{}"),
        std::string(R"({"cniVersion":""})"), std::string(R"({"cniVersion":4})"),
        std::string("[]"),
        std::string(R"({"cniVersion":"9.9.9","cniVersion":"0.4.0"})"),
        std::string(""), std::string(" \n")}) {
    Planned p = Plan(conf, {"CNI_COMMAND=VERSION"});
    ASSERT_EQ(p.kind, SK_FAST_ANSWER) << conf << ": " << p.why;
    CniRequest r{.env = {{"CNI_COMMAND", "VERSION"}}, .stdin_data = conf};
    EXPECT_EQ(p.body, RunShim(r).stdout_data) << conf;
  }
}

TEST(ShimFastReplyTest, DecodesWhatTheDaemonEncodes) {
  for (const CniResponse& r :
       {CniResponse{.exit_code = 0, .stdout_data = "{\"ips\":[]}\n"},
        CniResponse{.exit_code = 255,
        .stdout_data = std::string("ctl \x01\x1f\t\"\\ ") + '\0' +
                       "\xc3\xa9\xf0\x9f\x98\x80"}}) {
    std::string body = EncodeResponse(r);
    int code = -1;
    sk_buf out{};
    ASSERT_EQ(sk_fast_decode_reply(body.data(), body.size(), &code, &out), 1)
        << body;
    EXPECT_EQ(code, r.exit_code);
    EXPECT_EQ(std::string(out.data, out.len), r.stdout_data);
    sk_buf_free(&out);
  }
}

TEST(ShimFastReplyTest, LeavesEveryOtherReplyToTheCppShim) {
  for (const std::string& body :
       {std::string(R"({"exitCode":256,"stdout":""})"),
        std::string(R"({"exitCode":-1,"stdout":""})"),
        std::string(R"({"exitCode":"0","stdout":""})"),
        std::string(R"({"exitCode":0})"), std::string(R"({"stdout":""})"),
        std::string(R"({"exitCode":0,"stdout":"","extra":1})"),
        std::string(R"({"exitCode":0,"stdout":7})"), std::string("[]"),
        std::string("{")}) {
    int code = -1;
    sk_buf out{};
    EXPECT_EQ(sk_fast_decode_reply(body.data(), body.size(), &code, &out), 0)
        << body;
    sk_buf_free(&out);
  }
}

}  // namespace
}  // namespace sk::netattach
