// sriovkit-node: the SR-IOV config daemon (one per node), or with
// --controller the leader-elected SriovNetwork -> NAD controller. Glue only:
// flags -> options -> NodeDaemon::Run (or one SyncFromApi with --once) or
// ElectedNadController::Run, until SIGTERM/SIGINT. See docs/nodeconfig.md.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/base/strings.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "lib/nodedaemon/daemon.h"
#include "lib/nodedaemon/kernel_reboot_need.h"
#include "lib/nodedaemon/nad_controller.h"
#include "lib/sysfs/sysfs.h"
#include "lib/version/version.h"

namespace {

int Fail(const absl::Status& s) {
  std::cerr << "sriovkit-node: " << s.message() << "\n";
  return sk::ExitCodeForStatus(s);
}

std::string DefaultNodeName() {
  if (const char* n = std::getenv("NODE_NAME"); n != nullptr && *n != '\0')
    return n;
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
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
  // it failed at start: then wake the signal thread ourselves.
  if (!s.ok()) pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  return s.ok() ? sk::kExitOk : Fail(s);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    namespace nd = sk::nodedaemon;
    nd::DaemonOptions o;
    o.node_name = DefaultNodeName();
    std::string kubeconfig;
    bool once = false;
    CLI::App app{
        "sriovkit-node: applies SriovNetworkNodePolicies to this "
        "node and publishes its SriovNetworkNodeState"};
    app.set_version_flag("--version",
                         sk::version::VersionLine("sriovkit-node"));
    app.add_option("--kubeconfig", kubeconfig,
                   "kubeconfig file (default: the in-cluster service account)");
    app.add_option("--node-name", o.node_name,
                   "This node (default: $NODE_NAME, else the host name)");
    app.add_option("--namespace", o.namespace_name,
                   "Where the operator's objects live")
        ->capture_default_str();
    bool controller = false;
    app.add_flag("--controller", controller,
                 "Run the SriovNetwork -> NAD controller (leader-elected on "
                 "the Lease sriovkit-nad-controller) instead of the daemon");
    app.add_option("--device-plugin-config", o.device_plugin_config,
                   "The device plugin's config.json, written when it changes "
                   "(required without --controller)");
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
    bool manage_kernel = false;
    std::filesystem::path root = "/";
    app.add_flag("--manage-kernel-args", manage_kernel,
                 "Make the kernel arguments vfio-pci groups need persistent "
                 "(bootloader) and reboot for them under the cluster-wide "
                 "budget, before configuring VFs (docs/kernel.md)");
    app.add_option("--root", root,
                   "Host root for --manage-kernel-args: proc/cmdline, "
                   "sys/firmware/acpi/tables/ (DMAR/IVRS: the IOMMU vendor), "
                   "proc/cpuinfo, boot/, etc/ (bootloader tools run chrooted "
                   "there when not /)")
        ->capture_default_str();
    app.add_flag("--once", once, "One sync, then exit with its result");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      int rc = app.exit(e);
      return rc == 0 ? sk::kExitOk : sk::kExitUsage;
    }
    if (!controller &&
        (o.device_plugin_config.empty() || app.count("--state-dir") == 0)) {
      std::cerr << "sriovkit-node: --device-plugin-config and --state-dir "
                   "are required without --controller\n";
      return sk::kExitUsage;
    }
    if (o.node_name.empty()) {
      std::cerr << "sriovkit-node: --node-name: no node name ($NODE_NAME "
                   "unset and no host name)\n";
      return sk::kExitUsage;
    }
    o.log = [](std::string_view line) {
      std::cerr << "sriovkit-node: " << line << "\n";
    };
    absl::StatusOr<sk::kube::RestConfig> cfg =
        kubeconfig.empty() ? sk::kube::InClusterConfig()
                           : sk::kube::LoadKubeconfig(kubeconfig);
    if (!cfg.ok()) return Fail(cfg.status());
    // Signals are taken synchronously; every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    auto client = sk::kube::Client::Create(*std::move(cfg));
    if (!client.ok()) return Fail(client.status());
    if (controller) {
      nd::NadControllerOptions co;
      co.namespace_name = o.namespace_name;
      co.log = o.log;
      sk::kube::LeaderElectionOptions le;
      // One identity per process: a replica on the same host is another.
      le.lease.identity = sk::StrCat(DefaultNodeName(), "_", getpid());
      le.lease.duration = std::chrono::seconds(15);  // client-go's default
      nd::ElectedNadController c(**client, co, le);
      return RunUntilSignal(set, c);
    }
    sk::sysfs::Sysfs fs(o.sysfs_root);
    auto os = sk::nodeconfig::MakeHostNodeOs(fs);
    if (!os.ok()) return Fail(os.status());
    sk::nodeconfig::ProcessRunner runner(root);
    std::unique_ptr<nd::KernelRebootNeed> kernel;
    std::unique_ptr<sk::drain::Rebooter> rebooter;
    if (manage_kernel) {
      sk::nodeconfig::KernelInputs in;
      in.root = root;
      kernel = std::make_unique<nd::KernelRebootNeed>(in, runner);
      rebooter = sk::drain::NewSystemctlRebooter();
      o.kernel = kernel.get();
      o.rebooter = rebooter.get();
    }
    nd::NodeDaemon daemon(**client, **os, o);
    if (once) {
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
