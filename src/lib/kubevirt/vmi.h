#pragma once
// The parts of KubeVirt's VirtualMachineInstance (and VirtualMachine) API
// that SR-IOV uses, parsed from YAML or JSON, and KubeVirt's admission rules
// that touch SR-IOV.
//
//   SK_ASSIGN_OR_RETURN(Vmi vmi, LoadVmiFile("vmi-sriov.yaml"));
//   SK_RETURN_IF_ERROR(AdmitVmi(vmi));        // InvalidArgument with causes
//   for (const Interface& i : vmi.interfaces) if (i.is_sriov()) ...
//
// Field names are KubeVirt's JSON names (kubevirt.io/api core/v1):
//   spec.domain.devices.interfaces[]: name, sriov/bridge/masquerade/
//       passtBinding/binding{name} (binding methods), macAddress, pciAddress,
//       bootOrder, state, tag
//   spec.domain.devices.disks[]: name, bootOrder (boot orders are unique
//       across disks and interfaces)
//   spec.networks[]: name, pod{}, multus{networkName, default},
//       resourceClaim{claimName, requestName}
// A VirtualMachine is read through spec.template (metadata from the VM, the
// spec from spec.template.spec), as KubeVirt's VM controller does when it
// creates the VMI.
//
// Parsing checks structure only (types and required scalars); the meaning
// of values is checked by ValidateVmi/AdmitVmi, so a parsed Vmi may still be
// inadmissible. Unknown fields are ignored, as the API server would keep
// them for other components.
//
// Thread safety: plain values; functions are pure.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sk::kubevirt {

struct Interface {
  std::string name;
  // Binding-method keys present on the interface, in document order
  // ("sriov", "bridge", "masquerade", "passtBinding", "binding", and the
  // discontinued "slirp", "macvtap", "passt"). Admission wants exactly one.
  std::vector<std::string> bindings;
  std::string binding_plugin;  // binding.name when "binding" is present
  std::string mac_address;     // "" when unset
  std::string pci_address;     // guest address "DDDD:BB:SS.F"; "" when unset
  std::optional<int64_t> boot_order;
  std::string state;  // "", "up", "down" or "absent"
  std::string tag;

  bool is_sriov() const;  // exactly the "sriov" binding
  bool has_binding(std::string_view b) const;
};

struct Network {
  std::string name;
  bool pod = false;                 // pod: {}
  bool multus = false;              // multus: {...}
  std::string multus_network_name;  // "[ns/]name"
  bool multus_default = false;
  bool resource_claim = false;  // resourceClaim: {...}
  int source_count() const;     // how many of pod/multus/resourceClaim
};

struct Disk {
  std::string name;
  std::optional<int64_t> boot_order;
};

struct Vmi {
  std::string source_kind;  // "VirtualMachineInstance" or "VirtualMachine"
  std::string name;
  std::string namespace_;  // metadata.namespace; "default" when absent
  std::map<std::string, std::string> annotations;  // of the VMI
  std::vector<Interface> interfaces;
  std::vector<Network> networks;
  std::vector<Disk> disks;
  // Memory as written (Kubernetes quantities), "" when absent.
  std::string memory_guest;    // spec.domain.memory.guest
  std::string memory_request;  // spec.domain.resources.requests.memory
  std::string memory_limit;    // spec.domain.resources.limits.memory
  uint32_t vcpus = 1;          // cpu.sockets * cores * threads (default 1)

  const Network* FindNetwork(std::string_view name) const;
  const Interface* FindInterface(std::string_view name) const;
};

// Parses one VirtualMachineInstance or VirtualMachine document (YAML or
// JSON) through the field reader (lib/base/field_reader.h). InvalidArgument
// in its one shape, "<source>: <path>: expected <what>, got <value>", when
// the text does not parse, `kind` is another kind, or a field has the wrong
// type (e.g. `VMI: spec.domain.devices.interfaces: expected a list, got
// {"a":1}`); "VMI: metadata.name: ..." for an invalid name. The source is
// "VMI".
absl::StatusOr<Vmi> ParseVmi(std::string_view text);

// ReadFile + ParseVmi with the path as the source; NotFound when the file is
// missing.
absl::StatusOr<Vmi> LoadVmiFile(const std::filesystem::path& path);

// Splits "ns/name" or "name" (namespace = default_ns).
struct NetworkRef {
  std::string namespace_;
  std::string name;
  std::string Key() const { return namespace_ + "/" + name; }
};
// InvalidArgument unless `network_name` is "name" or "ns/name" with
// non-empty parts.
absl::StatusOr<NetworkRef> ParseNetworkName(std::string_view network_name,
                                            std::string_view default_ns);

// One admission failure, as KubeVirt's StatusCause: the field path and the
// message.
struct Cause {
  std::string field;  // e.g. "spec.domain.devices.interfaces[1].state"
  std::string message;
};

// KubeVirt's admission rules that touch SR-IOV (pkg/network/admitter and
// the vmi-create admitter in kubevirt/kubevirt), plus three of our own marked
// [sriovkit]:
//  1. each interface has exactly one binding method or binding plugin;
//     slirp, macvtap and passt are discontinued;
//  2. interface and network names match 1:1, are unique and match
//     ^[A-Za-z0-9-_]+$;
//  3. each network has exactly one source; multus.networkName is required
//     (and [sriovkit] is "name" or "ns/name"); at most one pod network, at
//     most one multus default, never both;
//  4. state up/down is not supported for SR-IOV; absent only for bridge;
//  5. macAddress and pciAddress syntax; bootOrder > 0 and unique across
//     disks and interfaces; [sriovkit] a SR-IOV macAddress must be unicast
//     and guest pciAddresses unique;
//  6. masquerade only on the pod network; [sriovkit] SR-IOV never on the pod
//     network (it would get no VF);
//  7. a resourceClaim network needs an sriov or binding-plugin interface.
// Returns every cause found, in spec order; empty when admissible.
std::vector<Cause> ValidateVmi(const Vmi& vmi);

// OK, or InvalidArgument whose message is
// `admission webhook "virtualmachineinstances-create-validator.kubevirt.io"
// denied the request: <field>: <message>; <field>: <message>...`
absl::Status AdmitVmi(const Vmi& vmi);

}  // namespace sk::kubevirt
