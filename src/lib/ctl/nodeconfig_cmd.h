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
//   sriovctl apply --kernel -f POLICIES [--root DIR] [--pci-realloc]
//                  [--reboot] [--dry-run] [--json] [--node NAME]
//     The kernel side only (lib/nodeconfig/kargs.h, docs/kernel.md): the
//     kernel arguments the policies need (vfio-pci groups: intel_iommu=on
//     iommu=pt on Intel, iommu=pt on AMD; --pci-realloc: pci=realloc),
//     compared with <root>/proc/cmdline and with what the bootloader boots
//     next; missing ones written through the detected bootloader backend,
//     and the vfio-pci modules-load drop-in. Prints the reboot that is
//     needed and exits 75 instead of rebooting, unless --reboot is given
//     (then `systemctl reboot`, exit 0). --dry-run prints the plan only;
//     --json prints {"node","kernelPlan","kernelResult"[,"rebooting"]}.
//
// Exit codes (lib/base/exit_code.h):
//   0   applied, nothing to change, a dry run, or rendered
//   2   apply: a PF failed and was rolled back (others may be applied)
//   65  invalid policy / network (the message names object, field, value)
//   66  -f path or the sysfs tree missing
//   69  apply: a PF is blocked by VFs in use (retry later or --force)
//   75  apply --kernel: a reboot is needed (arguments written or pending)
//   78  apply --kernel: no supported bootloader found (the message names
//       every place looked for), or a bootloader regeneration tool missing
//   78  vfio-pci wanted but the IOMMU is off (the message gives the kernel
//       arguments), or a needed driver module cannot be loaded
// Errors go to the error stream as "sriovctl apply: <message>".

#include "lib/ctl/ctl.h"

namespace sk::nodeconfig {
class CommandRunner;
}

namespace sk::ctl {

void AddApplyCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);
// The same, running host commands (bootloader tools, `systemctl reboot`)
// through `runner` (not owned; outlives the command) instead of spawning
// them: for tests.
void AddApplyCommand(CLI::App& app, const CtlOptions& opts, RunFn* run,
                     nodeconfig::CommandRunner* runner);
void AddRenderCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);

}  // namespace sk::ctl
