// sriovctl: the sriovkit admin CLI. Glue only: flags -> library -> exit code.
#include <iostream>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/ctl/ctl.h"
#include "lib/ctl/doctor_cmd.h"
#include "lib/ctl/inventory_cmd.h"
#include "lib/ctl/kubevirt_cmd.h"

int main(int argc, char** argv) {
  try {
    CLI::App app{"sriovctl: SR-IOV for VMs on Kubernetes, admin CLI"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "sriovctl 0.1.0");
    sk::ctl::CtlOptions opts;
    sk::ctl::AddGlobalFlags(app, opts);
    sk::ctl::RunFn run;
    // Subcommands (each registers itself and sets `run` when selected).
    // SK_CTL_COMMANDS_BEGIN
    sk::ctl::AddDoctorCommand(app, opts, &run);
    sk::ctl::AddKubevirtCommand(app, opts, &run);
    sk::ctl::AddInventoryCommand(app, opts, &run);
    // SK_CTL_COMMANDS_END
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      int rc = app.exit(e);
      return rc == 0 ? sk::kExitOk : sk::kExitUsage;
    }
    if (!run) return sk::kExitUsage;
    sk::ctl::Io io{&std::cout, &std::cerr};
    return run(io);
  } catch (const std::exception& e) {
    std::cerr << "sriovctl: internal error: " << e.what() << "\n";
    return sk::kExitSoftware;
  }
}
