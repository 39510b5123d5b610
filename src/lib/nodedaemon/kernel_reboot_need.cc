#include "lib/nodedaemon/kernel_reboot_need.h"

#include <string>
#include <vector>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::nodedaemon {

namespace nc = ::sk::nodeconfig;

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

}  // namespace

void KernelRebootNeed::SetVfEnomem(const std::string& pci_address,
                                   bool failed) {
  if (failed) {
    enomem_pfs_.insert(pci_address);
  } else {
    enomem_pfs_.erase(pci_address);
  }
}

absl::StatusOr<drain::RebootNeedStatus> KernelRebootNeed::Check() {
  steps_.clear();
  nc::KernelInputs in = in_;
  in.vf_enomem = vf_enomem();
  SK_ASSIGN_OR_RETURN(nc::KernelPlan plan, nc::PlanKernel(in, runner_));
  std::vector<nc::ArgPlan> args = plan.args;
  std::string bootloader = plan.bootloader;
  if (plan.changes()) {
    SK_ASSIGN_OR_RETURN(nc::KernelApplyResult r,
                        nc::ApplyKernel(plan, in, runner_));
    steps_ = r.steps;
    args = r.args;
    bootloader = r.bootloader;
  }
  std::vector<std::string> pending, missing;
  for (const nc::ArgPlan& a : args) {
    if (a.state == nc::ArgState::kPending) pending.push_back(a.arg.Text());
    if (a.state == nc::ArgState::kMissing) missing.push_back(a.arg.Text());
  }
  drain::RebootNeedStatus s;
  if (pending.empty() && missing.empty()) return s;
  s.needed = true;
  std::vector<std::string> all = pending;
  all.insert(all.end(), missing.begin(), missing.end());
  s.reason =
      sk::StrCat("kernel argument", all.size() > 1 ? "s " : " ", Join(all),
                 all.size() > 1 ? " are" : " is", " not in effect (",
                 (in_.root / "proc/cmdline").string(), ": \"",
                 plan.running_cmdline, "\")");
  if (!pending.empty()) {
    s.reason +=
        sk::StrCat("; the next boot (", bootloader, ") has ", Join(pending));
  }
  if (!missing.empty()) {
    s.reason += sk::StrCat("; missing from the next boot: ", Join(missing));
  }
  return s;
}

}  // namespace sk::nodedaemon
