#pragma once
// virt-launcher's side of SR-IOV: find the host VF of every SR-IOV interface
// and turn it into a libvirt <hostdev> (as kubevirt/kubevirt
// pkg/virt-launcher/virtwrap/device/hostdevice/sriov/pcipool_netstatus.go and
// hostdev.go do).
//
//   SK_ASSIGN_OR_RETURN(auto info, ParseNetworkInfoPci(network_info_text));
//   PciAddressPool pool(info, *PciDeviceEnvFromEnviron(environ),
//                       resource_by_network);
//   SK_ASSIGN_OR_RETURN(auto specs, BuildSriovHostdevs(vmi, pool));
//   SK_RETURN_IF_ERROR(PreflightVfio(Sysfs(sysfs_root), Sysfs(dev_root),
//                                    specs));
//   SK_ASSIGN_OR_RETURN(std::string xml, libvirt::HostdevsXml(specs));
//
// Address resolution, per SR-IOV interface in spec order (state "absent"
// skipped):
//  1. network-info (network name -> deviceInfo.pci["pci-address"]); each
//     entry is used once;
//  2. otherwise the device plugin's environment variable
//     PCIDEVICE_<RESOURCE> for the network's resource name (upper case,
//     '/', '.' and '-' -> '_': intel.com/sriov_net ->
//     PCIDEVICE_INTEL_COM_SRIOV_NET), a comma list of BDFs. An address
//     taken from one list is removed from every list (the same VF can be
//     advertised under two resource names), as KubeVirt's legacy pool did.
// Errors use KubeVirt's texts: NotFound "found no SR-IOV networks to
// PCI-Address mapping" when both sources were empty from the start,
// NotFound
// `PCI-Address for SR-IOV network "<n>" not found` when this network has
// no address left.
//
// Thread safety: PciAddressPool is not synchronised.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/kubevirt/vmi.h"
#include "lib/libvirt/hostdev_xml.h"
#include "lib/sysfs/sysfs.h"

namespace sk::kubevirt {

// "intel.com/sriov_net" -> "PCIDEVICE_INTEL_COM_SRIOV_NET".
std::string PciDeviceEnvName(std::string_view resource_name);

// The PCIDEVICE_* variables of an environment ("KEY=VALUE" strings, as in
// environ). Values are comma lists of BDFs; empty items (a trailing comma)
// are dropped. InvalidArgument naming the variable for a malformed BDF.
absl::StatusOr<std::map<std::string, std::vector<std::string>>>
PciDeviceEnvFromEnviron(const std::vector<std::string>& environ);

// KubeVirt's legacy KUBEVIRT_RESOURCE_NAME_<iface>=<resource> variables of
// an environment: iface name -> resource name.
std::map<std::string, std::string> ResourceNamesFromEnviron(
    const std::vector<std::string>& environ);

class PciAddressPool {
 public:
  // `network_info`: network -> canonical BDF (ParseNetworkInfoPci).
  // `env`: PCIDEVICE_* variable -> BDFs (PciDeviceEnvFromEnviron).
  // `resource_by_network`: network -> resource name, for the env fallback.
  PciAddressPool(std::map<std::string, std::string> network_info,
                 std::map<std::string, std::vector<std::string>> env,
                 std::map<std::string, std::string> resource_by_network)
      : info_(std::move(network_info)),
        env_(std::move(env)),
        resources_(std::move(resource_by_network)),
        empty_(ComputeEmpty()) {}

  // Takes the address for `network` (see the header comment for order and
  // errors). Returns the canonical "dddd:bb:ss.f".
  absl::StatusOr<std::string> Pop(const std::string& network);

 private:
  std::map<std::string, std::string> info_;
  std::map<std::string, std::vector<std::string>> env_;
  std::map<std::string, std::string> resources_;
  bool empty_;  // both sources were empty when the pool was built

  bool ComputeEmpty() const;
};

// One HostdevSpec per SR-IOV interface (alias ua-sriov-<iface>, boot order
// from bootOrder, guest address from pciAddress). Errors from the pool, or
// InvalidArgument for a malformed pciAddress / bootOrder out of range.
absl::StatusOr<std::vector<libvirt::HostdevSpec>> BuildSriovHostdevs(
    const Vmi& vmi, PciAddressPool& pool);

// Checks, for every spec, that <sysfs>/sys/bus/pci/devices/<bdf> exists
// (NotFound), its driver link names vfio-pci (FailedPrecondition naming the
// driver or "no driver"), it has an iommu_group link (FailedPrecondition:
// IOMMU off?), and <dev>/dev/vfio/<group> exists (FailedPrecondition; for a
// noiommu group dev/vfio/noiommu-<group> is accepted by no one: libvirt
// cannot use it, so that is reported too). Messages name the alias and BDF.
absl::Status PreflightVfio(const sysfs::Sysfs& sys, const sysfs::Sysfs& dev,
                           const std::vector<libvirt::HostdevSpec>& specs);

// libvirt domain options for --full-domain: name "<namespace>_<name>"
// (KubeVirt's domain name), memory from memory.guest or requests.memory
// (1Gi when neither), vcpus from the VMI.
absl::StatusOr<libvirt::DomainOptions> DomainOptionsForVmi(const Vmi& vmi);

}  // namespace sk::kubevirt
