#include "lib/base/json.h"

#include <string>

#include "tests/testing/status_matchers.h"

namespace sk {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

std::string Nested(size_t depth, std::string_view inner = "1") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

TEST(ParseJsonBoundedTest, AcceptsExactlyMaxDepth) {
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(Nested(64));
  SK_ASSERT_OK(j.status());
  const nlohmann::json* v = &*j;
  for (int i = 0; i < 64; ++i) v = &(*v)[0];
  EXPECT_EQ(*v, 1);
}

TEST(ParseJsonBoundedTest, RejectsOneLevelPastMaxDepthWithOffset) {
  EXPECT_THAT(ParseJsonBounded(Nested(65)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "JSON nested deeper than 64 levels at byte 64"));
}

TEST(ParseJsonBoundedTest, CustomDepthCountsObjectsAndArrays) {
  const std::string text = R"({"a": [{"b": {}}]})";  // depth 4
  SK_EXPECT_OK(ParseJsonBounded(text, {.max_depth = 4}).status());
  EXPECT_THAT(ParseJsonBounded(text, {.max_depth = 3}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "JSON nested deeper than 3 levels at byte 13"));
}

TEST(ParseJsonBoundedTest, BracketsInsideStringsDoNotCount) {
  const std::string text = R"({"k": "[[[[{{{{\"[[[[", "n": [1]})";
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(text, {.max_depth = 2});
  SK_ASSERT_OK(j.status());
  EXPECT_EQ((*j)["k"], "[[[[{{{{\"[[[[");
}

TEST(ParseJsonBoundedTest, HundredThousandLevelsRejectedWithoutCrash) {
  // The shape that overflowed the stack: a deep value under a typed key.
  const std::string text =
      R"({"cniVersion": "1.0.0", "vlan": )" + Nested(100000) + "}";
  EXPECT_THAT(ParseJsonBounded(text).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "JSON nested deeper than 64 levels at byte 95"));
  EXPECT_THAT(ParseJsonBounded<nlohmann::ordered_json>(text).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("deeper than 64 levels")));
}

// The depth is bounded while parsing; errors keep the order of a scan made
// before parsing: a depth error ahead of a syntax error in the same text.
TEST(ParseJsonBoundedTest, DepthErrorReportedBeforeAnEarlierSyntaxError) {
  const std::string text = "[1 " + Nested(70) + "]";  // syntax error at byte 3
  EXPECT_THAT(ParseJsonBounded(text).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "JSON nested deeper than 64 levels at byte 66"));
  EXPECT_THAT(ParseJsonBounded(text, {.max_depth = 100}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON at byte 3")));
}

TEST(ParseJsonBoundedTest, DeepValueAfterValidMembersStopsAtFirstTooDeep) {
  const std::string text =
      R"({"a": [1, {"b": [[{}]]}], "c": )" + Nested(3) + "}";
  SK_EXPECT_OK(ParseJsonBounded(text, {.max_depth = 6}).status());
  EXPECT_THAT(ParseJsonBounded(text, {.max_depth = 5}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "JSON nested deeper than 5 levels at byte 18"));
  absl::StatusOr<nlohmann::ordered_json> o =
      ParseJsonBounded<nlohmann::ordered_json>(text, {.max_depth = 5});
  EXPECT_THAT(o.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("deeper than 5 levels")));
}

TEST(ParseJsonBoundedTest, RejectsOversizeInputBeforeParsing) {
  const std::string text = "\"" + std::string(100, 'x') + "\"";
  SK_EXPECT_OK(ParseJsonBounded(text, {.max_bytes = 102}).status());
  EXPECT_THAT(ParseJsonBounded(text, {.max_bytes = 101}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "JSON input of 102 bytes exceeds the 101-byte limit"));
}

TEST(ParseJsonBoundedTest, SyntaxErrorNamesByteOffset) {
  EXPECT_THAT(ParseJsonBounded(R"({"a": tru})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON at byte 9: syntax error")));
  EXPECT_THAT(ParseJsonBounded("").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON at byte 0")));
}

TEST(ParseJsonBoundedTest, OrderedJsonKeepsKeyOrder) {
  absl::StatusOr<nlohmann::ordered_json> j =
      ParseJsonBounded<nlohmann::ordered_json>(R"({"b": 1, "a": 2})");
  SK_ASSERT_OK(j.status());
  EXPECT_EQ(j->dump(), R"({"b":1,"a":2})");
}

// Members of API objects of the wrong type read as absent, never throw
// (nlohmann's value() throws type_error.302 for them).
TEST(JsonMemberTest, WrongTypesAndNonObjectsGiveTheFallback) {
  nlohmann::json o = nlohmann::json::parse(
      R"({"name":5,"ns":"a","on":"yes","ok":true,"n":"7","i":-3})");
  EXPECT_EQ(JsonString(o, "name"), "");
  EXPECT_EQ(JsonString(o, "name", "x"), "x");
  EXPECT_EQ(JsonString(o, "ns"), "a");
  EXPECT_FALSE(JsonBool(o, "on"));
  EXPECT_TRUE(JsonBool(o, "ok"));
  EXPECT_EQ(JsonInt(o, "n", 1), 1);
  EXPECT_EQ(JsonInt(o, "i", 1), -3);
  EXPECT_EQ(JsonString(nlohmann::json::array({1}), "ns", "f"), "f");
  EXPECT_EQ(JsonInt(nlohmann::json(), "i", 9), 9);
}

}  // namespace
}  // namespace sk
