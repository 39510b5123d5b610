#include "lib/ctl/kubevirt_cmd.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <system_error>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"
#include "lib/kubevirt/launcher_pod.h"
#include "lib/kubevirt/network_info.h"
#include "lib/kubevirt/sriov_hostdevs.h"
#include "lib/kubevirt/vmi.h"
#include "lib/libvirt/hostdev_xml.h"
#include "lib/sysfs/sysfs.h"

extern char** environ;

namespace sk::ctl {
namespace {

struct Args {
  std::string vmi;
  std::string nad_dir;
  std::vector<std::string> nad_files;
  bool ordinal = false;
  bool external_injection = false;
  std::string network_status;
  std::string network_info;
  bool full_domain = false;
  std::string domain_type = "kvm";
  bool no_preflight = false;
};

int Fail(const Io& io, std::string_view cmd, const absl::Status& s) {
  *io.err << "sriovctl kubevirt " << cmd << ": " << s.message() << "\n";
  return ExitCodeForStatus(s);
}

// The input files and directories named on the command line, checked before
// anything reads them: a missing one is NotFound (exit 66) naming the flag.
// --network-info is not among them: KubeVirt reads a missing one as empty.
absl::Status CheckInputs(const Args& a) {
  if (!a.vmi.empty())
    SK_RETURN_IF_ERROR(CheckInputPath("--vmi", a.vmi, PathKind::kFile));
  if (!a.nad_dir.empty()) {
    SK_RETURN_IF_ERROR(
        CheckInputPath("--nad-dir", a.nad_dir, PathKind::kDirectory));
  }
  for (const std::string& f : a.nad_files)
    SK_RETURN_IF_ERROR(CheckInputPath("--nad", f, PathKind::kFile));
  if (!a.network_status.empty()) {
    SK_RETURN_IF_ERROR(
        CheckInputPath("--network-status", a.network_status, PathKind::kFile));
  }
  return absl::OkStatus();
}

absl::StatusOr<kubevirt::NadStore> LoadNads(const Args& a,
                                            const kubevirt::Vmi& vmi) {
  kubevirt::NadStore nads(vmi.namespace_);
  if (!a.nad_dir.empty()) SK_RETURN_IF_ERROR(nads.AddDir(a.nad_dir));
  for (const std::string& f : a.nad_files) SK_RETURN_IF_ERROR(nads.AddFile(f));
  return nads;
}

absl::StatusOr<std::string> RenderPod(const Args& a) {
  SK_RETURN_IF_ERROR(CheckInputs(a));
  SK_ASSIGN_OR_RETURN(kubevirt::Vmi vmi, kubevirt::LoadVmiFile(a.vmi));
  SK_ASSIGN_OR_RETURN(kubevirt::NadStore nads, LoadNads(a, vmi));
  kubevirt::RenderPodOptions o;
  o.naming = a.ordinal ? kubevirt::PodIfaceNaming::kOrdinal
                       : kubevirt::PodIfaceNaming::kHashed;
  o.external_resource_injection = a.external_injection;
  SK_ASSIGN_OR_RETURN(nlohmann::ordered_json pod,
                      kubevirt::RenderLauncherPod(vmi, nads, o));
  return pod.dump(2) + "\n";
}

absl::StatusOr<std::string> NetworkInfo(const Args& a, const Io& io) {
  SK_RETURN_IF_ERROR(CheckInputs(a));
  SK_ASSIGN_OR_RETURN(kubevirt::Vmi vmi, kubevirt::LoadVmiFile(a.vmi));
  SK_RETURN_IF_ERROR(kubevirt::AdmitVmi(vmi));
  SK_ASSIGN_OR_RETURN(std::string text,
                      kubevirt::ReadInputFile(a.network_status));
  absl::StatusOr<std::vector<kubevirt::NetworkStatusEntry>> status =
      kubevirt::ParseNetworkStatus(text);
  if (!status.ok()) {
    return absl::Status(
        status.status().code(),
        sk::StrCat(a.network_status, ": ", status.status().message()));
  }
  kubevirt::NetworkInfo info = kubevirt::BuildNetworkInfo(vmi, *status);
  for (const std::string& w : info.warnings)
    *io.err << "warning: " << w << "\n";
  return info.annotation.dump() + "\n";
}

absl::StatusOr<std::string> Domain(const Args& a, const CtlOptions& opts,
                                   const std::vector<std::string>& env,
                                   const Io& io) {
  SK_RETURN_IF_ERROR(CheckInputs(a));
  if (!a.no_preflight) {
    SK_RETURN_IF_ERROR(
        CheckInputPath("--sysfs-root", opts.sysfs_root, PathKind::kDirectory));
    SK_RETURN_IF_ERROR(
        CheckInputPath("--dev-root", opts.dev_root, PathKind::kDirectory));
  }
  SK_ASSIGN_OR_RETURN(kubevirt::Vmi vmi, kubevirt::LoadVmiFile(a.vmi));
  SK_RETURN_IF_ERROR(kubevirt::AdmitVmi(vmi));
  // KubeVirt treats a missing or unreadable network-info file as an empty
  // mapping (then the env fallback or "found no SR-IOV networks ...").
  std::map<std::string, std::string> info;
  if (!a.network_info.empty()) {
    absl::StatusOr<std::string> text = kubevirt::ReadInputFile(a.network_info);
    if (text.status().code() == absl::StatusCode::kInvalidArgument) {
      return text.status();  // over the size limit: never read as "empty"
    }
    if (text.ok()) {
      absl::StatusOr<std::map<std::string, std::string>> parsed =
          kubevirt::ParseNetworkInfoPci(*text);
      if (!parsed.ok()) {
        return absl::Status(
            parsed.status().code(),
            sk::StrCat(a.network_info, ": ", parsed.status().message()));
      }
      info = std::move(*parsed);
    } else {
      *io.err << "warning: " << text.status().message()
              << "; using PCIDEVICE_* variables only\n";
    }
  }
  // Resource name per network, for the PCIDEVICE_* fallback: NADs first,
  // then KubeVirt's legacy KUBEVIRT_RESOURCE_NAME_<iface> variables.
  std::map<std::string, std::string> resources =
      kubevirt::ResourceNamesFromEnviron(env);
  if (!a.nad_dir.empty() || !a.nad_files.empty()) {
    SK_ASSIGN_OR_RETURN(kubevirt::NadStore nads, LoadNads(a, vmi));
    for (const kubevirt::Network& n : vmi.networks) {
      if (!n.multus) continue;
      SK_ASSIGN_OR_RETURN(
          kubevirt::NetworkRef ref,
          kubevirt::ParseNetworkName(n.multus_network_name, vmi.namespace_));
      const kubevirt::Nad* nad = nads.Find(ref.namespace_, ref.name);
      if (nad != nullptr && !nad->resource_name.empty()) {
        resources[n.name] = nad->resource_name;
      }
    }
  }
  SK_ASSIGN_OR_RETURN(auto env_pool, kubevirt::PciDeviceEnvFromEnviron(env));
  kubevirt::PciAddressPool pool(std::move(info), std::move(env_pool),
                                std::move(resources));
  SK_ASSIGN_OR_RETURN(std::vector<libvirt::HostdevSpec> specs,
                      kubevirt::BuildSriovHostdevs(vmi, pool));
  if (!a.no_preflight) {
    sysfs::Sysfs sys(opts.sysfs_root);
    sysfs::Sysfs dev(opts.dev_root);
    SK_RETURN_IF_ERROR(kubevirt::PreflightVfio(sys, dev, specs));
  }
  if (!a.full_domain) return libvirt::HostdevsXml(specs);
  SK_ASSIGN_OR_RETURN(libvirt::DomainOptions d,
                      kubevirt::DomainOptionsForVmi(vmi));
  d.type = a.domain_type;
  return libvirt::DomainXml(d, specs);
}

std::vector<std::string> ProcessEnviron() {
  std::vector<std::string> out;
  for (char** e = ::environ; e != nullptr && *e != nullptr; ++e) {
    out.emplace_back(*e);
  }
  return out;
}

CLI::Option* AddVmiFlag(CLI::App* cmd, Args* a) {
  return cmd
      ->add_option("--vmi", a->vmi,
                   "VirtualMachineInstance or VirtualMachine (YAML or JSON)")
      ->required()
      ->type_name("FILE");
}

void AddNadFlags(CLI::App* cmd, Args* a) {
  cmd->add_option("--nad-dir", a->nad_dir,
                  "Directory of NetworkAttachmentDefinitions (*.yaml, *.yml, "
                  "*.json; multi-document files and Lists allowed)")
      ->type_name("DIR");
  cmd->add_option("--nad", a->nad_files,
                  "A NetworkAttachmentDefinition file (repeatable)")
      ->type_name("FILE");
}

}  // namespace

void AddKubevirtCommand(CLI::App& app, const CtlOptions& opts, RunFn* run,
                        const std::vector<std::string>* environ_for_test) {
  auto a = std::make_shared<Args>();
  CLI::App* kv = app.add_subcommand(
      "kubevirt",
      "KubeVirt SR-IOV glue: admission, virt-launcher pod, network-info, "
      "libvirt hostdevs");
  kv->require_subcommand(1);

  CLI::App* validate = kv->add_subcommand(
      "validate",
      "Apply KubeVirt's admission rules that touch SR-IOV to a VMI/VM; "
      "prints ok or every cause (exit 65)");
  AddVmiFlag(validate, a.get());
  validate->footer("Example: sriovctl kubevirt validate --vmi vmi-sriov.yaml");
  validate->callback([a, run]() {
    *run = [a](const Io& io) {
      if (absl::Status s = CheckInputs(*a); !s.ok())
        return Fail(io, "validate", s);
      absl::StatusOr<kubevirt::Vmi> vmi = kubevirt::LoadVmiFile(a->vmi);
      if (!vmi.ok()) return Fail(io, "validate", vmi.status());
      std::vector<kubevirt::Cause> causes = kubevirt::ValidateVmi(*vmi);
      if (causes.empty()) {
        *io.out << "ok: " << vmi->source_kind << " " << vmi->namespace_ << "/"
                << vmi->name << " is admissible\n";
        return kExitOk;
      }
      for (const kubevirt::Cause& c : causes) {
        *io.out << c.field << ": " << c.message << "\n";
      }
      return kExitDataErr;
    };
  });

  CLI::App* pod = kv->add_subcommand(
      "render-pod",
      "Print the virt-launcher Pod (JSON) for a VMI: Multus networks "
      "annotation, compute container first with one request and limit per "
      "SR-IOV network's NAD resourceName, VFIO memory overhead (+1Gi), "
      "downward-API network-info volume. A NAD that is not found is an error "
      "(exit 66) unless --external-resource-injection");
  AddVmiFlag(pod, a.get());
  AddNadFlags(pod, a.get());
  pod->add_flag("--ordinal-names", a->ordinal,
                "Name pod interfaces net1..netN (legacy) instead of pod + 11 "
                "hex digits of SHA-256(network name)");
  pod->add_flag("--external-resource-injection", a->external_injection,
                "Read no NAD and add no network resources (KubeVirt's "
                "ExternalNetResourceInjection: a webhook injects them)");
  pod->footer(
      "Example: sriovctl kubevirt render-pod --vmi vmi-sriov.yaml --nad-dir "
      "nads/ | jq '.spec.containers[0].resources'");
  pod->callback([a, run]() {
    *run = [a](const Io& io) {
      absl::StatusOr<std::string> out = RenderPod(*a);
      if (!out.ok()) return Fail(io, "render-pod", out.status());
      *io.out << *out;
      return kExitOk;
    };
  });

  CLI::App* ni = kv->add_subcommand(
      "network-info",
      "Print the kubevirt.io/network-info annotation value built from a "
      "pod's k8s.v1.cni.cncf.io/network-status (device-info per SR-IOV "
      "interface, sorted by network name)");
  AddVmiFlag(ni, a.get());
  ni->add_option("--network-status", a->network_status,
                 "network-status annotation value (JSON array) or the Pod "
                 "carrying it (YAML or JSON)")
      ->required()
      ->type_name("FILE");
  ni->footer(
      "Example: kubectl get pod virt-launcher-x -o json > pod.json; "
      "sriovctl kubevirt network-info --vmi vmi.yaml --network-status "
      "pod.json");
  ni->callback([a, run]() {
    *run = [a](const Io& io) {
      absl::StatusOr<std::string> out = NetworkInfo(*a, io);
      if (!out.ok()) return Fail(io, "network-info", out.status());
      *io.out << *out;
      return kExitOk;
    };
  });

  CLI::App* dom = kv->add_subcommand(
      "domain",
      "Print the libvirt <hostdev> of every SR-IOV interface inside "
      "<devices> (or a complete minimal domain with --full-domain). Host PCI "
      "address from --network-info, else PCIDEVICE_<RESOURCE> environment "
      "variables (consumed once). Each VF must be bound to vfio-pci and "
      "<dev-root>/dev/vfio/<group> must exist (exit 78 otherwise)");
  AddVmiFlag(dom, a.get());
  dom->add_option("--network-info", a->network_info,
                  "The downward-API network-info file (/etc/podinfo/"
                  "network-info in virt-launcher); missing = empty")
      ->type_name("FILE");
  AddNadFlags(dom, a.get());
  dom->add_flag("--full-domain", a->full_domain,
                "Print a complete minimal <domain> (name <ns>_<name>, memory, "
                "vcpus from the VMI) around the hostdevs");
  dom->add_option("--domain-type", a->domain_type,
                  "<domain type=...> with --full-domain (default kvm)");
  dom->add_flag("--no-preflight", a->no_preflight,
                "Skip the vfio-pci and /dev/vfio checks");
  dom->footer(
      "Example: sriovctl kubevirt domain --vmi vmi.yaml --network-info "
      "/etc/podinfo/network-info --full-domain > domain.xml; "
      "virt-xml-validate domain.xml");
  dom->callback([a, run, &opts, environ_for_test]() {
    *run = [a, &opts, environ_for_test](const Io& io) {
      std::vector<std::string> env =
          environ_for_test ? *environ_for_test : ProcessEnviron();
      absl::StatusOr<std::string> out = Domain(*a, opts, env, io);
      if (!out.ok()) return Fail(io, "domain", out.status());
      *io.out << *out;
      return kExitOk;
    };
  });
}

}  // namespace sk::ctl
