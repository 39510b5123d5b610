#pragma once

// sriovkit-netattachd's command line, parsed and checked, and the seam where
// the daemon gets its Handler.
//
//   sriovkit-netattachd [--kubeconfig FILE] [--node-name NAME]
//       [--socket-dir DIR] [--config FILE] [--pod-resources-socket PATH]
//       [--kubelet-checkpoint PATH] [--cni-bin-dir DIR] [--cni-conf-dir DIR]
//       [--cache-dir DIR] [--devinfo-dir DIR] [--allowed-uid UID]...
//
// Every path is overridable so that the daemon runs unprivileged against
// stand-ins. Defaults are the DaemonOptions field initialisers; the node
// name defaults to $NODE_NAME, else the host name lowercased (as kubelet
// names its node: k8s.io/component-helpers nodeutil.GetHostname).
//
//   DaemonEnvironment env = DaemonEnvironment::FromProcess();
//   absl::StatusOr<DaemonCommandLine> cl = ParseDaemonCommandLine(args, env);
//   if (!cl.ok()) { std::cerr << cl.status().message(); return kExitUsage; }
//   if (cl->exit_early) { std::cout << cl->output; return kExitOk; }

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/netattach/sources.h"

namespace sk::netattach {

struct DaemonOptions {
  // Empty: in-cluster config (KUBERNETES_SERVICE_HOST and the service
  // account).
  std::string kubeconfig;
  std::string node_name;
  std::string socket_dir = "/run/sriovkit/netattach";
  // The Multus-style keys (clusterNetwork, confDir, binDir, ...). Empty:
  // Multus's defaults.
  std::string config_file;
  std::string pod_resources_socket =
      "/var/lib/kubelet/pod-resources/kubelet.sock";
  std::string kubelet_checkpoint =
      "/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint";
  std::string cni_bin_dir = "/opt/cni/bin";
  std::string cni_conf_dir = "/etc/cni/net.d";
  // Delegate results for DEL and CHECK (libcni's cache is /var/lib/cni).
  std::string cache_dir = "/var/lib/cni/sriovkit-netattach";
  // Device-information files (device-info-spec): the device plugin's under
  // dp/, the per-attachment copies under cni/.
  std::string devinfo_dir = "/var/run/k8s.cni.cncf.io/devinfo";
  // --allowed-uid (repeatable): shim peers served besides root and the
  // daemon's own uid (SocketServerOptions::extra_allowed_uids).
  std::vector<uint32_t> allowed_uids;
};

// Where defaults come from besides the flags; injectable for tests.
struct DaemonEnvironment {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<absl::StatusOr<std::string>()> hostname;
  static DaemonEnvironment FromProcess();
};

struct DaemonCommandLine {
  DaemonOptions options;
  // --help or --version: print `output` and exit 0 without starting.
  bool exit_early = false;
  std::string output;
};

// Parses `args` (without argv[0]). InvalidArgument naming the flag and the
// value for an unknown flag, a missing or extra value, an empty or relative
// path, a node name that is not a DNS subdomain (RFC 1123, at most 253
// characters), or a socket path over the 107-byte unix limit; NotFound when
// no node name can be found (no flag, no $NODE_NAME, no host name).
absl::StatusOr<DaemonCommandLine> ParseDaemonCommandLine(
    const std::vector<std::string>& args, const DaemonEnvironment& env);

// The daemon's request handler (the Multus-role meta-plugin over the
// Kubernetes API and the kubelet), built from the options. Errors are the
// reason the daemon cannot start; the daemon exits with
// sk::ExitCodeForStatus of it.
absl::StatusOr<std::unique_ptr<Handler>> MakeDaemonHandler(
    const DaemonOptions& options);

}  // namespace sk::netattach
