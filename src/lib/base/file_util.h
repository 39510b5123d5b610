#pragma once
// Small file helpers that report errors as absl::Status and never throw.

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk {

// Reads a whole file. NotFound when it does not exist; other errno codes as
// mapped by absl::ErrnoToStatus. The message names the path.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// Writes `contents` atomically: a temp file in the same directory, fsync,
// rename over `path`, fsync of the directory. Never follows a symlink at
// `path` (the rename replaces the link itself). `mode` applies to the new file.
// `sync_dir` false skips the directory fsync (state that a reboot makes moot).
absl::Status WriteFileAtomic(const std::filesystem::path& path,
                             std::string_view contents, int mode = 0644,
                             bool sync_dir = true);

// Creates `dir` and its parents (mode 0755 unless given).
absl::Status MakeDirs(const std::filesystem::path& dir);

}  // namespace sk
