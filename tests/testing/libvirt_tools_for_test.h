#pragma once
// Test-only: run libvirt's own tools on generated XML.
//
//   ValidateWithLibvirtForTest(xml, dir) runs
//     virt-xml-validate <file> domain          (libvirt's RNG schema)
//     virsh -c test:///default define <file>   (libvirt's parser, test driver)
// and returns their combined output with the exit codes. The test driver
// lives inside the virsh process: nothing on the host is touched.
//
// Tools come from Debian's libvirt-clients (scripts/deps.sh). When a tool is
// not on PATH, ToolPathForTest returns "" and callers GTEST_SKIP() saying so.

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace sk::libvirt {

struct ToolRunForTest {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

inline std::string ToolPathForTest(std::string_view name) {
  const char* path = ::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::filesystem::path cand =
        std::filesystem::path(p.substr(start, end - start)) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(cand, ec)) return cand.string();
    start = end + 1;
  }
  return "";
}

// Runs `cmd` through /bin/sh with stderr folded into stdout.
inline ToolRunForTest RunToolForTest(const std::string& cmd) {
  ToolRunForTest r;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0)
    r.output.append(buf.data(), n);
  int st = ::pclose(f);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Writes `xml` to dir/name and returns the path.
inline std::filesystem::path WriteXmlForTest(const std::filesystem::path& dir,
                                             const std::string& name,
                                             const std::string& xml) {
  std::filesystem::path p = dir / name;
  std::ofstream(p) << xml;
  return p;
}

inline ToolRunForTest VirtXmlValidateForTest(
    const std::filesystem::path& file) {
  return RunToolForTest("virt-xml-validate '" + file.string() + "' domain");
}

inline ToolRunForTest VirshDefineForTest(const std::filesystem::path& file) {
  return RunToolForTest("virsh -c test:///default define '" + file.string() +
                        "'");
}

}  // namespace sk::libvirt
