#include "lib/deviceplugin/command_line.h"

#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lib/base/cli_early_exit.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/ops.h"
#include "lib/deviceplugin/validate.h"
#include "lib/version/version.h"

namespace sk::deviceplugin {
namespace {

// The Go plugin uses the `flag` package, which accepts "-flag" as well as
// "--flag"; glog's "-v=N" is our --log-level. Returned reversed, as
// CLI11's App::parse takes a vector.
std::vector<std::string> NormaliseArgs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "-v" && i + 1 < args.size()) {
      a = "--log-level=" + args[++i];
    } else if (a.rfind("-v=", 0) == 0) {
      a.replace(0, 3, "--log-level=");
    } else if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
      a.insert(0, 1, '-');
    }
    out.push_back(a);
  }
  return {out.rbegin(), out.rend()};
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args) {
  CommandLine out;
  DaemonOptions& o = out.options;
  CLI::App app{"sriov-device-plugin: SR-IOV network device plugin",
               "sriov-device-plugin"};
  app.set_version_flag("--version",
                       sk::version::VersionLine("sriov-device-plugin"));
  std::string log_dir;
  bool ignored = false;
  std::string ignored_s;
  app.add_option("--config-file,--config", o.config_file, "config.json path")
      ->capture_default_str();
  app.add_option("--resource-prefix", o.resource_prefix,
                 "default resource prefix")
      ->capture_default_str();
  app.add_flag("--use-cdi", o.server.service.use_cdi,
               "hand devices out through CDI specs");
  app.add_option("--log-level", out.log_level, "verbosity (glog -v)");
  app.add_option("--log-dir,--log_dir", log_dir,
                 "also log to <dir>/sriov-device-plugin.log "
                 "(relative: under /var/log)");
  app.add_flag("--logtostderr,--alsologtostderr", ignored,
               "accepted for compatibility (always logs to stderr)");
  app.add_option("--stderrthreshold", ignored_s, "accepted, ignored");
  app.add_option("--sysfs-root", o.sysfs_root, "root of /sys, /proc, /dev")
      ->capture_default_str();
  app.add_option("--device-plugin-path", o.server.device_plugin_dir,
                 "kubelet device-plugin directory (kubelet.sock)")
      ->capture_default_str();
  app.add_option("--plugins-registry-path", o.server.plugins_registry_dir,
                 "plugin-watcher directory (used when it exists)")
      ->capture_default_str();
  app.add_option("--devinfo-dir", o.server.service.devinfo_dir,
                 "device-info files directory")
      ->capture_default_str();
  app.add_option("--cdi-dir", o.server.service.cdi_dir, "CDI spec directory")
      ->capture_default_str();
  app.add_option("--exclude-default-route", o.exclude_default_route,
                 "hide devices whose netdev has the IPv4 default route")
      ->capture_default_str();
  CLI::Option* rescan = app.add_option(
      "--rescan-interval", out.rescan_seconds,
      "seconds between full rediscoveries, a safety net behind the "
      "kernel events (0: off; 60 when not given and kernel events are "
      "off or cannot be opened)");
  rescan->check(CLI::Range(0, 86400))->capture_default_str();
  bool no_kernel_events = false;
  app.add_flag("--no-kernel-events", no_kernel_events,
               "do not follow kernel uevents and rtnetlink link events "
               "(periodic rescans only)");
  app.add_option("--ops-address", out.ops_address,
                 "serve /healthz, /readyz and /metrics on this loopback "
                 "IP:PORT (e.g. 127.0.0.1:9808); off when empty");
  app.add_option("--wait-node-configured", o.wait_node_configured,
                 "register no pool until this file exists (written by "
                 "sriovkit-node once the node is configured)");
  app.add_option("--ddptool", out.ddptool.program,
                 "ddptool for ddpProfiles selectors when devlink has no "
                 "fw.app.name (looked up on PATH; absent: no profile)")
      ->capture_default_str();
  app.add_flag("--explain", out.explain,
               "print which pool and selector takes each PCI network "
               "function, or why none does, then exit");
  app.add_flag("--json", out.json, "with --explain: print JSON");
  try {
    app.parse(NormaliseArgs(args));
  } catch (const CLI::ParseError& e) {
    absl::StatusOr<std::string> early = CliEarlyExit(app, e);
    if (!early.ok()) return early.status();
    out.exit_early = true;
    out.output = *std::move(early);
    return out;
  }

  // Every pool without its own resourcePrefix uses this one; a bad value
  // is a bad flag, not 100 dropped pools.
  if (absl::Status st = CheckDnsSubdomain(o.resource_prefix); !st.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat("--resource-prefix: ", st.message()));
  }
  if (!out.explain && !out.ops_address.empty()) {
    if (auto hp = ParseLoopbackAddress(out.ops_address); !hp.ok()) {
      return absl::InvalidArgumentError(
          sk::StrCat("--ops-address: ", hp.status().message()));
    }
  }
  if (!log_dir.empty()) {
    if (log_dir[0] != '/') log_dir = "/var/log/" + log_dir;
    out.log_file = log_dir + "/sriov-device-plugin.log";
  }
  out.kernel_events = !no_kernel_events;
  out.rescan_given = rescan->count() > 0;
  o.rescan_interval = RescanInterval(out, out.kernel_events);
  return out;
}

absl::Duration RescanInterval(const CommandLine& cl, bool kernel_events_open) {
  if (!cl.rescan_given && !kernel_events_open) return absl::Seconds(60);
  return absl::Seconds(cl.rescan_seconds);
}

}  // namespace sk::deviceplugin
