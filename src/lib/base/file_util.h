#pragma once
// Small file helpers that report errors as absl::Status and never throw.

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk {

// Reads a whole file. NotFound when it does not exist; other errno codes as
// mapped by absl::ErrnoToStatus. The message names the path.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// Reads a whole file of input we do not control, refusing it past
// `max_bytes`: InvalidArgument "<path>: larger than the <max_bytes>-byte
// limit" after reading at most max_bytes + 1 bytes (a /proc file or FIFO has
// no trustworthy size, so nothing is taken from stat). Otherwise as ReadFile.
absl::StatusOr<std::string> ReadFileBounded(const std::filesystem::path& path,
                                            size_t max_bytes);

// Reads `fd` to EOF (retrying EINTR), refusing more than `max_bytes`:
// InvalidArgument "<what>: more than <max_bytes> bytes" as soon as the excess
// byte arrives, without draining the rest; the caller owns and closes `fd`.
// A read error is the errno mapped by ErrnoStatus, naming `what`.
absl::StatusOr<std::string> ReadFdBounded(int fd, size_t max_bytes,
                                          std::string_view what);

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
