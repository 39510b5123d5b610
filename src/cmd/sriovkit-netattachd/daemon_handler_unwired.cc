// Placeholder for the daemon's Handler factory until the meta-plugin is wired
// to the Kubernetes API and the kubelet: the daemon refuses to start rather
// than answer CNI calls it cannot serve.
#include "lib/netattach/daemon_options.h"

namespace sk::netattach {

absl::StatusOr<std::unique_ptr<Handler>> MakeDaemonHandler(
    const DaemonOptions& options) {
  (void)options;
  return absl::FailedPreconditionError(
      "sriovkit-netattachd: the meta-plugin handler is not wired yet (no "
      "Kubernetes API or kubelet client in this build)");
}

}  // namespace sk::netattach
