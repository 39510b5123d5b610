#pragma once
// virt-controller's rendering of the virt-launcher pod, the SR-IOV parts
// (kubevirt/kubevirt pkg/network/multus/annotation.go,
// pkg/network/pod/annotations/generator.go and
// pkg/virt-controller/services/template.go):
//
//   NadStore nads("default");
//   SK_RETURN_IF_ERROR(nads.AddDir("nads/"));
//   SK_ASSIGN_OR_RETURN(nlohmann::ordered_json pod,
//                       RenderLauncherPod(vmi, nads, RenderPodOptions{}));
//
// The pod carries:
//  - annotation `k8s.v1.cni.cncf.io/networks`: a JSON array with one
//    NetworkSelectionElement per secondary Multus network, in spec.networks
//    order, skipping interfaces with state "absent":
//      [{"name":"sriov-network","namespace":"sriov",
//        "mac":"de:ad:00:00:be:af","interface":"pod5862143f341"}]
//    ("mac" only when the interface has macAddress); keys in the Go
//    struct's order, compact, as KubeVirt marshals it;
//  - annotation `v1.multus-cni.io/default-network` for a multus default
//    network, and `kubevirt.io/domain` = VMI name;
//  - container `compute` first (the network-resources-injector webhook
//    adds requests to the first container) with, per Multus network whose
//    NAD has `k8s.v1.cni.cncf.io/resourceName`, +1 of that resource in
//    both requests and limits (two networks on one resource -> "2");
//  - the VFIO memory overhead: when any interface is SR-IOV, 1Gi is added
//    to the memory request (and to the limit when the VMI sets one). Only
//    the VFIO part of KubeVirt's overhead is modelled: the request is
//    VMI memory + 1Gi, not KubeVirt's full overhead sum;
//  - with any SR-IOV interface, the downward-API volume
//    `network-info-annotation` (item `network-info` <- fieldRef
//    metadata.annotations['kubevirt.io/network-info']) mounted at
//    /etc/podinfo in compute.
//
// Thread safety: NadStore is not synchronised; functions are pure.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/kubevirt/vmi.h"

namespace sk::kubevirt {

inline constexpr char kNetworksAnnotation[] = "k8s.v1.cni.cncf.io/networks";
inline constexpr char kNetworkStatusAnnotation[] =
    "k8s.v1.cni.cncf.io/network-status";
inline constexpr char kResourceNameAnnotation[] =
    "k8s.v1.cni.cncf.io/resourceName";
inline constexpr char kDefaultNetworkAnnotation[] =
    "v1.multus-cni.io/default-network";
inline constexpr char kNetworkInfoAnnotation[] = "kubevirt.io/network-info";
inline constexpr char kNetworkInfoVolume[] = "network-info-annotation";
inline constexpr char kNetworkInfoMountPath[] = "/etc/podinfo";
inline constexpr char kNetworkInfoFile[] = "network-info";
inline constexpr int64_t kVfioMemoryOverheadBytes = int64_t{1} << 30;

// A NetworkAttachmentDefinition, the fields KubeVirt reads.
struct Nad {
  std::string namespace_;
  std::string name;
  std::string resource_name;  // annotation k8s.v1.cni.cncf.io/resourceName
  std::string config;         // spec.config (CNI JSON as text)
  std::string source;         // file it came from, for messages
};

// NADs keyed by namespace/name. Files are YAML or JSON; a file may hold
// several documents ("---") or a List (kind ending in "List", `items`).
// A NAD without metadata.namespace gets the store's default namespace
// (the CLI passes the VMI's, as `kubectl apply -n` would).
class NadStore {
 public:
  explicit NadStore(std::string default_namespace = "default")
      : default_namespace_(std::move(default_namespace)) {}

  // InvalidArgument (naming source and field) for a document that is not a
  // NetworkAttachmentDefinition or lacks metadata.name; AlreadyExists when
  // ns/name was already added.
  absl::Status AddText(std::string_view text, std::string_view source);
  // NotFound when the file is missing; otherwise as AddText.
  absl::Status AddFile(const std::filesystem::path& path);
  // Adds every *.yaml, *.yml and *.json in `dir` (not recursive), in name
  // order. NotFound when `dir` does not exist.
  absl::Status AddDir(const std::filesystem::path& dir);

  const Nad* Find(std::string_view ns, std::string_view name) const;
  size_t size() const { return nads_.size(); }

 private:
  std::string default_namespace_;
  std::map<std::string, Nad> nads_;  // "ns/name"
};

enum class PodIfaceNaming {
  kHashed,   // "pod" + first 11 hex of SHA-256(network name) (default)
  kOrdinal,  // legacy net1..netN
};

// "pod" + the first 11 lower-case hex digits of SHA-256(network_name): 14
// characters, leaving room for KubeVirt's "-nic" suffix within IFNAMSIZ-1.
std::string HashedPodInterfaceName(std::string_view network_name);

// Pod interface name of every secondary (non-default) Multus network, in
// spec order: {vmi network name, pod interface name}. Ordinal numbering
// counts these networks from 1.
std::vector<std::pair<std::string, std::string>> PodInterfaceNames(
    const Vmi& vmi, PodIfaceNaming naming);

// The value of the k8s.v1.cni.cncf.io/networks annotation, or "" when the
// VMI has no secondary Multus network. InvalidArgument for a malformed
// networkName.
absl::StatusOr<std::string> MultusNetworksAnnotation(const Vmi& vmi,
                                                     PodIfaceNaming naming);

// Kubernetes quantity -> bytes ("1Gi", "1024M", "512Mi", "1.5Gi", "100").
// Fractions round up to a whole byte. InvalidArgument naming the value for
// anything else (negative, exponent forms, unknown suffix, overflow).
absl::StatusOr<int64_t> ParseMemoryQuantity(std::string_view q);
// Bytes -> the largest exact binary suffix ("3Gi", "1536Mi", "1000").
std::string FormatMemoryQuantity(int64_t bytes);

// True when the VMI needs VFIO (any SR-IOV interface not marked absent).
bool HasVfio(const Vmi& vmi);

struct RenderPodOptions {
  PodIfaceNaming naming = PodIfaceNaming::kHashed;
  // KubeVirt's ExternalNetResourceInjection feature gate: read no NAD and
  // add no network resources (the injector webhook does).
  bool external_resource_injection = false;
};

// Renders the Pod object (apiVersion, kind, metadata, spec.containers with
// compute first, spec.volumes). Errors:
//  - InvalidArgument: the VMI fails AdmitVmi (message lists the causes), or
//    has no memory (spec.domain.memory.guest or resources.requests.memory)
//    or a malformed memory quantity;
//  - NotFound: "failed to locate network attachment definition <ns>/<name>"
//    (KubeVirt's message) for a Multus network whose NAD is not in `nads`.
absl::StatusOr<nlohmann::ordered_json> RenderLauncherPod(
    const Vmi& vmi, const NadStore& nads, const RenderPodOptions& opts);

}  // namespace sk::kubevirt
