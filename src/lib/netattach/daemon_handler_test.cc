#include "lib/netattach/daemon_handler.h"

#include <string>

#include "lib/netattach/config.h"
#include "tests/testing/status_matchers.h"

namespace sk::netattach {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

const nlohmann::json kDaemonConfig = {{"clusterNetwork", "cbr0"},
                                      {"confDir", "/etc/cni/multus/net.d"}};

TEST(OverlayDaemonConfigTest, DaemonKeysReplaceTheShims) {
  absl::StatusOr<nlohmann::json> j = OverlayDaemonConfig(
      R"({"cniVersion": "1.0.0", "clusterNetwork": "other", "x": [1]})",
      kDaemonConfig);
  SK_ASSERT_OK(j.status());
  EXPECT_EQ(*j, nlohmann::json::parse(
                    R"({"cniVersion": "1.0.0", "clusterNetwork": "cbr0",
                        "confDir": "/etc/cni/multus/net.d", "x": [1]})"));
}

TEST(OverlayDaemonConfigTest, ErrorsNameTheNetworkConfiguration) {
  EXPECT_THAT(OverlayDaemonConfig("[1]", kDaemonConfig).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "network configuration: not a JSON object"));
  EXPECT_THAT(OverlayDaemonConfig(R"({"a": tru})", kDaemonConfig).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("network configuration: not valid JSON at "
                                 "byte 9: syntax error")));
  EXPECT_THAT(
      OverlayDaemonConfig(std::string(65, '[') + std::string(65, ']'),
                          kDaemonConfig)
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "network configuration: JSON nested deeper than 64 levels at "
               "byte 64"));
}

// The limit applies to the overlaid config's text, as when it was printed
// and parsed again: whitespace in the shim's stdin does not count, numbers
// count as they print.
TEST(FitShimConfigLimitTest, CountsThePrintedText) {
  const size_t daemon_bytes = kDaemonConfig.dump().size();
  // Small: kept without printing.
  const std::string small = R"({"cniVersion": "1.0.0"})";
  absl::StatusOr<nlohmann::json> merged =
      OverlayDaemonConfig(small, kDaemonConfig);
  SK_ASSERT_OK(merged.status());
  absl::StatusOr<nlohmann::json> fit =
      FitShimConfigLimit(*merged, small.size(), daemon_bytes);
  SK_ASSERT_OK(fit.status());
  EXPECT_EQ(*fit, *merged);

  // 1.5 MiB of stdin, mostly whitespace: its text is small.
  const std::string spaced =
      "{" + std::string(1536 * 1024, ' ') + R"("cniVersion": "1.0.0"})";
  merged = OverlayDaemonConfig(spaced, kDaemonConfig);
  SK_ASSERT_OK(merged.status());
  fit = FitShimConfigLimit(*merged, spaced.size(), daemon_bytes);
  SK_ASSERT_OK(fit.status());
  EXPECT_EQ(*fit, *merged);

  // 300 KiB of ",1e14", printed 3.6 times as long: over the limit.
  std::string numbers = R"({"n": [1e14)";
  while (numbers.size() < 300 * 1024) numbers += ",1e14";
  numbers += "]}";
  merged = OverlayDaemonConfig(numbers, kDaemonConfig);
  SK_ASSERT_OK(merged.status());
  const size_t printed = merged->dump().size();
  ASSERT_GT(printed, kMaxShimConfigBytes);
  EXPECT_THAT(
      FitShimConfigLimit(*merged, numbers.size(), daemon_bytes).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               absl::StrCat("shim config: JSON input of ", printed,
                            " bytes exceeds the 1048576-byte limit")));
}

std::shared_ptr<const ParsedShimConfig> Parsed(const std::string& text) {
  absl::StatusOr<std::shared_ptr<const ParsedShimConfig>> p =
      ParsedShimConfigFrom(ParseShimConfigJson(text));
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : nullptr;
}

TEST(ShimConfigMemoTest, FindsTheTwoLastUsedTextsOnly) {
  const std::string a = R"({"clusterNetwork":"a"})";
  const std::string b = R"({"clusterNetwork":"b"})";
  const std::string c = R"({"clusterNetwork":"c"})";
  ShimConfigMemo memo;
  EXPECT_EQ(memo.Find(a), nullptr);
  std::shared_ptr<const ParsedShimConfig> pa = Parsed(a);
  memo.Remember(a, pa);
  EXPECT_EQ(memo.Find(a), pa);
  EXPECT_EQ(memo.Find(a)->config.cluster_network, "a");
  EXPECT_EQ(memo.Find(a + " "), nullptr);  // the exact text only
  memo.Remember(b, Parsed(b));
  // a used again, so c drops b (least recently used), not a.
  EXPECT_EQ(memo.Find(a), pa);
  memo.Remember(c, Parsed(c));
  EXPECT_EQ(memo.Find(b), nullptr);
  EXPECT_EQ(memo.Find(a), pa);
  EXPECT_EQ(memo.Find(c)->config.cluster_network, "c");
}

// A DEL's configuration is keyed without its prevResult's value: the DELs
// of two pods (each its own ADD result) share one key, and any other byte
// that differs (a key, a value, where prevResult sits) gives another.
TEST(DelConfigKeyTest, EverythingButThePrevResultValue) {
  const std::string a =
      R"({"cniVersion":"1.0.0","name":"sriovkit","prevResult":{"ips":[]},)"
      R"("socketDir":"/run/s","type":"sriov-netattach"})";
  const std::string b =
      R"({"cniVersion":"1.0.0","name":"sriovkit","prevResult":{"cniVersion":)"
      R"("1.0.0","interfaces":[{"name":"eth0"}]},"socketDir":"/run/s",)"
      R"("type":"sriov-netattach"})";
  const std::string key = DelConfigKey(a);
  ASSERT_FALSE(key.empty());
  EXPECT_EQ(DelConfigKey(b), key);
  EXPECT_EQ(key, R"(53:{"cniVersion":"1.0.0","name":"sriovkit","prevResult":,)"
                 R"("socketDir":"/run/s","type":"sriov-netattach"})");
  // Another configuration, or the same bytes split elsewhere.
  std::string c = a;
  c.replace(c.find("/run/s"), 6, "/run/t");
  EXPECT_NE(DelConfigKey(c), key);
  const std::string moved =
      R"({"cniVersion":"1.0.0","prevResult":{},"name":"sriovkit",)"
      R"("socketDir":"/run/s","type":"sriov-netattach"})";
  EXPECT_FALSE(DelConfigKey(moved).empty());
  EXPECT_NE(DelConfigKey(moved), key);
  // Nothing to strip, or not a text the scanner vouches for: no key.
  EXPECT_EQ(DelConfigKey(R"({"name":"x"})"), "");
  EXPECT_EQ(DelConfigKey(R"({"name":"x","prevResult":"s"})"), "");
  EXPECT_EQ(DelConfigKey(R"({"a":{"prevResult":{}}})"), "");
  EXPECT_EQ(DelConfigKey(R"({"prevResult":{})"), "");
  EXPECT_EQ(DelConfigKey(R"([{"prevResult":{}}])"), "");
}

}  // namespace
}  // namespace sk::netattach
