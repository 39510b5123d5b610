#pragma once
// sriovctl subcommands. Each Add*Command registers one subcommand (with its
// flags and --help text) on the CLI11 app and, when the user selects it,
// stores the function that runs it in *run. The function returns the process
// exit code (lib/base/exit_code.h); output goes to the given streams.
//
// Global flags live in CtlOptions and are shared by all subcommands:
//   --sysfs-root (env SRIOVKIT_SYSFS_ROOT), --proc-root (SRIOVKIT_PROC_ROOT),
//   --dev-root (SRIOVKIT_DEV_ROOT), each defaulting to "/"; and --version.
// They are accepted before or after any subcommand, at any depth
// (`sriovctl doctor --sysfs-root X`, `sriovctl kubevirt domain --dev-root Y`),
// and every --help lists them under "Global options".
//
// The whole command line, as src/cmd/sriovctl/main.cc runs it:
//
//   CLI::App app{"sriovctl: ...", "sriovctl"};
//   sk::ctl::CtlOptions opts;
//   sk::ctl::RunFn run;
//   sk::ctl::AddDoctorCommand(app, opts, &run);   // every Add*Command first,
//   sk::ctl::AddGlobalFlags(app, opts);           // then the global flags
//   return sk::ctl::ParseAndRun(app, args, run, io);

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

// CLI11's own namespace, declared ahead.
namespace CLI {  // NOLINT(readability-identifier-naming)
class App;
}

namespace sk::ctl {

struct CtlOptions {
  std::string sysfs_root = "/";
  std::string proc_root = "/";
  std::string dev_root = "/";
};

struct Io {
  std::ostream* out;
  std::ostream* err;
};

using RunFn = std::function<int(const Io&)>;

// Adds the global flags to `app` and to every subcommand already registered
// on it, at any depth: call it after the last Add*Command. The environment
// variables are read here and become the defaults; a flag given anywhere on
// the command line overrides them (given twice, the last one wins).
void AddGlobalFlags(CLI::App& app, CtlOptions& opts);

// Parses `args` (the command line without argv[0]) with `app` and runs the
// command the parse selected (`run`, set by the Add*Command callbacks).
// Returns the exit code: 0 for --help and --version (printed on io.out);
// 64 for a usage error, printed on io.err, where an unknown subcommand is
// named with the closest known one:
//   sriovctl: unknown command "invntory" for "sriovctl"; did you mean
//   "inventory"?
// otherwise whatever the command returns.
int ParseAndRun(CLI::App& app, const std::vector<std::string>& args,
                const RunFn& run, const Io& io);

// The known name closest to `word` (case-insensitive optimal string
// alignment distance: insertions, deletions, substitutions and adjacent
// transpositions each cost 1) when that distance is at most 2, or the first
// name that starts with `word`; "" when none qualifies.
std::string ClosestName(std::string_view word,
                        const std::vector<std::string>& names);

enum class PathKind { kFile, kDirectory };

// Checks a path the user gave with `flag` before anything reads it,
// following symlinks. Every message names the flag and the path:
//   NotFound          it does not exist, a component is not a directory, or
//                     it is a symlink loop ("--vmi /nope: no such file")
//   InvalidArgument   it exists but is not a `kind` (e.g. a directory for
//                     --vmi)
//   PermissionDenied  a component cannot be searched
absl::Status CheckInputPath(std::string_view flag,
                            const std::filesystem::path& path, PathKind kind);

}  // namespace sk::ctl
