#include "lib/podresources/checkpoint.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::podresources {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

// As kubelet 1.28 writes it (two pods, NUMA-keyed DeviceIDs). "CgA=" is
// base64 of the bytes 0x0a 0x00.
constexpr char kModern[] = R"({"Data":{"PodDeviceEntries":[
  {"PodUID":"uid-a","ContainerName":"compute","ResourceName":"intel.com/sriov_a",
   "DeviceIDs":{"-1":["0000:03:02.0"],"1":["0000:03:02.4"]},"AllocResp":"CgA="},
  {"PodUID":"uid-a","ContainerName":"sidecar","ResourceName":"intel.com/sriov_b",
   "DeviceIDs":{"0":["0000:04:02.0"]},"AllocResp":null},
  {"PodUID":"uid-b","ContainerName":"compute","ResourceName":"intel.com/sriov_a",
   "DeviceIDs":{"-1":["0000:03:02.1"]},"AllocResp":""}],
 "RegisteredDevices":{"intel.com/sriov_a":["0000:03:02.0","0000:03:02.1",
   "0000:03:02.4"],"intel.com/sriov_b":["0000:04:02.0"]}},
 "Checksum":3347424321})";

// Before Kubernetes 1.20: DeviceIDs a plain list.
constexpr char kPre120[] = R"({"Data":{"PodDeviceEntries":[
  {"PodUID":"uid-a","ContainerName":"compute","ResourceName":"intel.com/sriov_a",
   "DeviceIDs":["0000:03:02.0","0000:03:02.1"],"AllocResp":"CgA="}],
 "RegisteredDevices":{"intel.com/sriov_a":["0000:03:02.0","0000:03:02.1"]}},
 "Checksum":1})";

TEST(CheckpointTest, ParsesNumaKeyedDeviceIds) {
  SK_ASSERT_OK_AND_ASSIGN(Checkpoint cp, ParseCheckpoint(kModern));
  EXPECT_THAT(cp.warnings, IsEmpty());
  ASSERT_THAT(cp.entries, SizeIs(3));
  EXPECT_EQ(cp.entries[0].pod_uid, "uid-a");
  EXPECT_EQ(cp.entries[0].container_name, "compute");
  EXPECT_EQ(cp.entries[0].resource_name, "intel.com/sriov_a");
  EXPECT_THAT(cp.entries[0].device_ids,
              ElementsAre("0000:03:02.0", "0000:03:02.4"));
  EXPECT_EQ(cp.entries[0].alloc_resp, std::string("\x0a\x00", 2));
  EXPECT_EQ(cp.entries[1].alloc_resp, "");
  EXPECT_THAT(
      cp.registered_devices,
      ElementsAre(Pair("intel.com/sriov_a", SizeIs(3)),
                  Pair("intel.com/sriov_b", ElementsAre("0000:04:02.0"))));
  EXPECT_THAT(
      cp.DevicesOf("uid-a"),
      ElementsAre(Pair("intel.com/sriov_a",
                       ElementsAre("0000:03:02.0", "0000:03:02.4")),
                  Pair("intel.com/sriov_b", ElementsAre("0000:04:02.0"))));
  EXPECT_THAT(
      cp.DevicesOf("uid-b"),
      ElementsAre(Pair("intel.com/sriov_a", ElementsAre("0000:03:02.1"))));
  EXPECT_THAT(cp.DevicesOf("uid-c"), IsEmpty());
}

TEST(CheckpointTest, ParsesPre120PlainList) {
  SK_ASSERT_OK_AND_ASSIGN(Checkpoint cp, ParseCheckpoint(kPre120));
  EXPECT_THAT(cp.warnings, IsEmpty());
  EXPECT_THAT(cp.DevicesOf("uid-a"),
              ElementsAre(Pair("intel.com/sriov_a",
                               ElementsAre("0000:03:02.0", "0000:03:02.1"))));
}

TEST(CheckpointTest, NullsAreGoNilValues) {
  SK_ASSERT_OK_AND_ASSIGN(Checkpoint cp,
                          ParseCheckpoint(R"({"Data":{"PodDeviceEntries":null,
                                  "RegisteredDevices":null},"Checksum":0})"));
  EXPECT_THAT(cp.entries, IsEmpty());
  EXPECT_THAT(cp.registered_devices, IsEmpty());
  EXPECT_THAT(cp.warnings, IsEmpty());
}

TEST(CheckpointTest, DocumentErrorsNameTheField) {
  struct Case {
    const char* name;
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {"not json", "{\"Data\":", "not valid JSON"},
      {"array root", "[]", "expected a JSON object, got array"},
      {"no Data", R"({"Checksum":1})", "Data: expected an object, got nothing"},
      {"Data string", R"({"Data":"x"})",
       "Data: expected an object, got string"},
      {"entries object", R"({"Data":{"PodDeviceEntries":{}}})",
       "Data.PodDeviceEntries: expected an array, got object"},
      {"registered list", R"({"Data":{"RegisteredDevices":[]}})",
       "Data.RegisteredDevices: expected an object, got array"},
      {"too deep", R"({"Data":{"PodDeviceEntries":[[[[[[[[1]]]]]]]]}})",
       "nested deeper than 8 levels"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(
        ParseCheckpoint(c.text).status(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

TEST(CheckpointTest, BadEntryIsSkippedWithAWarningNamingIt) {
  struct Case {
    const char* name;
    std::string entry;
    const char* warning;
  };
  const Case cases[] = {
      {"entry not object", "7",
       "Data.PodDeviceEntries[1]: expected an object, got number"},
      {"PodUID number",
       R"({"PodUID":5,"ContainerName":"c","ResourceName":"r","DeviceIDs":[]})",
       "Data.PodDeviceEntries[1].PodUID: expected a string, got number"},
      {"no ResourceName",
       R"({"PodUID":"u","ContainerName":"c","DeviceIDs":[]})",
       "Data.PodDeviceEntries[1].ResourceName: missing"},
      {"empty PodUID",
       R"({"PodUID":"","ContainerName":"c","ResourceName":"r","DeviceIDs":[]})",
       "Data.PodDeviceEntries[1]: empty PodUID"},
      {"DeviceIDs string",
       R"({"PodUID":"u","ContainerName":"c","ResourceName":"r","DeviceIDs":"x"})",
       "Data.PodDeviceEntries[1].DeviceIDs: expected an object (NUMA node -> "
       "IDs) or an array, got string"},
      {"NUMA key", R"({"PodUID":"u","ContainerName":"c","ResourceName":"r",
                       "DeviceIDs":{"zero":["a"]}})",
       "Data.PodDeviceEntries[1].DeviceIDs: NUMA node key \"zero\" is not an "
       "integer"},
      {"ID number", R"({"PodUID":"u","ContainerName":"c","ResourceName":"r",
                        "DeviceIDs":{"0":["a",3]}})",
       "Data.PodDeviceEntries[1].DeviceIDs[\"0\"][1]: expected a string, got "
       "number"},
      {"AllocResp", R"({"PodUID":"u","ContainerName":"c","ResourceName":"r",
                        "DeviceIDs":[],"AllocResp":"!!"})",
       "Data.PodDeviceEntries[1].AllocResp: not valid base64"},
  };
  const std::string good =
      R"({"PodUID":"uid-a","ContainerName":"c","ResourceName":"r",
          "DeviceIDs":{"-1":["0000:03:02.0"]}})";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string text = R"({"Data":{"PodDeviceEntries":[)" + good + "," +
                             c.entry + "," + good + "]}}";
    auto cp = ParseCheckpoint(text);
    ASSERT_THAT(cp.status(), IsOk());
    EXPECT_THAT(cp->entries, SizeIs(2));
    EXPECT_THAT(cp->warnings,
                ElementsAre(std::string(c.warning) + "; entry skipped"));
    EXPECT_THAT(
        cp->DevicesOf("uid-a"),
        ElementsAre(Pair("r", ElementsAre("0000:03:02.0", "0000:03:02.0"))));
  }
}

TEST(CheckpointTest, BadRegisteredListIsSkipped) {
  SK_ASSERT_OK_AND_ASSIGN(
      Checkpoint cp,
      ParseCheckpoint(R"({"Data":{"RegisteredDevices":{"a":["x"],"b":"y"}}})"));
  EXPECT_THAT(cp.registered_devices, ElementsAre(Pair("a", ElementsAre("x"))));
  EXPECT_THAT(cp.warnings,
              ElementsAre(HasSubstr("Data.RegisteredDevices[\"b\"]: expected "
                                    "an array of device IDs, got string")));
}

TEST(CheckpointTest, OversizedTextIsRefused) {
  std::string text = kModern;
  text.append(100, ' ');
  EXPECT_THAT(
      ParseCheckpoint(text, /*max_bytes=*/text.size() - 1).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds")));
  EXPECT_THAT(ParseCheckpoint(text, text.size()).status(), IsOk());
}

TEST(CheckpointTest, ReadCheckpointNamesThePath) {
  sk::testing::TempDir tmp;
  const auto path = tmp / "kubelet_internal_checkpoint";
  EXPECT_THAT(ReadCheckpoint(path).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path.string())));
  { std::ofstream(path) << kModern; }
  SK_ASSERT_OK_AND_ASSIGN(Checkpoint cp, ReadCheckpoint(path));
  EXPECT_THAT(cp.entries, SizeIs(3));
  EXPECT_THAT(
      ReadCheckpoint(path, /*max_bytes=*/64).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(path.string())));
  { std::ofstream(path) << R"({"Data":[]})"; }
  EXPECT_THAT(ReadCheckpoint(path).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("kubelet checkpoint " + path.string() +
                                 ": Data: expected an object, got array")));
  { std::ofstream(path) << R"({"Data":{"PodDeviceEntries":[1]}})"; }
  SK_ASSERT_OK_AND_ASSIGN(cp, ReadCheckpoint(path));
  EXPECT_THAT(cp.warnings, ElementsAre(HasSubstr("kubelet checkpoint " +
                                                 path.string() + ": ")));
}

}  // namespace
}  // namespace sk::podresources
