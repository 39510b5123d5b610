#pragma once
// Small file helpers that report errors as absl::Status and never throw.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/base/unique_fd.h"

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
// `sync_dir` false skips the directory fsync (state that a reboot makes moot);
// `sync_file` false skips the file's fsync too (still atomic against a crash
// of the process, not of the host).
absl::Status WriteFileAtomic(const std::filesystem::path& path,
                             std::string_view contents, int mode = 0644,
                             bool sync_dir = true, bool sync_file = true);

// Creates `dir` and its parents (mode 0755 unless given).
absl::Status MakeDirs(const std::filesystem::path& dir);

// Directory-fd relative helpers for state that must stay inside one tree:
// each resolves exactly one name inside `dirfd` and never follows a symlink
// there (O_NOFOLLOW), so a symlink planted in the tree cannot redirect a
// read, a write or a chmod outside it. `display` is the path named in
// errors. A symlink or a non-directory where a directory is expected is
// FailedPrecondition ("... is a symlink; refusing to follow it").

// Opens the directory `name` in `dirfd`; with `create`, makes it first
// (mode `mode`) when absent and sets `mode` on it.
absl::StatusOr<UniqueFd> OpenDirAt(int dirfd, const std::string& name,
                                   bool create, int mode,
                                   const std::string& display);
// The whole file `name` in `dirfd`; nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadFileAt(
    int dirfd, const std::string& name, const std::string& display);
// WriteFileAtomic inside `dirfd` (temp file, fsync, renameat). Without
// `sync_file` the temp file is not fsync'ed: the rename is still atomic for
// every reader and after a crash of the writing process, but after a power
// loss the file may be absent, old, empty or partial; only for state whose
// every such outcome is safe.
absl::Status WriteFileAtomicAt(int dirfd, const std::string& name,
                               std::string_view contents, int mode,
                               bool sync_dir, const std::string& display,
                               bool sync_file = true);

}  // namespace sk
