#include "lib/sysfs/sysfs.h"

#include <unistd.h>

#include <fstream>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::sysfs {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void Write(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

TEST(SysfsTest, ReadsUnderRoot) {
  sk::testing::TempDir dir;
  Write(dir / "sys/class/net/eth0/mtu", "1500\n");
  Write(dir / "sys/class/net/eth0/numa", "-1\n");
  Write(dir / "sys/class/net/eth0/class", "0x020000\n");
  Write(dir / "sys/class/net/eth0/junk", "abc\n");
  Sysfs fs(dir.path());
  EXPECT_FALSE(fs.is_host_root());
  EXPECT_EQ(fs.Path("/sys/x"), dir / "sys/x");
  EXPECT_EQ(fs.Path("sys/x"), dir / "sys/x");
  EXPECT_THAT(fs.ReadAttribute("sys/class/net/eth0/mtu"), IsOkAndHolds("1500"));
  EXPECT_THAT(fs.ReadInt("sys/class/net/eth0/mtu"), IsOkAndHolds(1500));
  EXPECT_THAT(fs.ReadInt("sys/class/net/eth0/numa"), IsOkAndHolds(-1));
  EXPECT_THAT(fs.ReadInt("sys/class/net/eth0/class"), IsOkAndHolds(0x020000));
  EXPECT_THAT(
      fs.ReadInt("sys/class/net/eth0/junk"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"abc\"")));
  EXPECT_THAT(fs.ReadAttribute("sys/missing"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(fs.ListDir("sys/class/net/eth0"),
              IsOkAndHolds(ElementsAre("class", "junk", "mtu", "numa")));
}

TEST(SysfsTest, LinksAndWrites) {
  sk::testing::TempDir dir;
  Write(dir / "sys/bus/pci/drivers/igb/bind", "");
  std::filesystem::create_directories(dir /
                                      "sys/devices/pci0000:00/0000:01:00.0");
  ASSERT_EQ(
      ::symlink("../../../bus/pci/drivers/igb",
                (dir / "sys/devices/pci0000:00/0000:01:00.0/driver").c_str()),
      0);
  Sysfs fs(dir.path());
  EXPECT_THAT(fs.ReadLinkBasename("sys/devices/pci0000:00/0000:01:00.0/driver"),
              IsOkAndHolds("igb"));
  auto resolved = fs.ResolveLink("sys/devices/pci0000:00/0000:01:00.0/driver");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->filename(), "igb");
  EXPECT_TRUE(fs.Exists("sys/devices/pci0000:00/0000:01:00.0/driver"));
  EXPECT_FALSE(fs.Exists("sys/devices/pci0000:00/0000:01:00.0/nope"));
  SK_ASSERT_OK(
      fs.WriteAttribute("sys/bus/pci/drivers/igb/bind", "0000:01:00.0"));
  EXPECT_THAT(fs.ReadAttribute("sys/bus/pci/drivers/igb/bind"),
              IsOkAndHolds("0000:01:00.0"));
  EXPECT_THAT(fs.WriteAttribute("sys/nope/x", "1"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("sys/nope/x")));
}

TEST(SysfsIntTest, ParsesForms) {
  EXPECT_THAT(ParseSysfsInt(" 7\n"), IsOkAndHolds(7));
  EXPECT_THAT(ParseSysfsInt("0x10ca"), IsOkAndHolds(0x10ca));
  EXPECT_THAT(ParseSysfsInt("-1"), IsOkAndHolds(-1));
  EXPECT_THAT(ParseSysfsInt(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSysfsInt("0x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSysfsInt("12ab"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sk::sysfs
