#pragma once
// libvirt domain XML for SR-IOV VFs passed through with VFIO, as KubeVirt's
// virt-launcher writes it (pkg/virt-launcher/virtwrap/device/hostdevice/sriov).
// Pure functions: a struct in, a string out; no libvirt connection, no I/O.
//
//   HostdevSpec h;
//   h.source = *PciAddress::Parse("0000:81:01.0");
//   h.boot_order = 2;
//   h.guest_address = *PciAddress::Parse("0000:20:00.0");
//   h.alias = SriovAlias("sriov-net");   // "ua-sriov-sriov-net"
//   std::string xml = HostdevsXml({h});
//
// gives
//
//   <devices>
//     <hostdev mode="subsystem" type="pci" managed="no">
//       <source>
//         <address domain="0x0000" bus="0x81" slot="0x01" function="0x0" />
//       </source>
//       <boot order="2" />
//       <address type="pci" domain="0x0000" bus="0x20" slot="0x00"
//       function="0x0" /> <alias name="ua-sriov-sriov-net" />
//     </hostdev>
//   </devices>
//
// Contract details (each is a KubeVirt or libvirt fact, see
// kubevirt/kubevirt
// pkg/virt-launcher/virtwrap/device/hostdevice/sriov/hostdev.go):
//  - managed="no": the VF is already bound to vfio-pci by the node
//    configuration; libvirt must not unbind/rebind it. mode="subsystem" is
//    libvirt's default and what `virsh dumpxml` prints back.
//  - Child order is source, boot, address, alias (KubeVirt's api.HostDevice
//    field order). <boot> only with a boot order, guest <address> only with a
//    requested guest PCI address.
//  - Addresses are "0x" + 4 hex digits of domain, 2 of bus, 2 of slot and 1
//    of function, lower case.
//  - The *source* <address> carries no type attribute: Debian 12's libvirt
//    9.0 schema (domaincommon.rng) rejects `type` there, so a domain with it
//    fails virt-xml-validate. The guest <address> has type="pci".
//  - The alias is the user-alias prefix "ua-" + "sriov-" + interface name;
//    QEMU sees it as the device id.
//
// Thread safety: all functions are pure and thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/sysfs/pci.h"

namespace sk::libvirt {

// KubeVirt's alias prefixes.
inline constexpr std::string_view kUserAliasPrefix = "ua-";
inline constexpr std::string_view kSriovAliasPrefix = "sriov-";

// "ua-sriov-" + iface_name.
std::string SriovAlias(std::string_view iface_name);

struct HostdevSpec {
  sysfs::PciAddress source;                        // host VF address
  std::optional<uint32_t> boot_order;              // <boot order="N"/>, N > 0
  std::optional<sysfs::PciAddress> guest_address;  // guest <address>
  std::string alias;                               // full alias name
};

// Formats the attributes of one PCI address the way KubeVirt does
// ("0x0000", "0x81", "0x01", "0x0").
std::string HexDomain(const sysfs::PciAddress& a);
std::string HexBus(const sysfs::PciAddress& a);
std::string HexSlot(const sysfs::PciAddress& a);
std::string HexFunction(const sysfs::PciAddress& a);

// The <hostdev> elements inside one <devices> element, pretty-printed with
// two-space indentation, no XML declaration, ending in a newline.
// InvalidArgument when a spec has an empty alias, a boot order of 0, or two
// specs share a source address or alias (libvirt would reject the domain),
// or an alias holds a control character XML 1.0 cannot carry.
absl::StatusOr<std::string> HostdevsXml(const std::vector<HostdevSpec>& devs);

struct DomainOptions {
  std::string name = "sriovkit";      // <name>
  std::string type = "kvm";           // <domain type=...>
  uint64_t memory_kib = 1024 * 1024;  // <memory unit="KiB">
  uint32_t vcpus = 1;                 // <vcpu>
  std::string machine = "q35";        // <os><type machine=...>
  std::string arch = "x86_64";
  // <features><acpi/></features>. KubeVirt's API defaults ACPI to enabled
  // (kubevirt.io/api core/v1 Features.ACPI: "Defaults to enabled"), so its
  // domains carry it; without it libvirt 9.0 passes QEMU `-no-acpi`, which
  // QEMU >= 9 no longer accepts, and the domain does not start.
  bool acpi = true;
};

// A complete minimal domain (name, memory, vcpu, os, features, devices) around
// the hostdevs; accepted by virt-xml-validate and `virsh define`. Same
// InvalidArgument cases as HostdevsXml, plus an empty name, zero memory,
// zero vcpus, or a control character in name, type, machine or arch.
absl::StatusOr<std::string> DomainXml(const DomainOptions& opts,
                                      const std::vector<HostdevSpec>& devs);

}  // namespace sk::libvirt
