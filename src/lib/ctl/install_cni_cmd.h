#pragma once
// `sriovctl install-cni --bin-dir DIR [--conf-dir DIR] [--kubeconfig-out F]`:
// what Multus's installer does for its plugin (multus-cni
// images/entrypoint.sh; deployments/multus-daemonset.yml's init container),
// for sriovkit's CNI binaries and meta-plugin:
//
//   1. copies `sriov` and `sriov-netattach` from --source-dir into --bin-dir,
//      each atomically: a temp file in --bin-dir, fsync, rename over the old
//      one, fsync of the directory. A plugin the runtime is executing keeps
//      its old inode, so a running exec is never broken;
//   2. with --conf-dir, writes 00-sriovkit-netattach.conflist there: the
//      meta-plugin (type sriov-netattach) with the cluster network inlined
//      as its delegate, taken from the first other *.conf / *.conflist /
//      *.json file in lexical order (Multus's auto-config), its cniVersion
//      carried over; no such file is Unavailable (the init container
//      retries until the cluster network is installed);
//   3. with --conf-dir, writes the kubeconfig (mode 0600; default
//      <conf-dir>/sriovkit-netattach.d/sriovkit-netattach.kubeconfig) from
//      the in-cluster service account (token, ca.crt) and
//      KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, as Multus's
//      installer writes multus.kubeconfig. In a container that sees the
//      host's directories under another root, --kubeconfig-host-path is
//      the path the conflist names.
//
// Idempotent: a file whose bytes and mode are already right is left alone
// (its inode unchanged); the report names each file "installed" or
// "unchanged", and a run that changes nothing says so. Paths are never
// followed through a symlink: a symlink at a destination is replaced, one
// in place of a directory is refused.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/ctl/ctl.h"

namespace sk::ctl {

inline constexpr char kNetattachConflist[] = "00-sriovkit-netattach.conflist";
inline constexpr char kNetattachKubeconfigRel[] =
    "sriovkit-netattach.d/sriovkit-netattach.kubeconfig";
inline constexpr char kServiceAccountDir[] =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct InstallCniOptions {
  std::filesystem::path source_dir = "/opt/cni/bin";
  std::filesystem::path bin_dir;
  std::filesystem::path conf_dir;        // empty: binaries only
  std::filesystem::path kubeconfig_out;  // empty: the default under conf_dir
  // The kubeconfig's path as the host sees it, written into the conflist
  // (Multus's --multus-kubeconfig-file-host); empty: kubeconfig_out's.
  std::filesystem::path kubeconfig_host_path;
  std::filesystem::path service_account_dir = kServiceAccountDir;
  std::string api_host;  // KUBERNETES_SERVICE_HOST
  std::string api_port;  // KUBERNETES_SERVICE_PORT
};

struct InstallCniReport {
  std::vector<std::string> installed;  // paths written
  std::vector<std::string> unchanged;  // paths already right
  std::string cluster_network;         // the conf file the delegate came from
};

absl::StatusOr<InstallCniReport> InstallCni(const InstallCniOptions& o);

void AddInstallCniCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);

}  // namespace sk::ctl
