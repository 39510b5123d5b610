#pragma once

// sriovkit-node's command line, parsed and checked, and the settings of its
// two modes that follow from it.
//
//   sriovkit-node [--kubeconfig FILE] [--node-name NAME] [--namespace NS]
//       (--controller | --device-plugin-config FILE --state-dir DIR)
//       [--cni-state-dir DIR] [--sysfs-root DIR] [--proc-root DIR]
//       [--allow-drain] [--force] [--configured-file FILE]
//       [--manage-kernel-args [--root DIR]] [--once] [--help] [--version]
//
// Defaults are the DaemonOptions field initialisers, except the node name
// (DefaultNodeName()) and the configured file (/run/sriovkit/node-configured).
//
//   absl::StatusOr<CommandLine> cl =
//       ParseCommandLine(argv[0], {argv + 1, argv + argc}, DefaultNodeName());
//   if (!cl.ok()) { std::cerr << cl.status().message() << "\n";
//                   return kExitUsage; }
//   if (cl->exit_early) { std::cout << cl->output; return kExitOk; }
//   if (cl->controller) { ...ElectedNadController with
//                         ControllerSettings(*cl, host, getpid())... }
//   else { ...NodeDaemon with cl->options... }

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/kube/leader_election.h"
#include "lib/nodedaemon/daemon.h"
#include "lib/nodedaemon/nad_controller.h"

namespace sk::nodedaemon {

struct CommandLine {
  // Everything the NodeDaemon takes from flags; `log`, `kernel` and
  // `rebooter` are left for the caller to set.
  DaemonOptions options;
  // --kubeconfig; empty: the in-cluster service account.
  std::string kubeconfig;
  // --controller: run the SriovNetwork -> NAD controller instead of the
  // daemon.
  bool controller = false;
  // --once: one sync, then exit with its result.
  bool once = false;
  // --manage-kernel-args, and --root: the host root it works under.
  bool manage_kernel_args = false;
  std::filesystem::path root = "/";
  // --help or --version: print `output` and exit 0 without starting.
  bool exit_early = false;
  std::string output;
};

// $NODE_NAME when set and not empty, else the host name, else "".
std::string DefaultNodeName();

// Parses `args` (without argv[0]; `program` is argv[0], which the --help
// text names). `default_node_name` is --node-name's default. InvalidArgument,
// with the message exactly as the binary prints it on stderr (without the
// final newline), for:
// - a usage error CLI11 finds (unknown flag, missing value, a value
//   given to a flag): CLI11's text and "Run with --help for more
//   information.";
// - without --controller, no --device-plugin-config or no --state-dir:
//   "sriovkit-node: --device-plugin-config and --state-dir are required
//   without --controller";
// - an empty node name: "sriovkit-node: --node-name: no node name
//   ($NODE_NAME unset and no host name)".
absl::StatusOr<CommandLine> ParseCommandLine(
    std::string_view program, const std::vector<std::string>& args,
    std::string default_node_name);

// What --controller runs with: the daemon's namespace and log, and the Lease
// held as "<host>_<pid>" (one identity per process: a replica on the same
// host is another) for 15 s, client-go's default.
struct ControllerSettings {
  NadControllerOptions options;
  kube::LeaderElectionOptions election;
};
ControllerSettings ControllerSettingsFor(const CommandLine& cl,
                                         std::string_view host, int pid);

}  // namespace sk::nodedaemon
