#include "lib/kubevirt/launcher_pod.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "yaml-cpp/yaml.h"
#include <openssl/evp.h>

#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/input.h"

namespace sk::kubevirt {
namespace {

using ojson = nlohmann::ordered_json;

// yaml-cpp's const operator[] returns an invalid node for a missing key and
// Type() on it throws; check IsDefined() first.
bool IsScalarNode(const YAML::Node& n) { return n.IsDefined() && n.IsScalar(); }
bool IsMapNode(const YAML::Node& n) { return n.IsDefined() && n.IsMap(); }

absl::Status AddNadNode(const YAML::Node& doc, std::string_view source,
                        const std::string& default_ns,
                        std::map<std::string, Nad>* out) {
  if (!doc.IsMap()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": want a NetworkAttachmentDefinition object"));
  }
  const std::string kind =
      IsScalarNode(doc["kind"]) ? doc["kind"].Scalar() : std::string();
  if (absl::EndsWith(kind, "List")) {
    const YAML::Node items = doc["items"];
    if (items.IsDefined() && !items.IsNull() && !items.IsSequence()) {
      return absl::InvalidArgumentError(
          sk::StrCat(source, ": ", kind, ".items: want a list"));
    }
    for (size_t i = 0;
         items.IsDefined() && items.IsSequence() && i < items.size(); ++i) {
      SK_RETURN_IF_ERROR(AddNadNode(items[i], source, default_ns, out));
    }
    return absl::OkStatus();
  }
  if (kind != "NetworkAttachmentDefinition") {
    return absl::InvalidArgumentError(sk::StrCat(
        source, ": kind \"", kind, "\": want NetworkAttachmentDefinition"));
  }
  const YAML::Node meta = doc["metadata"];
  Nad nad;
  nad.source = std::string(source);
  if (IsMapNode(meta) && IsScalarNode(meta["name"]))
    nad.name = meta["name"].Scalar();
  if (nad.name.empty()) {
    return absl::InvalidArgumentError(sk::StrCat(
        source, ": NetworkAttachmentDefinition without metadata.name"));
  }
  nad.namespace_ =
      IsScalarNode(meta["namespace"]) ? meta["namespace"].Scalar() : default_ns;
  const YAML::Node ann = meta["annotations"];
  if (IsMapNode(ann) && ann[kResourceNameAnnotation].IsDefined()) {
    const YAML::Node rn = ann[kResourceNameAnnotation];
    if (!rn.IsScalar()) {
      return absl::InvalidArgumentError(
          sk::StrCat(source, ": NetworkAttachmentDefinition ", nad.name,
                     ": metadata.annotations[", kResourceNameAnnotation,
                     "]: want a string"));
    }
    nad.resource_name = rn.Scalar();
  }
  const YAML::Node spec = doc["spec"];
  if (IsMapNode(spec) && IsScalarNode(spec["config"])) {
    nad.config = spec["config"].Scalar();
  }
  std::string key = nad.namespace_ + "/" + nad.name;
  auto [it, fresh] = out->emplace(key, nad);
  if (!fresh) {
    return absl::AlreadyExistsError(
        sk::StrCat(source, ": NetworkAttachmentDefinition ", key,
                   " already defined in ", it->second.source));
  }
  return absl::OkStatus();
}

struct Quantity {
  const char* suffix;
  int64_t multiplier;
};
constexpr Quantity kSuffixes[] = {
    {"Ki", int64_t{1} << 10},
    {"Mi", int64_t{1} << 20},
    {"Gi", int64_t{1} << 30},
    {"Ti", int64_t{1} << 40},
    {"Pi", int64_t{1} << 50},
    {"Ei", int64_t{1} << 60},
    {"k", 1000},
    {"M", 1000000},
    {"G", 1000000000},
    {"T", 1000000000000},
    {"P", 1000000000000000},
    {"E", 1000000000000000000},
};

}  // namespace

absl::Status NadStore::AddText(std::string_view text, std::string_view source) {
  absl::StatusOr<std::vector<YAML::Node>> loaded = LoadYamlDocuments(text);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": ", loaded.status().message()));
  }
  std::vector<YAML::Node>& docs = *loaded;
  // Staged so a failing file adds nothing.
  std::map<std::string, Nad> staged = nads_;
  try {
    for (const YAML::Node& doc : docs) {
      if (doc.IsNull()) continue;  // empty document between "---"
      SK_RETURN_IF_ERROR(AddNadNode(doc, source, default_namespace_, &staged));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": unexpected document shape: ", e.what()));
  }
  nads_ = std::move(staged);
  return absl::OkStatus();
}

absl::Status NadStore::AddFile(const std::filesystem::path& path) {
  SK_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path));
  return AddText(text, path.string());
}

absl::Status NadStore::AddDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return absl::NotFoundError(
          sk::StrCat("NAD directory ", dir, ": does not exist"));
    }
    return absl::InvalidArgumentError(
        sk::StrCat("NAD directory ", dir, ": ", ec.message()));
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : it) {
    const std::string ext = e.path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) SK_RETURN_IF_ERROR(AddFile(f));
  return absl::OkStatus();
}

const Nad* NadStore::Find(std::string_view ns, std::string_view name) const {
  auto it = nads_.find(sk::StrCat(ns, "/", name));
  return it == nads_.end() ? nullptr : &it->second;
}

std::string HashedPodInterfaceName(std::string_view network_name) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure or a missing algorithm,
  // neither of which the input can cause: treat as a bug.
  const int ok = EVP_Digest(network_name.data(), network_name.size(), md, &len,
                            EVP_sha256(), nullptr);
  SK_CHECK(ok == 1 && len == 32) << "EVP_Digest(sha256) failed";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "pod";
  for (int i = 0; out.size() < 14; ++i) {
    out.push_back(kHex[(md[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xf]);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> PodInterfaceNames(
    const Vmi& vmi, PodIfaceNaming naming) {
  std::vector<std::pair<std::string, std::string>> out;
  int ordinal = 0;
  for (const Network& n : vmi.networks) {
    if (!n.multus || n.multus_default) continue;
    ++ordinal;
    out.emplace_back(n.name, naming == PodIfaceNaming::kOrdinal
                                 ? sk::StrCat("net", ordinal)
                                 : HashedPodInterfaceName(n.name));
  }
  return out;
}

absl::StatusOr<std::string> MultusNetworksAnnotation(const Vmi& vmi,
                                                     PodIfaceNaming naming) {
  ojson arr = ojson::array();
  for (const auto& [net_name, pod_iface] : PodInterfaceNames(vmi, naming)) {
    const Network* n = vmi.FindNetwork(net_name);
    const Interface* iface = vmi.FindInterface(net_name);
    if (iface != nullptr && iface->state == "absent") continue;
    SK_ASSIGN_OR_RETURN(NetworkRef ref, ParseNetworkName(n->multus_network_name,
                                                         vmi.namespace_));
    ojson e;
    e["name"] = ref.name;
    e["namespace"] = ref.namespace_;
    if (iface != nullptr && !iface->mac_address.empty()) {
      e["mac"] = iface->mac_address;
    }
    e["interface"] = pod_iface;
    arr.push_back(std::move(e));
  }
  if (arr.empty()) return std::string();
  return arr.dump();
}

absl::StatusOr<int64_t> ParseMemoryQuantity(std::string_view q) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        sk::StrCat("memory quantity \"", q, "\": ", why));
  };
  size_t num_end = 0;
  while (num_end < q.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(q[num_end])) ||
          q[num_end] == '.')) {
    ++num_end;
  }
  std::string_view num = q.substr(0, num_end), suffix = q.substr(num_end);
  int64_t mult = 1;
  if (!suffix.empty()) {
    mult = 0;
    for (const Quantity& s : kSuffixes) {
      if (suffix == s.suffix) mult = s.multiplier;
    }
    if (mult == 0)
      return bad("unknown suffix (want Ki, Mi, Gi, Ti, k, M, G, T or none)");
  }
  size_t dot = num.find('.');
  std::string_view whole = num.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : num.substr(dot + 1);
  if (whole.empty() || frac.find('.') != std::string_view::npos ||
      (dot != std::string_view::npos && frac.empty()) || frac.size() > 9) {
    return bad("want digits[.digits][suffix]");
  }
  uint64_t w = 0, f = 0, scale = 1;
  if (!absl::SimpleAtoi(sk::ToAbsl(whole), &w)) return bad("out of range");
  if (!frac.empty() && !absl::SimpleAtoi(sk::ToAbsl(frac), &f)) {
    return bad("out of range");
  }
  for (size_t i = 0; i < frac.size(); ++i) scale *= 10;
  // Memory quantities round up to whole bytes, as Kubernetes does.
  unsigned __int128 total =
      (static_cast<unsigned __int128>(w) * scale + f) * mult;
  total = (total + scale - 1) / scale;
  if (total > static_cast<unsigned __int128>(INT64_MAX)) {
    return bad("out of range");
  }
  return static_cast<int64_t>(total);
}

std::string FormatMemoryQuantity(int64_t bytes) {
  static constexpr const char* kBin[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
  for (int i = 0; i < 6; ++i) {
    const int64_t m = int64_t{1} << (10 * (6 - i));
    if (bytes != 0 && bytes % m == 0) return sk::StrCat(bytes / m, kBin[i]);
  }
  return sk::StrCat(bytes);
}

bool HasVfio(const Vmi& vmi) {
  for (const Interface& i : vmi.interfaces) {
    if (i.has_binding("sriov") && i.state != "absent") return true;
  }
  return false;
}

absl::StatusOr<nlohmann::ordered_json> RenderLauncherPod(
    const Vmi& vmi, const NadStore& nads, const RenderPodOptions& opts) {
  SK_RETURN_IF_ERROR(AdmitVmi(vmi));
  const std::string& base_mem =
      vmi.memory_request.empty() ? vmi.memory_guest : vmi.memory_request;
  if (base_mem.empty()) {
    return absl::InvalidArgumentError(
        "VMI has no memory: set spec.domain.memory.guest or "
        "spec.domain.resources.requests.memory");
  }
  const bool vfio = HasVfio(vmi);
  const int64_t overhead = vfio ? kVfioMemoryOverheadBytes : 0;
  SK_ASSIGN_OR_RETURN(int64_t mem_req, ParseMemoryQuantity(base_mem));

  // Resources are a Kubernetes ResourceList: a map, marshalled sorted.
  std::map<std::string, int64_t> net_resources;
  if (!opts.external_resource_injection) {
    for (const Network& n : vmi.networks) {
      if (!n.multus) continue;
      SK_ASSIGN_OR_RETURN(
          NetworkRef ref,
          ParseNetworkName(n.multus_network_name, vmi.namespace_));
      const Nad* nad = nads.Find(ref.namespace_, ref.name);
      if (nad == nullptr) {
        return absl::NotFoundError(
            sk::StrCat("failed to locate network attachment definition ",
                       ref.Key(), " (network \"", n.name, "\")"));
      }
      if (!nad->resource_name.empty()) ++net_resources[nad->resource_name];
    }
  }
  nlohmann::json requests = nlohmann::json::object();
  nlohmann::json limits = nlohmann::json::object();
  requests["memory"] = FormatMemoryQuantity(mem_req + overhead);
  if (!vmi.memory_limit.empty()) {
    SK_ASSIGN_OR_RETURN(int64_t lim, ParseMemoryQuantity(vmi.memory_limit));
    limits["memory"] = FormatMemoryQuantity(lim + overhead);
  }
  for (const auto& [res, count] : net_resources) {
    requests[res] = std::to_string(count);
    limits[res] = std::to_string(count);
  }

  ojson pod;
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  ojson& meta = pod["metadata"];
  meta["generateName"] = sk::StrCat("virt-launcher-", vmi.name, "-");
  meta["namespace"] = vmi.namespace_;
  meta["labels"] = {{"kubevirt.io", "virt-launcher"},
                    {"vm.kubevirt.io/name", vmi.name}};
  ojson ann = ojson::object();
  ann["kubevirt.io/domain"] = vmi.name;
  SK_ASSIGN_OR_RETURN(std::string networks,
                      MultusNetworksAnnotation(vmi, opts.naming));
  if (!networks.empty()) ann[kNetworksAnnotation] = networks;
  for (const Network& n : vmi.networks) {
    if (n.multus && n.multus_default) {
      ann[kDefaultNetworkAnnotation] = n.multus_network_name;
    }
  }
  meta["annotations"] = std::move(ann);

  ojson compute;
  compute["name"] = "compute";
  compute["resources"]["requests"] = requests;
  if (!limits.empty()) compute["resources"]["limits"] = limits;
  ojson volumes = ojson::array();
  if (vfio) {
    compute["volumeMounts"] = ojson::array(
        {{{"name", kNetworkInfoVolume}, {"mountPath", kNetworkInfoMountPath}}});
    ojson item;
    item["path"] = kNetworkInfoFile;
    item["fieldRef"]["fieldPath"] =
        sk::StrCat("metadata.annotations['", kNetworkInfoAnnotation, "']");
    ojson vol;
    vol["name"] = kNetworkInfoVolume;
    vol["downwardAPI"]["items"] = ojson::array({item});
    volumes.push_back(std::move(vol));
  }
  pod["spec"]["containers"] = ojson::array({compute});
  pod["spec"]["volumes"] = volumes;
  return pod;
}

}  // namespace sk::kubevirt
