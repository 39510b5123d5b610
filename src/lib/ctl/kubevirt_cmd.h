#pragma once
// `sriovctl kubevirt ...`: what KubeVirt does for SR-IOV, as files in and
// text out (no API server, no libvirt connection).
//
//   sriovctl kubevirt validate   --vmi FILE
//       Applies KubeVirt's admission rules that touch SR-IOV; prints "ok" or
//       every cause, one per line.
//   sriovctl kubevirt render-pod --vmi FILE (--nad-dir DIR | --nad FILE)...
//                                [--ordinal-names]
//                                [--external-resource-injection]
//       Prints the virt-launcher Pod (JSON): Multus networks annotation,
//       compute container first with SR-IOV resources and VFIO memory
//       overhead, downward-API network-info volume.
//   sriovctl kubevirt network-info --vmi FILE --network-status FILE
//       Prints the kubevirt.io/network-info annotation value built from a
//       pod's k8s.v1.cni.cncf.io/network-status (the annotation value or the
//       whole Pod). SR-IOV networks left out are reported on stderr.
//   sriovctl kubevirt domain --vmi FILE [--network-info FILE] [--nad-dir DIR]
//                            [--sysfs-root DIR] [--dev-root DIR]
//                            [--full-domain [--domain-type T]] [--no-preflight]
//       Prints the SR-IOV <hostdev> elements inside <devices>, or a complete
//       minimal domain. Host PCI addresses come from the network-info file,
//       else from PCIDEVICE_<RESOURCE> environment variables (resource of the
//       network's NAD, or KUBEVIRT_RESOURCE_NAME_<iface>). Before printing,
//       each VF must be bound to vfio-pci with <dev-root>/dev/vfio/<group>
//       present (under the global --sysfs-root and --dev-root).
//
// VMI files are VirtualMachineInstance or VirtualMachine objects in YAML or
// JSON. Exit codes (lib/base/exit_code.h): 0 ok; 64 usage; 65 invalid input
// (admission failure, malformed file); 66 not found (file, NAD, PCI address
// for a network); 78 precondition (VF not on vfio-pci, no /dev/vfio node).
// Errors go to stderr as "sriovctl kubevirt <cmd>: <message>".

#include <string>
#include <vector>

#include "lib/ctl/ctl.h"

namespace sk::ctl {

// Registers `kubevirt` and its subcommands. `environ_for_test`, when not
// null, replaces the process environment read by `domain` (PCIDEVICE_*,
// KUBEVIRT_RESOURCE_NAME_*); it must outlive the app.
void AddKubevirtCommand(
    CLI::App& app, const CtlOptions& opts, RunFn* run,
    const std::vector<std::string>* environ_for_test = nullptr);

}  // namespace sk::ctl
