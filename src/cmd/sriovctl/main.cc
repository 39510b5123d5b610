// sriovctl: the sriovkit admin CLI. Glue only: flags -> library -> exit code.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/ctl/ctl.h"
#include "lib/ctl/doctor_cmd.h"
#include "lib/ctl/explain_cmd.h"
#include "lib/ctl/install_cni_cmd.h"
#include "lib/ctl/inventory_cmd.h"
#include "lib/ctl/kubevirt_cmd.h"
#include "lib/ctl/nodeconfig_cmd.h"

int main(int argc, char** argv) {
  try {
    CLI::App app{"sriovctl: SR-IOV for VMs on Kubernetes, admin CLI",
                 "sriovctl"};
    app.require_subcommand(1);
    sk::ctl::CtlOptions opts;
    sk::ctl::RunFn run;
    // Subcommands (each registers itself and sets `run` when selected).
    // SK_CTL_COMMANDS_BEGIN
    sk::ctl::AddDoctorCommand(app, opts, &run);
    sk::ctl::AddKubevirtCommand(app, opts, &run);
    sk::ctl::AddInventoryCommand(app, opts, &run);
    sk::ctl::AddExplainCommand(app, opts, &run);
    sk::ctl::AddApplyCommand(app, opts, &run);
    sk::ctl::AddRenderCommand(app, opts, &run);
    sk::ctl::AddInstallCniCommand(app, opts, &run);
    // SK_CTL_COMMANDS_END
    // After the subcommands: every one of them gets the global flags.
    sk::ctl::AddGlobalFlags(app, opts);
    sk::ctl::Io io{&std::cout, &std::cerr};
    return sk::ctl::ParseAndRun(
        app, std::vector<std::string>(argv + 1, argv + argc), run, io);
  } catch (const std::exception& e) {
    std::cerr << "sriovctl: internal error: " << e.what() << "\n";
    return sk::kExitSoftware;
  }
}
