#pragma once
// sk::sysfs::Sysfs — every read of /sys (and of /proc and /dev where a caller
// needs them) goes through a root path so tests and dry runs can point at a
// fixture tree. `Sysfs("/")` reads the running kernel; `Sysfs(tmpdir)` reads
// `<tmpdir>/sys/...`. Paths given to the methods are relative to the root and
// may start with or without '/': Path("sys/bus/pci") == Path("/sys/bus/pci").
//
// Nothing here consults the running kernel by other means (no netlink, no
// ioctl), so a non-"/" root is fully hermetic.
//
// Thread safety: immutable after construction; safe to share.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk::sysfs {

class Sysfs {
 public:
  explicit Sysfs(std::filesystem::path root = "/") : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  bool is_host_root() const;

  // Absolute path of `rel` under the root.
  std::filesystem::path Path(std::string_view rel) const;

  // Reads an attribute file and strips trailing whitespace/newlines.
  // NotFound when missing; other codes from errno. Message names the path.
  absl::StatusOr<std::string> ReadAttribute(std::string_view rel) const;

  // Reads an integer attribute. Accepts decimal and 0x-prefixed hex.
  // InvalidArgument (naming path and value) when it does not parse.
  absl::StatusOr<int64_t> ReadInt(std::string_view rel) const;

  // Basename of a symlink's target (e.g. driver -> ../../bus/pci/drivers/igb
  // gives "igb"). NotFound when the link does not exist.
  absl::StatusOr<std::string> ReadLinkBasename(std::string_view rel) const;

  // Target of a symlink resolved to a canonical path under the root.
  absl::StatusOr<std::filesystem::path> ResolveLink(std::string_view rel) const;

  bool Exists(std::string_view rel) const;

  // Sorted entry names of a directory. NotFound when it does not exist.
  absl::StatusOr<std::vector<std::string>> ListDir(std::string_view rel) const;

  // Writes `value` to an attribute (sriov_numvfs, driver_override, bind...).
  absl::Status WriteAttribute(std::string_view rel,
                              std::string_view value) const;

 private:
  std::filesystem::path root_;
};

// Parses an integer as sysfs prints it ("7", "-1", "0x020000"), ignoring
// surrounding whitespace. InvalidArgument naming the value otherwise.
absl::StatusOr<int64_t> ParseSysfsInt(std::string_view text);

}  // namespace sk::sysfs
