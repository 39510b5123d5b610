#include "lib/version/version.h"

#include <regex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::version {
namespace {

TEST(VersionTest, LineNamesProgramVersionAndRevision) {
  std::string line = VersionLine("sriovctl");
  EXPECT_EQ(line, "sriovctl " + std::string(Version()) + " (git " +
                      std::string(Revision()) + ")");
}

TEST(VersionTest, VersionIsSemverAndRevisionIsHexOrUnknown) {
  EXPECT_TRUE(
      std::regex_match(std::string(Version()), std::regex(R"(\d+\.\d+\.\d+)")))
      << Version();
  EXPECT_TRUE(
      std::regex_match(std::string(Revision()),
                       std::regex(R"(([0-9a-f]{7,40}(-dirty)?)|unknown)")))
      << Revision();
}

}  // namespace
}  // namespace sk::version
