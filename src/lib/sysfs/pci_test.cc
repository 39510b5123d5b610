#include "lib/sysfs/pci.h"

#include "tests/testing/status_matchers.h"

namespace sk::sysfs {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PciAddressTest, ParsesAndNormalises) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"0000:3b:02.1", "0000:3b:02.1"}, {"0000:3B:02.1", "0000:3b:02.1"},
      {"3b:02.1", "0000:3b:02.1"},      {"AF:1F.7", "0000:af:1f.7"},
      {"10:00:00.0", "0010:00:00.0"},   {"ffff:ff:1f.7", "ffff:ff:1f.7"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto a = PciAddress::Parse(c.in);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->ToString(), c.want);
  }
}

TEST(PciAddressTest, RejectsMalformedNamingInput) {
  for (const char* in :
       {"", "3b:02", "3b.02.1", "0000:3b:20.1", "0000:3b:02.8", "00000:3b:02.1",
        "0000:3bb:02.1", "0000:3b:2.1", "g0:00.0", "0000:3b:02.1 ", ":3b:02.1",
        "1:2:3:4.0", "0000:3b:02.10"}) {
    SCOPED_TRACE(in);
    EXPECT_THAT(PciAddress::Parse(in),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::string("\"") + in + "\"")));
  }
}

TEST(PciAddressTest, Orders) {
  auto a = *PciAddress::Parse("0000:01:10.0");
  auto b = *PciAddress::Parse("0000:01:10.2");
  auto c = *PciAddress::Parse("0000:02:00.0");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(a, *PciAddress::Parse("01:10.0"));
}

}  // namespace
}  // namespace sk::sysfs
