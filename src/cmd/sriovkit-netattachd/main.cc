// sriovkit-netattachd: the node daemon behind the sriov-netattach CNI shim.
// Glue only: flags -> DaemonOptions -> MakeDaemonHandler -> SocketServer,
// until SIGTERM/SIGINT.
#include <pthread.h>
#include <signal.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "lib/base/exit_code.h"
#include "lib/netattach/daemon_handler.h"
#include "lib/netattach/daemon_options.h"
#include "lib/netattach/socket_server.h"
#include "lib/version/version.h"

int main(int argc, char** argv) {
  try {
    namespace na = sk::netattach;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && args[0] == "--version") {
      std::cout << sk::version::VersionLine("sriovkit-netattachd") << "\n";
      return sk::kExitOk;
    }
    auto cl =
        na::ParseDaemonCommandLine(args, na::DaemonEnvironment::FromProcess());
    if (!cl.ok()) {
      std::cerr << "sriovkit-netattachd: " << cl.status().message() << "\n";
      return cl.status().code() == absl::StatusCode::kInvalidArgument
                 ? sk::kExitUsage
                 : sk::ExitCodeForStatus(cl.status());
    }
    if (cl->exit_early) {
      std::cout << cl->output;
      return sk::kExitOk;
    }
    // Signals are taken synchronously; every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    auto log_config = na::DaemonLogConfig(cl->options);
    if (!log_config.ok()) {
      std::cerr << "sriovkit-netattachd: " << log_config.status().message()
                << "\n";
      return sk::ExitCodeForStatus(log_config.status());
    }
    auto log = na::MultusLogger::Open(*log_config);
    if (!log.ok()) {
      std::cerr << "sriovkit-netattachd: " << log.status().message() << "\n";
      return sk::ExitCodeForStatus(log.status());
    }
    auto handler = na::MakeDaemonHandler(cl->options);
    if (!handler.ok()) {
      std::cerr << "sriovkit-netattachd: " << handler.status().message()
                << "\n";
      return sk::ExitCodeForStatus(handler.status());
    }
    na::SocketServerOptions so;
    so.socket_dir = cl->options.socket_dir;
    so.logger = log->get();
    so.extra_allowed_uids.assign(cl->options.allowed_uids.begin(),
                                 cl->options.allowed_uids.end());
    auto server = na::SocketServer::Start(so, handler->get());
    if (!server.ok()) {
      std::cerr << "sriovkit-netattachd: " << server.status().message() << "\n";
      return sk::ExitCodeForStatus(server.status());
    }
    std::cerr << "sriovkit-netattachd: node " << cl->options.node_name
              << ": serving " << (*server)->socket_path().string() << "\n";
    int sig = 0;
    sigwait(&set, &sig);
    std::cerr << "sriovkit-netattachd: signal " << sig << ": stopping\n";
    (*server)->Stop();
    return sk::kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "sriovkit-netattachd: internal error: " << e.what() << "\n";
    return sk::kExitSoftware;
  }
}
