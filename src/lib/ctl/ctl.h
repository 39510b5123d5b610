#pragma once
// sriovctl subcommands. Each Add*Command registers one subcommand (with its
// flags and --help text) on the CLI11 app and, when the user selects it,
// stores the function that runs it in *run. The function returns the process
// exit code (lib/base/exit_code.h); output goes to the given streams.
//
// Global flags live in CtlOptions and are shared by all subcommands:
//   --sysfs-root (env SRIOVKIT_SYSFS_ROOT), --proc-root (SRIOVKIT_PROC_ROOT),
//   --dev-root (SRIOVKIT_DEV_ROOT); each defaults to "/".

#include <functional>
#include <iosfwd>
#include <string>

namespace CLI {
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

// Adds the global flags above to `app`.
void AddGlobalFlags(CLI::App& app, CtlOptions& opts);

}  // namespace sk::ctl
