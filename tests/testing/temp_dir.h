#pragma once
// A per-test temporary directory under /tmp with a short path (unix socket
// paths are limited to 108 bytes), removed recursively on destruction.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace sk::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/sk.XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (p != nullptr) path_ = p;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const {
    return path_ / rel;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace sk::testing
