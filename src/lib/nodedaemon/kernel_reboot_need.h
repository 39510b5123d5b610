#pragma once
// The kernel-argument planner (lib/nodeconfig/kargs.h) as the reboot
// orchestration's RebootNeed (lib/drain/reboot.h): sriovkit-node
// --manage-kernel-args. docs/kernel.md "In the node daemon" describes it.
//
//   KernelRebootNeed need(inputs, runner);  // inputs.root: the host root
//   need.SetWantVfio(true);                 // some policy group is vfio-pci
//   SK_ASSIGN_OR_RETURN(drain::RebootNeedStatus s, need.Check());
//
// Check() plans (PlanKernel). When some desired argument is missing from the
// bootloader configuration, or the modules-load drop-in must change, it
// applies (ApplyKernel: atomic, with backups, idempotent) first, so that a
// reboot boots the arguments. It never reboots. The answer:
//   needed = some desired argument is not effective in <root>/proc/cmdline,
//            read as the kernel reads it (intel_iommu=on,sm_on is on);
//   reason = the arguments by name, and whether the next boot has them.
// Before a reboot "needed" asks for one; after the boot the same answer
// tells the orchestration whether the reboot took effect (not needed) or
// not (needed: the node is reported Failed, naming the arguments, and is not
// rebooted again).
//
// Not thread-safe: used from the daemon's sync thread.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/drain/reboot.h"
#include "lib/nodeconfig/bootloader.h"
#include "lib/nodeconfig/kargs.h"

namespace sk::nodedaemon {

class KernelRebootNeed : public drain::RebootNeed {
 public:
  // `runner` (bootloader tools: update-grub, grubby, rpm-ostree) must
  // outlive this object. inputs.want_vfio is SetWantVfio's initial value.
  KernelRebootNeed(nodeconfig::KernelInputs inputs,
                   nodeconfig::CommandRunner& runner)
      : in_(std::move(inputs)), runner_(runner) {}

  // Whether some policy group on this node uses vfio-pci (the IOMMU
  // arguments are wanted). Set by the daemon before each Check().
  void SetWantVfio(bool want) { in_.want_vfio = want; }
  bool want_vfio() const { return in_.want_vfio; }

  // Whether creating VFs on PF `pci_address` last failed with ENOMEM
  // (nodeconfig::PfResult::vf_enomem). Sticky per PF until that PF applies:
  // while some PF has it, pci=realloc is wanted (the kernel reassigns the
  // bridge windows so the VF BARs fit). Set by the daemon after each apply;
  // the next Check() plans the argument. inputs.vf_enomem is kept as a
  // node-wide initial value.
  void SetVfEnomem(const std::string& pci_address, bool failed);
  bool vf_enomem() const { return in_.vf_enomem || !enomem_pfs_.empty(); }

  absl::StatusOr<drain::RebootNeedStatus> Check() override;

  // What the last Check() wrote or ran (files, commands), for the log.
  const std::vector<std::string>& last_steps() const { return steps_; }

 private:
  nodeconfig::KernelInputs in_;
  std::set<std::string> enomem_pfs_;
  nodeconfig::CommandRunner& runner_;
  std::vector<std::string> steps_;
};

}  // namespace sk::nodedaemon
