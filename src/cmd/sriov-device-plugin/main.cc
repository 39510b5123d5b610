// sriov-device-plugin: drop-in replacement for the SR-IOV network device
// plugin. Glue only: flags (deviceplugin/command_line.h) ->
// sk::deviceplugin::Daemon -> exit code.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

#include "lib/base/exit_code.h"
#include "lib/deviceplugin/command_line.h"
#include "lib/deviceplugin/daemon.h"
#include "lib/deviceplugin/ddp_source.h"
#include "lib/deviceplugin/events.h"
#include "lib/deviceplugin/explain.h"
#include "lib/deviceplugin/ops.h"

int main(int argc, char** argv) {
  try {
    auto cl = sk::deviceplugin::ParseCommandLine(
        std::vector<std::string>(argv + 1, argv + argc));
    if (!cl.ok()) {
      std::cerr << cl.status().message() << "\n";
      return sk::kExitUsage;
    }
    if (cl->exit_early) {
      std::cout << cl->output;
      return sk::kExitOk;
    }
    sk::deviceplugin::DaemonOptions& o = cl->options;

    if (cl->explain) {
      auto text = sk::deviceplugin::ExplainHost(
          {.config_file = o.config_file,
           .resource_prefix = o.resource_prefix,
           .sysfs_root = o.sysfs_root.string(),
           .exclude_default_route = o.exclude_default_route,
           .json = cl->json});
      if (!text.ok()) {
        std::cerr << "sriov-device-plugin: " << text.status().message() << "\n";
        return sk::ExitCodeForStatus(text.status());
      }
      std::cout << *text;
      return sk::kExitOk;
    }
    if (!cl->ops_address.empty()) {
      o.metrics = std::make_shared<sk::deviceplugin::Metrics>();
    }

    spdlog::set_default_logger(spdlog::stderr_logger_mt("sriovdp"));
    if (!cl->log_file.empty()) {
      spdlog::default_logger()->sinks().push_back(
          std::make_shared<spdlog::sinks::basic_file_sink_mt>(cl->log_file));
    }
    spdlog::set_level(cl->log_level >= 5 ? spdlog::level::debug
                                         : spdlog::level::info);

    {
      std::vector<std::string> warnings;
      auto facts =
          sk::deviceplugin::OpenHostFactSources(cl->ddptool, &warnings);
      for (const std::string& w : warnings) spdlog::warn("{}", w);
      o.ddp = facts.ddp;
      o.rdma_param = facts.rdma_param;
    }
    if (cl->kernel_events) {
      std::vector<std::string> partial;
      auto events = sk::deviceplugin::OpenKernelEventSources(&partial);
      for (const std::string& w : partial) {
        spdlog::warn("kernel events: {}", w);
      }
      if (events.ok()) {
        o.events = *std::move(events);
      } else {
        spdlog::warn(
            "kernel events: {}; relying on rescans every {} s",
            std::string(events.status().message()),
            absl::ToInt64Seconds(sk::deviceplugin::RescanInterval(*cl, false)));
      }
    }
    o.rescan_interval =
        sk::deviceplugin::RescanInterval(*cl, o.events != nullptr);

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
          cl->ops_address, [&daemon] { return daemon.GetState(); }, o.metrics);
      if (!started.ok()) {
        spdlog::error("{}", std::string(started.status().message()));
        return sk::ExitCodeForStatus(started.status());
      }
      ops = *std::move(started);
      spdlog::info("ops endpoint on {} (port {})", cl->ops_address,
                   ops->port());
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
