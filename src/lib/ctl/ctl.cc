#include "lib/ctl/ctl.h"

#include <CLI/CLI.hpp>

namespace sk::ctl {

void AddGlobalFlags(CLI::App& app, CtlOptions& opts) {
  app.add_option("--sysfs-root", opts.sysfs_root,
                 "Root under which sys/ is read (default /)")
      ->envname("SRIOVKIT_SYSFS_ROOT");
  app.add_option("--proc-root", opts.proc_root,
                 "Root under which proc/ is read (default /)")
      ->envname("SRIOVKIT_PROC_ROOT");
  app.add_option("--dev-root", opts.dev_root,
                 "Root under which dev/ is read (default /)")
      ->envname("SRIOVKIT_DEV_ROOT");
}

}  // namespace sk::ctl
