#include "lib/base/field_reader.h"

#include <functional>
#include <string>

#include "tests/testing/status_matchers.h"

namespace sk {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

nlohmann::json Doc() {
  return nlohmann::json::parse(R"({
    "name": "pool",
    "count": 7,
    "big": 18446744073709551615,
    "neg": -3,
    "ratio": 1.5,
    "on": true,
    "nothing": null,
    "tags": ["a", "b", 3],
    "spec": {"items": [{"c": 1}, {"c": "x"}, {"c": [1, 2]}]},
    "k8s.v1.cni.cncf.io/networks": "net1",
    "long": "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "policy": "packPF",
    "CaseKey": "yes"
  })");
}

// Every getter's error text: one shape, the field's path and the value.
TEST(FieldReaderTest, ErrorTextTable) {
  const nlohmann::json doc = Doc();
  const FieldReader r(doc, "cfg.json");
  struct Case {
    const char* name;
    std::function<absl::Status()> call;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"string of int", [&] { return r.String("count").status(); },
       "cfg.json: count: expected a string, got 7"},
      {"string absent", [&] { return r.String("absent").status(); },
       "cfg.json: absent: expected a string, got nothing"},
      {"string null", [&] { return r.String("nothing").status(); },
       "cfg.json: nothing: expected a string, got null"},
      {"optional string of bool",
       [&] { return r.OptionalString("on").status(); },
       "cfg.json: on: expected a string, got true"},
      {"bool of string", [&] { return r.Bool("name").status(); },
       "cfg.json: name: expected true or false, got \"pool\""},
      {"optional bool of list", [&] { return r.OptionalBool("tags").status(); },
       "cfg.json: tags: expected true or false, got [\"a\",\"b\",3]"},
      {"int over range", [&] { return r.Int("count", 0, 5).status(); },
       "cfg.json: count: expected an integer in 0..5, got 7"},
      {"int under range", [&] { return r.Int("neg", 0, 5).status(); },
       "cfg.json: neg: expected an integer in 0..5, got -3"},
      {"int of float", [&] { return r.OptionalInt("ratio", 0, 5).status(); },
       "cfg.json: ratio: expected an integer in 0..5, got 1.5"},
      {"int of huge unsigned",
       [&] { return r.Int("big", 0, INT64_MAX).status(); },
       "cfg.json: big: expected an integer in 0..9223372036854775807, got "
       "18446744073709551615"},
      {"any int of string",
       [&] { return r.Int("name", INT64_MIN, INT64_MAX).status(); },
       "cfg.json: name: expected an integer, got \"pool\""},
      {"uint negative", [&] { return r.OptionalUint("neg", 9).status(); },
       "cfg.json: neg: expected an integer in 0..9, got -3"},
      {"uint over", [&] { return r.OptionalUint("count", 6).status(); },
       "cfg.json: count: expected an integer in 0..6, got 7"},
      {"uint of string", [&] { return r.OptionalUint("name", 6).status(); },
       "cfg.json: name: expected an integer in 0..6, got \"pool\""},
      {"string list element", [&] { return r.StringList("tags").status(); },
       "cfg.json: tags[2]: expected a string, got 3"},
      {"string list of object", [&] { return r.StringList("spec").status(); },
       "cfg.json: spec: expected a list of strings, got "
       "{\"items\":[{\"c\":1},{\"c\":\"x\"},{\"c\":[1,2]}]}"},
      {"list of string", [&] { return r.List("name").status(); },
       "cfg.json: name: expected a list, got \"pool\""},
      {"object of int", [&] { return r.Object("count").status(); },
       "cfg.json: count: expected an object, got 7"},
      {"nested path",
       [&] {
         return r.Child("spec").Child("items").Index(1).Int("c", 0, 9).status();
       },
       "cfg.json: spec.items[1].c: expected an integer in 0..9, got \"x\""},
      {"index past end",
       [&] {
         return r.Child("spec").Child("items").Index(5).AsObject().status();
       },
       "cfg.json: spec.items[5]: expected an object, got nothing"},
      {"quoted key",
       [&] { return r.Bool("k8s.v1.cni.cncf.io/networks").status(); },
       "cfg.json: [\"k8s.v1.cni.cncf.io/networks\"]: expected true or false, "
       "got \"net1\""},
      {"truncated value", [&] { return r.Int("long", 0, 1).status(); },
       // 80 characters: the opening quote, 76 digits and "...".
       "cfg.json: long: expected an integer in 0..1, got \""
       "0123456789012345678901234567890123456789"
       "012345678901234567890123456789012345..."},
      {"enum",
       [&] {
         return r.OptionalEnum("policy", {"numa", "spreadPF"}).status();
       },
       "cfg.json: policy: expected one of \"numa\", \"spreadPF\", got "
       "\"packPF\""},
      {"enum of int", [&] { return r.OptionalEnum("count", {"a"}).status(); },
       "cfg.json: count: expected one of \"a\", got 7"},
      {"entries of list", [&] { return r.Child("tags").AsEntries().status(); },
       "cfg.json: tags: expected an object, got [\"a\",\"b\",3]"},
      {"root", [&] { return r.Child("x").Child("y").AsString().status(); },
       "cfg.json: x.y: expected a string, got nothing"},
      {"root itself", [&] { return r.AsList().status(); },
       "cfg.json: $: expected a list, got {\"CaseKey\":\"yes\",\"big\":"
       "18446744073709551615,\"count\":7,\"k8s.v1.cni.cncf.io/net..."},
      {"rule error", [&] { return r.Child("spec").Error("duplicate name"); },
       "cfg.json: spec: duplicate name"},
      {"unknown key",
       [&] {
         return r.Child("spec").Child("items").Index(0).RejectUnknownKeys(
             {"d"});
       },
       "cfg.json: spec.items[0].c: expected a known field, got unknown field"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(c.call(),
                StatusIs(absl::StatusCode::kInvalidArgument, c.message));
  }
}

TEST(FieldReaderTest, ReadsValuesAndDefaults) {
  const nlohmann::json doc = Doc();
  const FieldReader r(doc, "cfg.json");
  EXPECT_THAT(r.String("name"), IsOkAndHolds("pool"));
  EXPECT_THAT(r.OptionalString("absent"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(r.OptionalString("nothing"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(r.OptionalBool("on"), IsOkAndHolds(Optional(true)));
  EXPECT_THAT(r.Int("neg", -3, 0), IsOkAndHolds(-3));
  EXPECT_THAT(r.OptionalUint("big", UINT64_MAX),
              IsOkAndHolds(Optional(UINT64_MAX)));
  EXPECT_THAT(r.OptionalUint("count", 7), IsOkAndHolds(Optional(7u)));
  EXPECT_THAT(r.StringList("absent"), IsOkAndHolds(ElementsAre()));
  EXPECT_THAT(r.OptionalEnum("policy", {"numa", "packPF"}),
              IsOkAndHolds(Optional(size_t{1})));
  EXPECT_THAT(r.OptionalEnum("absent", {"numa"}), IsOkAndHolds(std::nullopt));
  std::string name = "kept";
  SK_EXPECT_OK(r.OptionalEnumInto("absent", {"numa"}, &name));
  EXPECT_EQ(name, "kept");
  SK_EXPECT_OK(r.OptionalEnumInto("policy", {"numa", "packPF"}, &name));
  EXPECT_EQ(name, "packPF");
  EXPECT_THAT(r.OptionalEnumInto("policy", {"numa"}, &name),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected one of \"numa\"")));
  EXPECT_EQ(name, "packPF");
  SK_ASSERT_OK_AND_ASSIGN(FieldReader absent, r.Object("absent"));
  EXPECT_FALSE(absent.present());
  EXPECT_EQ(absent.path(), "absent");
  SK_ASSERT_OK_AND_ASSIGN(std::vector<FieldReader> items,
                          r.Child("spec").List("items"));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].path(), "spec.items[2]");
  EXPECT_THAT(items[0].Int("c", 0, 1), IsOkAndHolds(1));
  SK_ASSERT_OK_AND_ASSIGN(auto entries, r.Child("spec").AsEntries());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].first, "items");
  EXPECT_EQ(entries[0].second.path(), "spec.items");
  EXPECT_TRUE(r.Has("count"));
  EXPECT_FALSE(r.Has("nothing"));
  EXPECT_EQ(r.path(), "$");
}

TEST(FieldReaderTest, CaseInsensitiveKeysPreferExactMatch) {
  const nlohmann::json doc = nlohmann::json::parse(
      R"({"isRdma": true, "ISRDMA": false, "casekey": 1})");
  const FieldReader strict(doc, "c");
  const FieldReader go(doc, "c", {.case_insensitive_keys = true});
  EXPECT_THAT(strict.OptionalBool("isrdma"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(go.OptionalBool("isRdma"), IsOkAndHolds(Optional(true)));
  EXPECT_THAT(go.OptionalBool("ISRDMA"), IsOkAndHolds(Optional(false)));
  // A case-insensitive match names the key as the document spells it.
  EXPECT_THAT(go.String("CaseKey").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "c: casekey: expected a string, got 1"));
  EXPECT_THAT(strict.UnknownKeys({"isRdma"}), ElementsAre("ISRDMA", "casekey"));
  EXPECT_THAT(go.UnknownKeys({"isRdma"}), ElementsAre("casekey"));
}

TEST(FieldReaderTest, OrderedJsonAndInvalidUtf8) {
  const nlohmann::ordered_json doc = {{"z", 1}, {"a", "\xff"}};
  const OrderedFieldReader r(doc, "obj ns/x");
  EXPECT_THAT(r.UnknownKeys({}), ElementsAre("z", "a"));
  // dump() would throw on invalid UTF-8; the error replaces it instead.
  EXPECT_THAT(
      r.Bool("a").status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "obj ns/x: a: expected true or false, got \"\xEF\xBF\xBD\""));
}

}  // namespace
}  // namespace sk
