// sriov-device-plugin: drop-in replacement for the SR-IOV network device
// plugin. Glue only: flags -> sk::deviceplugin::Daemon -> exit code.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"
#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/deviceplugin/daemon.h"
#include "lib/deviceplugin/ddp_source.h"
#include "lib/deviceplugin/events.h"
#include "lib/deviceplugin/explain.h"
#include "lib/deviceplugin/ops.h"
#include "lib/deviceplugin/validate.h"
#include "lib/version/version.h"

namespace {

// The Go plugin uses the `flag` package, which accepts "-flag" as well as
// "--flag"; glog's "-v=N" is our --log-level.
std::vector<std::string> NormaliseArgs(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v" && i + 1 < argc) {
      a = std::string("--log-level=") + argv[++i];
    } else if (a.rfind("-v=", 0) == 0) {
      a.replace(0, 3, "--log-level=");
    } else if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
      a.insert(0, 1, '-');
    }
    out.push_back(a);
  }
  std::reverse(out.begin(), out.end());  // CLI11 parses a reversed vector
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"sriov-device-plugin: SR-IOV network device plugin",
                 "sriov-device-plugin"};
    app.set_version_flag("--version",
                         sk::version::VersionLine("sriov-device-plugin"));
    sk::deviceplugin::DaemonOptions o;
    int log_level = 0;
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
    app.add_option("--log-level", log_level, "verbosity (glog -v)");
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
    int rescan_seconds = 600;
    auto* rescan_opt = app.add_option(
        "--rescan-interval", rescan_seconds,
        "seconds between full rediscoveries, a safety net behind the "
        "kernel events (0: off; 60 when not given and kernel events are "
        "off or cannot be opened)");
    rescan_opt->check(CLI::Range(0, 86400))->capture_default_str();
    bool no_kernel_events = false;
    app.add_flag("--no-kernel-events", no_kernel_events,
                 "do not follow kernel uevents and rtnetlink link events "
                 "(periodic rescans only)");
    std::string ops_address;
    app.add_option("--ops-address", ops_address,
                   "serve /healthz, /readyz and /metrics on this loopback "
                   "IP:PORT (e.g. 127.0.0.1:9808); off when empty");
    app.add_option("--wait-node-configured", o.wait_node_configured,
                   "register no pool until this file exists (written by "
                   "sriovkit-node once the node is configured)");
    sk::deviceplugin::DdptoolOptions ddptool;
    app.add_option("--ddptool", ddptool.program,
                   "ddptool for ddpProfiles selectors when devlink has no "
                   "fw.app.name (looked up on PATH; absent: no profile)")
        ->capture_default_str();
    bool explain = false;
    bool json = false;
    app.add_flag("--explain", explain,
                 "print which pool and selector takes each PCI network "
                 "function, or why none does, then exit");
    app.add_flag("--json", json, "with --explain: print JSON");
    try {
      app.parse(NormaliseArgs(argc, argv));
    } catch (const CLI::ParseError& e) {
      int rc = app.exit(e);
      return rc == 0 ? sk::kExitOk : sk::kExitUsage;
    }
    // Every pool without its own resourcePrefix uses this one; a bad value
    // is a bad flag, not 100 dropped pools.
    if (absl::Status st =
            sk::deviceplugin::CheckDnsSubdomain(o.resource_prefix);
        !st.ok()) {
      std::cerr << "--resource-prefix: " << st.message() << "\n";
      return sk::kExitUsage;
    }

    if (explain) {
      auto text = sk::deviceplugin::ExplainHost(
          {.config_file = o.config_file,
           .resource_prefix = o.resource_prefix,
           .sysfs_root = o.sysfs_root.string(),
           .exclude_default_route = o.exclude_default_route,
           .json = json});
      if (!text.ok()) {
        std::cerr << "sriov-device-plugin: " << text.status().message() << "\n";
        return sk::ExitCodeForStatus(text.status());
      }
      std::cout << *text;
      return sk::kExitOk;
    }
    if (!ops_address.empty()) {
      if (auto hp = sk::deviceplugin::ParseLoopbackAddress(ops_address);
          !hp.ok()) {
        std::cerr << "--ops-address: " << hp.status().message() << "\n";
        return sk::kExitUsage;
      }
      o.metrics = std::make_shared<sk::deviceplugin::Metrics>();
    }

    spdlog::set_default_logger(spdlog::stderr_logger_mt("sriovdp"));
    if (!log_dir.empty()) {
      if (log_dir[0] != '/') log_dir = "/var/log/" + log_dir;
      spdlog::default_logger()->sinks().push_back(
          std::make_shared<spdlog::sinks::basic_file_sink_mt>(
              log_dir + "/sriov-device-plugin.log"));
    }
    spdlog::set_level(log_level >= 5 ? spdlog::level::debug
                                     : spdlog::level::info);

    {
      std::vector<std::string> warnings;
      auto facts = sk::deviceplugin::OpenHostFactSources(ddptool, &warnings);
      for (const std::string& w : warnings) spdlog::warn("{}", w);
      o.ddp = facts.ddp;
      o.rdma_param = facts.rdma_param;
    }
    if (no_kernel_events && rescan_opt->count() == 0) rescan_seconds = 60;
    o.rescan_interval = absl::Seconds(rescan_seconds);
    if (!no_kernel_events) {
      std::vector<std::string> partial;
      auto events = sk::deviceplugin::OpenKernelEventSources(&partial);
      for (const std::string& w : partial) {
        spdlog::warn("kernel events: {}", w);
      }
      if (events.ok()) {
        o.events = *std::move(events);
      } else {
        if (rescan_opt->count() == 0) rescan_seconds = 60;
        o.rescan_interval = absl::Seconds(rescan_seconds);
        spdlog::warn("kernel events: {}; relying on rescans every {} s",
                     std::string(events.status().message()), rescan_seconds);
      }
    }

    // Signals are taken synchronously by one thread; every other thread
    // (gRPC's included) inherits the blocked mask.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    sk::deviceplugin::Daemon daemon(o);
    // Declared after `daemon`, so it stops serving before the daemon goes.
    std::unique_ptr<sk::deviceplugin::OpsServer> ops;
    if (o.metrics) {
      auto started = sk::deviceplugin::OpsServer::Start(
          ops_address, [&daemon] { return daemon.GetState(); }, o.metrics);
      if (!started.ok()) {
        spdlog::error("{}", std::string(started.status().message()));
        return sk::ExitCodeForStatus(started.status());
      }
      ops = *std::move(started);
      spdlog::info("ops endpoint on {} (port {})", ops_address, ops->port());
    }
    std::thread signals([&] {
      int sig = 0;
      sigwait(&set, &sig);
      spdlog::info("signal {}: shutting down", sig);
      daemon.Shutdown();
    });
    signals.detach();
    absl::Status s = daemon.Run();
    if (!s.ok()) {
      spdlog::error("{}", std::string(s.message()));
      return sk::ExitCodeForStatus(s);
    }
    spdlog::info("stopped");
    return sk::kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "sriov-device-plugin: internal error: " << e.what() << "\n";
    return sk::kExitSoftware;
  }
}
