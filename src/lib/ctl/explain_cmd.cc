#include "lib/ctl/explain_cmd.h"

#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/deviceplugin/explain.h"

namespace sk::ctl {

void AddExplainCommand(CLI::App& app, const CtlOptions& opts, RunFn* run) {
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "For every PCI network function under --sysfs-root: which "
      "device-plugin pool and selector take it, or why it is left out.");
  auto o = std::make_shared<deviceplugin::ExplainOptions>();
  cmd->add_option("--config", o->config_file, "the device plugin's config.json")
      ->required();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_option("--resource-prefix", o->resource_prefix,
                  "default resource prefix (as the plugin's flag)")
      ->capture_default_str();
  cmd->add_option("--exclude-default-route", o->exclude_default_route,
                  "leave out devices whose netdev has the IPv4 default route")
      ->capture_default_str();
  cmd->callback([o, &opts, run]() {
    *run = [o, &opts](const Io& io) {
      deviceplugin::ExplainOptions e = *o;
      e.sysfs_root = opts.sysfs_root;
      auto text = deviceplugin::ExplainHost(e);
      if (!text.ok()) {
        *io.err << "sriovctl explain: " << text.status().message() << "\n";
        return ExitCodeForStatus(text.status());
      }
      *io.out << *text;
      return kExitOk;
    };
  });
}

}  // namespace sk::ctl
