#include "lib/nodedaemon/command_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lib/base/cli_early_exit.h"
#include "lib/base/strings.h"
#include "lib/version/version.h"

namespace sk::nodedaemon {

std::string DefaultNodeName() {
  // Read before any thread starts; nothing here sets the environment.
  const char* n = std::getenv("NODE_NAME");  // NOLINT(concurrency-mt-unsafe)
  if (n != nullptr && *n != '\0') return n;
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

absl::StatusOr<CommandLine> ParseCommandLine(
    std::string_view program, const std::vector<std::string>& args,
    std::string default_node_name) {
  CommandLine out;
  DaemonOptions& o = out.options;
  o.node_name = std::move(default_node_name);
  CLI::App app{
      "sriovkit-node: applies SriovNetworkNodePolicies to this "
      "node and publishes its SriovNetworkNodeState"};
  app.set_version_flag("--version", sk::version::VersionLine("sriovkit-node"));
  app.add_option("--kubeconfig", out.kubeconfig,
                 "kubeconfig file (default: the in-cluster service account)");
  app.add_option("--node-name", o.node_name,
                 "This node (default: $NODE_NAME, else the host name)");
  app.add_option("--namespace", o.namespace_name,
                 "Where the operator's objects live")
      ->capture_default_str();
  app.add_flag("--controller", out.controller,
               "Run the SriovNetwork -> NAD controller (leader-elected on "
               "the Lease sriovkit-nad-controller) instead of the daemon");
  app.add_option("--device-plugin-config", o.device_plugin_config,
                 "The device plugin's config.json, written when it changes "
                 "(required without --controller)");
  CLI::Option* state_dir =
      app.add_option("--state-dir", o.state_dir,
                     "Where sriovkit records the PFs it configured (required "
                     "without --controller)");
  app.add_option("--cni-state-dir", o.cni_state_dir,
                 "The SR-IOV CNI state directory (VFs in use)")
      ->capture_default_str();
  app.add_option("--sysfs-root", o.sysfs_root, "Root of /sys")
      ->capture_default_str();
  app.add_option("--proc-root", o.proc_root, "Root of /proc")
      ->capture_default_str();
  app.add_flag("--allow-drain", o.allow_drain,
               "When a change would destroy or rebind VFs in use: cordon, "
               "evict only the pods holding them, apply, uncordon "
               "(without it the pods are reported and the change waits)");
  app.add_flag("--force", o.force,
               "After a reboot whose kernel arguments did not take effect "
               "(node Failed): reboot once more");
  o.configured_file = "/run/sriovkit/node-configured";
  app.add_option("--configured-file", o.configured_file,
                 "Written after a sync applied everything, removed while "
                 "the node is being changed (the device plugin's "
                 "--wait-node-configured); \"\" disables it")
      ->capture_default_str();
  app.add_flag("--manage-kernel-args", out.manage_kernel_args,
               "Make the kernel arguments vfio-pci groups need persistent "
               "(bootloader) and reboot for them under the cluster-wide "
               "budget, before configuring VFs (docs/kernel.md)");
  app.add_option("--root", out.root,
                 "Host root for --manage-kernel-args: proc/cmdline, "
                 "sys/firmware/acpi/tables/ (DMAR/IVRS: the IOMMU vendor), "
                 "proc/cpuinfo, boot/, etc/ (bootloader tools run chrooted "
                 "there when not /)")
      ->capture_default_str();
  app.add_flag("--once", out.once, "One sync, then exit with its result");
  // App::parse(argc, argv) takes the program name the help text shows from
  // argv[0].
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  const std::string program_name(program);
  argv.push_back(program_name.c_str());
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    absl::StatusOr<std::string> early = CliEarlyExit(app, e);
    if (!early.ok()) return early.status();
    out.exit_early = true;
    out.output = *std::move(early);
    return out;
  }
  if (!out.controller &&
      (o.device_plugin_config.empty() || state_dir->count() == 0)) {
    return absl::InvalidArgumentError(
        "sriovkit-node: --device-plugin-config and --state-dir are required "
        "without --controller");
  }
  if (o.node_name.empty()) {
    return absl::InvalidArgumentError(
        "sriovkit-node: --node-name: no node name ($NODE_NAME unset and no "
        "host name)");
  }
  return out;
}

ControllerSettings ControllerSettingsFor(const CommandLine& cl,
                                         std::string_view host, int pid) {
  ControllerSettings s;
  s.options.namespace_name = cl.options.namespace_name;
  s.options.log = cl.options.log;
  s.election.lease.identity = sk::StrCat(host, "_", pid);
  s.election.lease.duration = std::chrono::seconds(15);  // client-go's default
  return s;
}

}  // namespace sk::nodedaemon
