#include "lib/netattach/delegate_conf.h"

#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::netattach {
namespace {

using ::sk::testing::StatusIs;
using ::sk::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

nlohmann::json Nad(const std::string& config,
                   const std::string& resource = "") {
  nlohmann::json nad = {{"metadata", {{"namespace", "ns1"}, {"name", "net-a"}}},
                        {"spec", nlohmann::json::object()}};
  if (!config.empty()) nad["spec"]["config"] = config;
  if (!resource.empty())
    nad["metadata"]["annotations"][kResourceNameAnnotation] = resource;
  return nad;
}

void Write(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

TEST(DelegateConfTest, SingleConfGetsNadName) {
  absl::StatusOr<NetConfig> c = NetConfigFromNad(
      Nad(R"({"cniVersion":"0.4.0","type":"macvlan"})"), "/nonexistent");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->is_list);
  EXPECT_EQ(c->name, "net-a");
  EXPECT_EQ(c->json["name"], "net-a");
  EXPECT_EQ(c->cni_version, "0.4.0");
  EXPECT_THAT(c->plugin_types, ElementsAre("macvlan"));
}

TEST(DelegateConfTest, ConflistKeepsItsName) {
  absl::StatusOr<NetConfig> c = NetConfigFromNad(
      Nad(R"({"name":"own","plugins":[{"type":"sriov"},{"type":"tuning"}]})"),
      "/nonexistent");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->is_list);
  EXPECT_EQ(c->name, "own");
  EXPECT_THAT(c->plugin_types, ElementsAre("sriov", "tuning"));
}

TEST(DelegateConfTest, BadConfigsNameTheNadAndProblem) {
  struct Case {
    const char* config;
    const char* want;
  } cases[] = {
      {R"({"name":"x"})",
       "NAD ns1/net-a spec.config: type: expected a string, got nothing"},
      {R"({"plugins":[]})",
       "spec.config: plugins: expected a non-empty list of plugins, got []"},
      {R"({"plugins":null})",
       "spec.config: plugins: expected a non-empty list of plugins, got "
       "null"},
      {R"({"plugins":[{"type":"a"},{}]})",
       "spec.config: plugins[1].type: expected a string, got nothing"},
      {R"({"plugins":[{"type":"a"},3]})",
       "spec.config: plugins[1]: expected an object, got 3"},
      {R"({"type":"../../bin/sh"})",
       "type: expected a plugin file name (no '/'), got \"../../bin/sh\""},
      {R"({"type":""})",
       "type: expected a plugin file name (no '/'), got \"\""},
      {R"({"type":"a","name":5})", "name: expected a string, got 5"},
      {R"({"type":"a","cniVersion":[]})",
       "cniVersion: expected a string, got []"},
      {R"([1])", "NAD ns1/net-a spec.config: $: expected an object, got [1]"},
      {R"({"type")", "not valid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config);
    EXPECT_THAT(
        NetConfigFromNad(Nad(c.config), "/nonexistent").status(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(DelegateConfTest, BadNadObjectsNameThePath) {
  nlohmann::json config_not_string = Nad("{}");
  config_not_string["spec"]["config"] = 5;
  nlohmann::json no_name = Nad("{}");
  no_name["metadata"].erase("name");
  nlohmann::json no_metadata = Nad("{}");
  no_metadata.erase("metadata");
  const std::pair<nlohmann::json, const char*> cases[] = {
      {config_not_string,
       "NAD ns1/net-a: spec.config: expected a string, got 5"},
      {no_name,
       "NetworkAttachmentDefinition: metadata.name: expected a name, got "
       "nothing"},
      {no_metadata,
       "NetworkAttachmentDefinition: metadata: expected an object, got "
       "nothing"},
  };
  for (const auto& [nad, want] : cases) {
    SCOPED_TRACE(want);
    EXPECT_THAT(
        NetConfigFromNad(nad, "/nonexistent").status(),
        StatusIs(absl::StatusCode::kInvalidArgument, ::testing::Eq(want)));
  }
}

TEST(DelegateConfTest, NadWithoutConfigUsesConfDirByName) {
  TempDir dir;
  Write(dir / "10-other.conf", R"({"name":"other","type":"bridge"})");
  Write(dir / "20-bad.conf", "{not json");
  Write(dir / "30-net-a.conflist",
        R"({"name":"net-a","plugins":[{"type":"macvlan"}]})");
  Write(dir / "40-net-a.conf", R"({"name":"net-a","type":"later"})");
  Write(dir / "50-net-a.txt", R"({"name":"net-a","type":"ignored"})");
  absl::StatusOr<NetConfig> c = NetConfigFromNad(Nad(""), dir.path());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->plugin_types, ElementsAre("macvlan"));
  absl::StatusOr<NetConfig> first = NetConfigFromDir(dir.path(), "");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->name, "other");
  EXPECT_THAT(NetConfigFromDir(dir.path(), "missing").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no network named \"missing\"")));
  EXPECT_THAT(NetConfigFromNad(Nad(""), "/nonexistent").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("NAD ns1/net-a has no spec.config")));
}

TEST(DelegateConfTest, ResourceName) {
  EXPECT_EQ(NadResourceName(Nad("{}", "intel.com/a")), "intel.com/a");
  EXPECT_EQ(NadResourceName(Nad("{}")), "");
}

TEST(DeviceAllocatorTest, SortedAndIndexedPerResource) {
  DeviceAllocator alloc(
      {{"r/a", {"0000:03:02.1", "0000:03:02.0"}}, {"r/b", {"0000:04:00.1"}}});
  EXPECT_THAT(alloc.Next("r/a", "ns/p", "ns/n1"),
              ::sk::testing::IsOkAndHolds("0000:03:02.0"));
  EXPECT_THAT(alloc.Next("r/b", "ns/p", "ns/n2"),
              ::sk::testing::IsOkAndHolds("0000:04:00.1"));
  EXPECT_THAT(alloc.Next("r/a", "ns/p", "ns/n1"),
              ::sk::testing::IsOkAndHolds("0000:03:02.1"));
  EXPECT_THAT(alloc.Next("r/a", "ns/p", "ns/n3").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("pod ns/p: network ns/n3: no device of "
                                 "resource r/a left (2 assigned")));
  EXPECT_THAT(alloc.Next("r/c", "ns/p", "ns/n4").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("resource r/c left (0 assigned")));
}

TEST(DelegateConfTest, InjectsDeviceAndArgsIntoEveryPlugin) {
  absl::StatusOr<NetConfig> list = NetConfigFromJson(
      nlohmann::json::parse(
          R"({"name":"l","plugins":[{"type":"a","args":{"cni":{"x":1,"y":1}}},{"type":"b"}]})"),
      "", "t");
  ASSERT_TRUE(list.ok());
  InjectDeviceId(*list, "0000:03:02.0");
  MergeCniArgs(*list, nlohmann::json::parse(R"({"y":2,"z":"s"})"));
  for (const auto& p : list->json["plugins"]) {
    EXPECT_EQ(p["deviceID"], "0000:03:02.0");
    EXPECT_EQ(p["pciBusID"], "0000:03:02.0");
    EXPECT_EQ(p["args"]["cni"]["y"], 2);
    EXPECT_EQ(p["args"]["cni"]["z"], "s");
  }
  EXPECT_EQ(list->json["plugins"][0]["args"]["cni"]["x"], 1);
  EXPECT_FALSE(list->json.contains("deviceID"));

  absl::StatusOr<NetConfig> one =
      NetConfigFromJson(nlohmann::json::parse(R"({"type":"a"})"), "n", "t");
  ASSERT_TRUE(one.ok());
  InjectDeviceId(*one, "0000:05:00.0");
  MergeCniArgs(*one, nlohmann::json::parse(R"({"k":"v"})"));
  EXPECT_EQ(one->json["deviceID"], "0000:05:00.0");
  EXPECT_EQ(one->json["pciBusID"], "0000:05:00.0");
  EXPECT_EQ(one->json["args"]["cni"]["k"], "v");
}

TEST(DevinfoTest, PathsReplaceSlashes) {
  EXPECT_EQ(DpDevinfoPath("/r", "intel.com/sriov_a", "0000:af:06.0"),
            "/r/dp/intel.com-sriov_a-0000:af:06.0-device.json");
  EXPECT_EQ(CniDevinfoPath("/r", "ns1", "net-a", "abc/def", "net1"),
            "/r/cni/ns1-net-a-abc-def_net1");
}

TEST(DevinfoTest, CopyAndReadBack) {
  TempDir root;
  std::filesystem::path dp = DpDevinfoPath(root.path(), "r/a", "0000:03:02.0");
  std::filesystem::path cni = CniDevinfoPath(root.path(), "ns", "n", "c", "i");
  EXPECT_THAT(CopyDevinfo(dp, cni), StatusIs(absl::StatusCode::kNotFound));
  std::filesystem::create_directories(dp.parent_path());
  Write(
      dp,
      R"({"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:03:02.0"}})");
  ASSERT_THAT(CopyDevinfo(dp, cni), ::sk::testing::IsOk());
  struct stat st {};
  ASSERT_EQ(::stat(cni.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  std::optional<nlohmann::json> j = ReadDevinfo(cni);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)["pci"]["pci-address"], "0000:03:02.0");
  Write(dp, "[1]");
  EXPECT_THAT(CopyDevinfo(dp, cni),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a device-info JSON object")));
  EXPECT_FALSE(ReadDevinfo(root / "missing").has_value());
}

}  // namespace
}  // namespace sk::netattach
