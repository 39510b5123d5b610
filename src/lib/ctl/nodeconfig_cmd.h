#pragma once
// `sriovctl apply` and `sriovctl render`: the SR-IOV Network Operator's node
// configuration without a cluster (lib/nodeconfig; docs/nodeconfig.md).
//
//   sriovctl apply -f POLICIES [--node NAME] [--node-labels FILE]
//                  [--dry-run] [--force] [--json] [--state-dir DIR]
//                  [--cni-state-dir DIR] [--vf-timeout MS]
//     Reads SriovNetworkNodePolicy objects (file or directory), validates
//     them as the operator's webhook does, prints the plan for this node
//     (table, or --json {"plan":..,"result":..}), then applies it and prints
//     the result per PF. --dry-run stops after the plan. A VF in use (CNI
//     allocation/cache record under --cni-state-dir, default
//     /var/lib/cni/sriov; or /dev/vfio/<group> open by a process under
//     --proc-root) is never destroyed or rebound without --force.
//     --node defaults to the host name; --node-labels is a YAML/JSON map,
//     a Node object or key=value lines.
//
//   sriovctl render device-plugin-config -f POLICIES [--node NAME]
//                  [--node-labels FILE]
//     Prints this node's device-plugin config.json as the operator renders
//     it.
//   sriovctl render nad -f SRIOVNETWORKS [--resource-prefix PREFIX]
//     Prints the NetworkAttachmentDefinitions (JSON documents separated by
//     "---") as the operator renders them; prefix default openshift.io.
//
// Exit codes (lib/base/exit_code.h):
//   0   applied, nothing to change, a dry run, or rendered
//   2   apply: a PF failed and was rolled back (others may be applied)
//   65  invalid policy / network (the message names object, field, value)
//   66  -f path or the sysfs tree missing
//   69  apply: a PF is blocked by VFs in use (retry later or --force)
//   78  vfio-pci wanted but the IOMMU is off (the message gives the kernel
//       arguments), or a needed driver module cannot be loaded
// Errors go to the error stream as "sriovctl apply: <message>".

#include "lib/ctl/ctl.h"

namespace sk::ctl {

void AddApplyCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);
void AddRenderCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);

}  // namespace sk::ctl
