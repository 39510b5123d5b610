// sriovkit-node: the SR-IOV config daemon (one per node), or with
// --controller the leader-elected SriovNetwork -> NAD controller. Glue only:
// flags (nodedaemon/command_line.h) -> NodeDaemon::Run (or one SyncFromApi
// with --once) or ElectedNadController::Run, until SIGTERM/SIGINT. See
// docs/nodeconfig.md.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/base/exit_code.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "lib/nodedaemon/command_line.h"
#include "lib/nodedaemon/daemon.h"
#include "lib/nodedaemon/kernel_reboot_need.h"
#include "lib/nodedaemon/nad_controller.h"
#include "lib/sysfs/sysfs.h"

namespace {

int Fail(const absl::Status& s) {
  std::cerr << "sriovkit-node: " << s.message() << "\n";
  return sk::ExitCodeForStatus(s);
}

// Runs `r` until SIGTERM/SIGINT (blocked in `set`) stops it.
template <typename Runner>
int RunUntilSignal(sigset_t set, Runner& r) {
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    std::cerr << "sriovkit-node: signal " << sig << ": stopping\n";
    r.Stop();
  });
  absl::Status s = r.Run();
  // Run only returns after Stop(), i.e. after the signal thread ran, unless
  // it failed at start: then wake the signal thread ourselves (SIGTERM is
  // blocked in every thread, so it only ends the sigwait).
  // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
  if (!s.ok()) pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  return s.ok() ? sk::kExitOk : Fail(s);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    namespace nd = sk::nodedaemon;
    auto cl = nd::ParseCommandLine(
        argv[0], std::vector<std::string>(argv + 1, argv + argc),
        nd::DefaultNodeName());
    if (!cl.ok()) {
      std::cerr << cl.status().message() << "\n";
      return sk::kExitUsage;
    }
    if (cl->exit_early) {
      std::cout << cl->output;
      return sk::kExitOk;
    }
    nd::DaemonOptions& o = cl->options;
    o.log = [](std::string_view line) {
      std::cerr << "sriovkit-node: " << line << "\n";
    };
    absl::StatusOr<sk::kube::RestConfig> cfg =
        cl->kubeconfig.empty() ? sk::kube::InClusterConfig()
                               : sk::kube::LoadKubeconfig(cl->kubeconfig);
    if (!cfg.ok()) return Fail(cfg.status());
    // Signals are taken synchronously; every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    auto client = sk::kube::Client::Create(*std::move(cfg));
    if (!client.ok()) return Fail(client.status());
    if (cl->controller) {
      nd::ControllerSettings c =
          nd::ControllerSettingsFor(*cl, nd::DefaultNodeName(), getpid());
      nd::ElectedNadController controller(**client, c.options, c.election);
      return RunUntilSignal(set, controller);
    }
    sk::sysfs::Sysfs fs(o.sysfs_root);
    auto os = sk::nodeconfig::MakeHostNodeOs(fs);
    if (!os.ok()) return Fail(os.status());
    sk::nodeconfig::ProcessRunner runner(cl->root);
    std::unique_ptr<nd::KernelRebootNeed> kernel;
    std::unique_ptr<sk::drain::Rebooter> rebooter;
    if (cl->manage_kernel_args) {
      sk::nodeconfig::KernelInputs in;
      in.root = cl->root;
      kernel = std::make_unique<nd::KernelRebootNeed>(in, runner);
      rebooter = sk::drain::NewSystemctlRebooter();
      o.kernel = kernel.get();
      o.rebooter = rebooter.get();
    }
    nd::NodeDaemon daemon(**client, **os, o);
    if (cl->once) {
      nd::SyncResult r = daemon.SyncFromApi();
      for (const std::string& w : r.warnings) o.log("warning: " + w);
      if (!r.status.ok()) return Fail(r.status);
      std::cerr << "sriovkit-node: node " << o.node_name << ": Succeeded\n";
      return sk::kExitOk;
    }
    return RunUntilSignal(set, daemon);
  } catch (const std::exception& e) {
    std::cerr << "sriovkit-node: internal error: " << e.what() << "\n";
    return sk::kExitSoftware;
  }
}
