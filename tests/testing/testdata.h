#pragma once
// Test-only: reads a testdata or golden file whole.
//
//   EXPECT_EQ(out, sk::testing::ReadTestFile(kTestdata, "pod.json"));
//
// A file that cannot be read yields "", so the comparison that follows fails
// and names what was expected.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sk::testing {

inline std::string ReadTestFile(const std::filesystem::path& dir,
                                const std::string& name) {
  std::ifstream in(dir / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sk::testing
