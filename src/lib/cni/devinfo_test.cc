#include "lib/cni/devinfo.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::IsOkAndHolds;

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DevInfoTest, PciDocumentHasSpecKeysInOrder) {
  EXPECT_EQ(
      PciDeviceInfoJson("0000:af:06.0", "0000:af:00.1"),
      R"({"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:af:06.0","pf-pci-address":"0000:af:00.1"}})");
  EXPECT_EQ(
      PciDeviceInfoJson("0000:af:06.0", ""),
      R"({"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:af:06.0"}})");
}

TEST(DevInfoTest, WritesReadOnlyFileCreatingParents) {
  sk::testing::TempDir tmp;
  auto path = tmp.path() / "devinfo" / "cni" / "default-sriov-net-c1_net1";
  EXPECT_THAT(WriteDeviceInfoIfAbsent(path, "0000:af:06.0", "0000:af:00.1"),
              IsOkAndHolds(true));
  EXPECT_EQ(Slurp(path), PciDeviceInfoJson("0000:af:06.0", "0000:af:00.1"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  // No temporary file left beside it.
  EXPECT_EQ(
      std::distance(std::filesystem::directory_iterator(path.parent_path()),
                    std::filesystem::directory_iterator()),
      1);
}

TEST(DevInfoTest, NeverReplacesAnExistingFileOrSymlink) {
  sk::testing::TempDir tmp;
  auto path = tmp.path() / "dp-copy";
  std::ofstream(path)
      << R"({"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:af:06.0","rdma-device":"mlx5_3"}})";
  EXPECT_THAT(WriteDeviceInfoIfAbsent(path, "0000:af:06.0", "0000:af:00.1"),
              IsOkAndHolds(false));
  EXPECT_THAT(Slurp(path), ::testing::HasSubstr("mlx5_3"));
  auto link = tmp.path() / "link";
  std::filesystem::create_symlink(tmp.path() / "target", link);
  EXPECT_THAT(WriteDeviceInfoIfAbsent(link, "0000:af:06.0", ""),
              IsOkAndHolds(false));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "target"));
}

}  // namespace
}  // namespace sk::cni
