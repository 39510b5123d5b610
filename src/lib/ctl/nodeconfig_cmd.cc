#include "lib/ctl/nodeconfig_cmd.h"

#include <unistd.h>

#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lib/base/exit_code.h"
#include "lib/base/strings.h"
#include "lib/nodeconfig/apply.h"
#include "lib/nodeconfig/bootloader.h"
#include "lib/nodeconfig/kargs.h"
#include "lib/nodeconfig/plan.h"
#include "lib/nodeconfig/policy.h"
#include "lib/nodeconfig/render.h"
#include "lib/sysfs/host.h"

namespace sk::ctl {
namespace {

namespace nc = ::sk::nodeconfig;

struct ApplyArgs {
  std::string policies;
  std::string node;
  std::string node_labels;
  bool dry_run = false;
  bool force = false;
  bool json = false;
  std::string state_dir = nc::kDefaultStateDir;
  std::string cni_state_dir = "/var/lib/cni/sriov";
  int vf_timeout_ms = 10000;
  std::string resource_prefix = nc::kDefaultResourcePrefix;
  bool kernel = false;
  bool reboot = false;
  bool pci_realloc = false;
  std::string root = "/";
};

int Fail(const Io& io, std::string_view cmd, const absl::Status& s) {
  *io.err << "sriovctl " << cmd << ": " << s.message() << "\n";
  return ExitCodeForStatus(s);
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

void PrintWarnings(const Io& io, std::string_view cmd,
                   const std::vector<std::string>& w) {
  for (const std::string& s : w)
    *io.err << "sriovctl " << cmd << ": warning: " << s << "\n";
}

// Policies, node and host; shared by apply and render device-plugin-config.
struct Inputs {
  std::vector<nc::Policy> policies;
  nc::NodeInfo node;
  sysfs::HostSnapshot host;
};

absl::StatusOr<Inputs> LoadInputs(const ApplyArgs& a, const CtlOptions& opts,
                                  std::vector<std::string>* warnings) {
  Inputs in;
  absl::StatusOr<std::vector<nc::Policy>> ps =
      nc::LoadPolicies(a.policies, warnings);
  if (!ps.ok()) return ps.status();
  in.policies = *std::move(ps);
  absl::StatusOr<nc::NodeInfo> node =
      nc::LoadNodeInfo(a.node.empty() ? HostName() : a.node, a.node_labels);
  if (!node.ok()) return node.status();
  in.node = *std::move(node);
  sysfs::DiscoverOptions dopts;
  dopts.resolve_names = false;
  absl::StatusOr<sysfs::HostSnapshot> host =
      sysfs::HostSnapshot::Discover(sysfs::Sysfs(opts.sysfs_root), dopts);
  if (!host.ok()) return host.status();
  in.host = *std::move(host);
  absl::Status v =
      nc::ValidatePolicies(in.policies, in.node, in.host, warnings);
  if (!v.ok()) return v;
  return in;
}

// `apply --kernel`: kernel arguments and the modules-load drop-in only
// (lib/nodeconfig/kargs.h); the PFs are configured by a plain `apply` after
// the reboot.
int RunApplyKernel(const ApplyArgs& a, const CtlOptions& opts, const Io& io,
                   nc::CommandRunner* injected) {
  std::vector<std::string> warnings;
  absl::StatusOr<Inputs> in = LoadInputs(a, opts, &warnings);
  PrintWarnings(io, "apply", warnings);
  if (!in.ok()) return Fail(io, "apply", in.status());
  nc::KernelInputs kin;
  kin.root = a.root;
  kin.vf_enomem = a.pci_realloc;
  for (const nc::DesiredPf& pf :
       nc::MergePolicies(in->policies, in->node, in->host)) {
    for (const nc::VfGroup& g : pf.vf_groups)
      if (g.device_type == nc::VfDeviceType::kVfioPci) kin.want_vfio = true;
  }
  nc::ProcessRunner process(a.root);
  nc::CommandRunner& runner = injected != nullptr ? *injected : process;
  if (a.reboot && injected == nullptr && a.root != "/") {
    return Fail(io, "apply",
                absl::InvalidArgumentError(sk::StrCat(
                    "--reboot reboots this host; not with --root ", a.root)));
  }
  absl::StatusOr<nc::KernelPlan> plan = nc::PlanKernel(kin, runner);
  if (!plan.ok()) return Fail(io, "apply", plan.status());
  nlohmann::ordered_json out;
  if (a.json) {
    out["node"] = in->node.name;
    out["kernelPlan"] =
        nlohmann::ordered_json::parse(nc::FormatKernelPlanJson(*plan));
    out["kernelResult"] = nullptr;
  } else {
    *io.out << "Kernel plan for node " << in->node.name << ":\n"
            << nc::FormatKernelPlanText(*plan);
  }
  auto finish = [&](int code) {
    if (a.json) *io.out << out.dump(2) << "\n";
    return code;
  };
  if (a.dry_run) return finish(kExitOk);
  absl::StatusOr<nc::KernelApplyResult> r = nc::ApplyKernel(*plan, kin, runner);
  if (!r.ok()) {
    finish(ExitCodeForStatus(r.status()));
    return Fail(io, "apply", r.status());
  }
  if (a.json) {
    out["kernelResult"] =
        nlohmann::ordered_json::parse(nc::FormatKernelApplyJson(*r));
  } else {
    *io.out << "Result:\n" << nc::FormatKernelApplyText(*r);
  }
  if (!r->needs_reboot) return finish(kExitOk);
  if (!a.reboot) {
    if (!a.json) {
      *io.out << "Reboot this node to apply them (`systemctl reboot`, or "
                 "rerun with --reboot).\n";
    }
    return finish(kExitRebootNeeded);
  }
  if (!a.json) *io.out << "Rebooting: systemctl reboot\n";
  absl::StatusOr<nc::CommandResult> rb = runner.Run({"systemctl", "reboot"});
  if (rb.ok() && rb->exit_code != 0) {
    rb = absl::InternalError(sk::StrCat(
        "`systemctl reboot` failed with exit status ", rb->exit_code));
  }
  if (a.json) out["rebooting"] = rb.ok();
  if (!rb.ok()) {
    finish(ExitCodeForStatus(rb.status()));
    return Fail(io, "apply", rb.status());
  }
  return finish(kExitOk);
}

int RunApply(const ApplyArgs& a, const CtlOptions& opts, const Io& io) {
  std::vector<std::string> warnings;
  absl::StatusOr<Inputs> in = LoadInputs(a, opts, &warnings);
  PrintWarnings(io, "apply", warnings);
  warnings.clear();
  if (!in.ok()) return Fail(io, "apply", in.status());
  absl::StatusOr<std::map<std::string, nc::OwnedPf>> owned =
      nc::LoadOwnedPfs(a.state_dir);
  if (!owned.ok()) return Fail(io, "apply", owned.status());
  nc::UsageSources src;
  src.cni_state_dir = a.cni_state_dir;
  src.proc_root = opts.proc_root;
  src.dev_root = opts.dev_root;
  absl::StatusOr<nc::VfUsage> use = nc::FindVfsInUse(in->host, src);
  if (!use.ok()) return Fail(io, "apply", use.status());
  nc::Plan plan =
      nc::MakePlan(nc::MergePolicies(in->policies, in->node, in->host),
                   in->host, *owned, *use);
  nlohmann::ordered_json out;
  if (a.json) {
    out["node"] = in->node.name;
    out["plan"] = nlohmann::ordered_json::parse(nc::FormatPlanJson(plan));
  } else {
    *io.out << "Plan for node " << in->node.name << ":\n"
            << nc::FormatPlanText(plan);
  }
  auto finish = [&](int code) {
    if (a.json) *io.out << out.dump(2) << "\n";
    return code;
  };
  if (a.dry_run || !plan.changes()) {
    if (a.json) out["result"] = nullptr;
    return finish(kExitOk);
  }
  absl::Status ready =
      nc::CheckVfioReadiness(plan, opts.sysfs_root, opts.proc_root, &warnings);
  PrintWarnings(io, "apply", warnings);
  if (!ready.ok()) {
    finish(kExitConfig);
    return Fail(io, "apply", ready);
  }
  sysfs::Sysfs fs(opts.sysfs_root);
  absl::StatusOr<std::unique_ptr<nc::NodeOs>> os = nc::MakeHostNodeOs(fs);
  if (!os.ok()) {
    finish(ExitCodeForStatus(os.status()));
    return Fail(io, "apply", os.status());
  }
  nc::ApplyOptions aopts;
  aopts.force = a.force;
  aopts.state_dir = a.state_dir;
  aopts.vf_timeout = std::chrono::milliseconds(a.vf_timeout_ms);
  absl::StatusOr<nc::ApplyResult> r = nc::ApplyPlan(plan, fs, **os, aopts);
  if (!r.ok()) {
    finish(ExitCodeForStatus(r.status()));
    return Fail(io, "apply", r.status());
  }
  if (a.json) {
    out["result"] = nlohmann::ordered_json::parse(nc::FormatApplyJson(*r));
  } else {
    *io.out << "Result:\n" << nc::FormatApplyText(*r);
  }
  int code = kExitOk;
  for (const nc::PfResult& p : r->pfs) {
    if (p.outcome == nc::PfOutcome::kBlocked && code == kExitOk)
      code = kExitUnavailable;
    if (p.outcome == nc::PfOutcome::kRolledBack) code = kExitFailure;
  }
  return finish(code);
}

void AddPolicyFlags(CLI::App* cmd, ApplyArgs* a) {
  cmd->add_option("-f,--filename", a->policies,
                  "SriovNetworkNodePolicy file or directory (YAML or JSON)")
      ->required()
      ->type_name("PATH");
  cmd->add_option("--node", a->node, "Node name (default: the host name)");
  cmd->add_option("--node-labels", a->node_labels,
                  "Node labels: YAML/JSON map, Node object or key=value lines")
      ->type_name("FILE");
}

}  // namespace

void AddApplyCommand(CLI::App& app, const CtlOptions& opts, RunFn* run) {
  AddApplyCommand(app, opts, run, nullptr);
}

void AddApplyCommand(CLI::App& app, const CtlOptions& opts, RunFn* run,
                     nodeconfig::CommandRunner* runner) {
  auto a = std::make_shared<ApplyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "apply",
      "Configure this node's SR-IOV PFs from SriovNetworkNodePolicy objects "
      "(numVfs, VF drivers, PF MTU) as the SR-IOV Network Operator would");
  AddPolicyFlags(cmd, a.get());
  cmd->add_flag("--dry-run", a->dry_run, "Print the plan and change nothing");
  cmd->add_flag("--force", a->force,
                "Also destroy or rebind VFs that are in use");
  cmd->add_flag("--json", a->json, "Print {\"plan\":..,\"result\":..} JSON");
  cmd->add_option("--state-dir", a->state_dir,
                  "Where sriovkit records the PFs it configured")
      ->capture_default_str();
  cmd->add_option("--cni-state-dir", a->cni_state_dir,
                  "The SR-IOV CNI state directory (VF allocations)")
      ->capture_default_str();
  cmd->add_option("--vf-timeout", a->vf_timeout_ms,
                  "Milliseconds to wait for VFs to appear")
      ->capture_default_str();
  cmd->add_flag("--kernel", a->kernel,
                "Only the kernel side: IOMMU/PCI kernel arguments in the "
                "bootloader and the vfio-pci modules-load drop-in");
  cmd->add_flag("--reboot", a->reboot,
                "With --kernel: reboot (systemctl reboot) when needed")
      ->needs("--kernel");
  cmd->add_flag("--pci-realloc", a->pci_realloc,
                "With --kernel: also want pci=realloc (VF creation failed "
                "with ENOMEM)")
      ->needs("--kernel");
  cmd->add_option("--root", a->root,
                  "With --kernel: host root holding proc/, boot/, etc/")
      ->needs("--kernel")
      ->capture_default_str();
  cmd->footer(
      "Example: sriovctl apply -f policies/ --node worker-0 --dry-run\n"
      "         sriovctl apply --kernel -f policies/   (exit 75: reboot "
      "needed)");
  cmd->callback([a, &opts, run, runner]() {
    *run = [a, &opts, runner](const Io& io) {
      return a->kernel ? RunApplyKernel(*a, opts, io, runner)
                       : RunApply(*a, opts, io);
    };
  });
}

void AddRenderCommand(CLI::App& app, const CtlOptions& opts, RunFn* run) {
  auto a = std::make_shared<ApplyArgs>();
  CLI::App* render = app.add_subcommand(
      "render", "Print what the SR-IOV Network Operator renders");
  render->require_subcommand(1);
  CLI::App* dp = render->add_subcommand(
      "device-plugin-config",
      "This node's device-plugin config.json from SriovNetworkNodePolicies");
  AddPolicyFlags(dp, a.get());
  dp->callback([a, &opts, run]() {
    *run = [a, &opts](const Io& io) {
      std::vector<std::string> warnings;
      absl::StatusOr<Inputs> in = LoadInputs(*a, opts, &warnings);
      PrintWarnings(io, "render", warnings);
      if (!in.ok()) return Fail(io, "render", in.status());
      absl::StatusOr<std::string> cfg = nc::RenderDevicePluginConfig(
          in->policies, in->node, sysfs::Sysfs(opts.sysfs_root), in->host);
      if (!cfg.ok()) return Fail(io, "render", cfg.status());
      *io.out << *cfg;
      return kExitOk;
    };
  });
  CLI::App* nad = render->add_subcommand(
      "nad", "NetworkAttachmentDefinitions from SriovNetwork objects");
  nad->add_option("-f,--filename", a->policies,
                  "SriovNetwork file or directory (YAML or JSON)")
      ->required()
      ->type_name("PATH");
  nad->add_option("--resource-prefix", a->resource_prefix,
                  "The operator's RESOURCE_PREFIX")
      ->capture_default_str();
  nad->callback([a, run]() {
    *run = [a](const Io& io) {
      std::vector<std::string> warnings;
      absl::StatusOr<std::vector<nc::SriovNetwork>> nets =
          nc::LoadSriovNetworks(a->policies, &warnings);
      PrintWarnings(io, "render", warnings);
      if (!nets.ok()) return Fail(io, "render", nets.status());
      nc::NadOptions nopts;
      nopts.resource_prefix = a->resource_prefix;
      for (size_t i = 0; i < nets->size(); ++i) {
        if (i > 0) *io.out << "---\n";
        *io.out << nc::RenderNad((*nets)[i], nopts).dump(2) << "\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace sk::ctl
