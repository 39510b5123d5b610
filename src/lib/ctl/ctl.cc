#include "lib/ctl/ctl.h"

#include <cstdlib>
#include <ostream>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/base/strings.h"

namespace sk::ctl {
namespace {

constexpr char kGlobalGroup[] = "Global options";

struct GlobalFlag {
  const char* name;
  std::string CtlOptions::*field;
  const char* env;
  const char* help;
};

constexpr GlobalFlag kGlobalFlags[] = {
    {"--sysfs-root", &CtlOptions::sysfs_root, "SRIOVKIT_SYSFS_ROOT",
     "Root under which sys/ is read"},
    {"--proc-root", &CtlOptions::proc_root, "SRIOVKIT_PROC_ROOT",
     "Root under which proc/ is read"},
    {"--dev-root", &CtlOptions::dev_root, "SRIOVKIT_DEV_ROOT",
     "Root under which dev/ is read"},
};

// Every app in the tree gets its own copy of each flag, bound to the same
// CtlOptions field. CLI11 runs a parent's option callbacks before its
// subcommands', so a flag given after a subcommand overrides one before it.
// The environment is read once in AddGlobalFlags rather than through
// CLI11's envname: CLI11 would apply it to every copy not given on the
// command line, after the copy that was.
void AddToTree(CLI::App& app, CtlOptions& opts) {
  for (const GlobalFlag& f : kGlobalFlags) {
    app.add_option(f.name, opts.*f.field,
                   sk::StrCat(f.help, " (env ", f.env, "; default /)"))
        ->type_name("DIR")
        ->group(kGlobalGroup);
  }
  app.set_version_flag("--version", kVersion)->group(kGlobalGroup);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) AddToTree(*sub, opts);
  }
}

}  // namespace

void AddGlobalFlags(CLI::App& app, CtlOptions& opts) {
  for (const GlobalFlag& f : kGlobalFlags) {
    const char* v = std::getenv(f.env);
    if (v != nullptr && *v != '\0') opts.*f.field = v;
  }
  AddToTree(app, opts);
}

int ParseAndRun(CLI::App& app, const std::vector<std::string>& args,
                const RunFn& run, const Io& io) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      app.exit(e, *io.out, *io.err);
      return kExitOk;
    }
    app.exit(e, *io.out, *io.err);
    return kExitUsage;
  }
  if (!run) return kExitUsage;
  return run(io);
}

}  // namespace sk::ctl
