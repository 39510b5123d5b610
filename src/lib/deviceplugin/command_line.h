#pragma once

// sriov-device-plugin's command line, parsed and checked, and the rule that
// picks the periodic rescan interval.
//
//   sriov-device-plugin [--config-file FILE] [--resource-prefix PREFIX]
//       [--use-cdi] [--log-level N] [--log-dir DIR] [--sysfs-root DIR]
//       [--device-plugin-path DIR] [--plugins-registry-path DIR]
//       [--devinfo-dir DIR] [--cdi-dir DIR] [--exclude-default-route BOOL]
//       [--rescan-interval SECONDS] [--no-kernel-events]
//       [--ops-address IP:PORT] [--wait-node-configured FILE]
//       [--ddptool PROGRAM] [--explain [--json]] [--help] [--version]
//
// As upstream's Go `flag` package, a flag may also be spelt with one dash
// ("-config-file"), and glog's "-v N" / "-v=N" are --log-level; glog's
// -logtostderr, -alsologtostderr and -stderrthreshold are accepted and
// ignored (the daemon always logs to stderr). Defaults are the
// DaemonOptions field initialisers.
//
//   absl::StatusOr<CommandLine> cl = ParseCommandLine(args);
//   if (!cl.ok()) { std::cerr << cl.status().message() << "\n";
//                   return kExitUsage; }
//   if (cl->exit_early) { std::cout << cl->output; return kExitOk; }
//   ...open kernel events unless !cl->kernel_events...
//   cl->options.rescan_interval = RescanInterval(*cl, events_open);

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "lib/deviceplugin/daemon.h"
#include "lib/deviceplugin/ddp_source.h"

namespace sk::deviceplugin {

struct CommandLine {
  // Everything the Daemon takes from flags; the sources (events, ddp,
  // rdma_param, metrics) are left for the caller to open.
  // options.rescan_interval is RescanInterval(*this, kernel_events).
  DaemonOptions options;
  // --log-level (glog -v); 5 and above log at debug level.
  int log_level = 0;
  // <--log-dir>/sriov-device-plugin.log, a relative --log-dir taken under
  // /var/log; empty without --log-dir (stderr only).
  std::string log_file;
  // --ops-address; empty: no ops endpoint.
  std::string ops_address;
  DdptoolOptions ddptool;
  // --explain: print which pool takes each PCI function, then exit;
  // --json: as JSON.
  bool explain = false;
  bool json = false;
  // False with --no-kernel-events.
  bool kernel_events = true;
  // --rescan-interval (0..86400; 0: off) and whether it was given.
  int rescan_seconds = 600;
  bool rescan_given = false;
  // --help or --version: print `output` and exit 0 without starting.
  bool exit_early = false;
  std::string output;
};

// Parses `args` (without argv[0]). InvalidArgument, with a message ready for
// stderr, for:
// - a usage error CLI11 finds (unknown flag, bad or missing value, a
//   --rescan-interval out of range, a flag given twice such as "-v=3 -v=4"):
//   CLI11's text and "Run with --help for more information.";
// - a --resource-prefix that is not a DNS subdomain: "--resource-prefix: "
//   and CheckDnsSubdomain's message naming the value;
// - unless --explain (which serves nothing), an --ops-address that is not a
//   loopback IP:PORT: "--ops-address: " and ParseLoopbackAddress's message
//   naming the value.
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args);

// The periodic rescan interval: --rescan-interval when given; otherwise 600 s
// while kernel events are followed, and 60 s when they are not
// (`kernel_events_open` false: --no-kernel-events, or they could not be
// opened), as the rescans are then the only way to see a change.
absl::Duration RescanInterval(const CommandLine& cl, bool kernel_events_open);

}  // namespace sk::deviceplugin
