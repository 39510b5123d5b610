// Fuzzes the readers of Kubernetes API objects as a LIST or WATCH delivers
// them to the cluster code (any JSON the API server, or whoever can write
// those objects, sends): the input is a bounded JSON document, used as
//   - a pod list for the drains (lib/drain: PodsHoldingVfs reads the Multus
//     network-status annotation, PodsForFullDrain ownerReferences, the
//     mirror annotation and status.phase),
//   - SriovNetworkPoolConfig and Node objects for the reboot budget
//     (ResolveBudget, SelectorMatches, ScaledMaxUnavailable),
//   - a Lease (LeaseRecordFromJson, ParseMicroTime),
//   - a SriovNetwork object for the NAD controller (ParseSriovNetworkObject).
// Invariants: nothing throws, crashes, loops or allocates without bound; a
// pod named as holding a VF is one of the input pods; a budget is at least
// 0 and names a slot prefix; a Lease record survives LeaseToJson and back.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

#include "lib/base/json.h"
#include "lib/drain/drain.h"
#include "lib/drain/reboot.h"
#include "lib/kube/lease.h"
#include "lib/nodeconfig/render.h"

namespace {

using nlohmann::json;

// The array itself, the "items" of a List, or the object alone.
std::vector<json> Items(const json& doc) {
  if (doc.is_array()) return doc.get<std::vector<json>>();
  if (doc.is_object() && doc.contains("items") && doc["items"].is_array()) {
    return doc["items"].get<std::vector<json>>();
  }
  return {doc};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto doc = sk::ParseJsonBounded(in, {.max_depth = 64, .max_bytes = 1 << 20});
  if (!doc.ok()) return 0;
  const std::vector<json> items = Items(*doc);

  // Drains.
  const std::set<std::string> vfs = {"0000:01:10.0", "0000:01:10.2"};
  std::set<std::string> unmatched = vfs;
  for (const auto& p : sk::drain::PodsHoldingVfs(items, vfs, &unmatched)) {
    if (p.name.empty()) __builtin_trap();
  }
  if (unmatched.size() > vfs.size()) __builtin_trap();
  (void)sk::drain::PodsForFullDrain(items);

  // The reboot budget: the items as pools and as nodes.
  for (const json& item : items) {
    if (item.is_object() && item.contains("spec") && item["spec"].is_object()) {
      const json& spec = item["spec"];
      if (spec.contains("maxUnavailable")) {
        auto n = sk::drain::ScaledMaxUnavailable(spec["maxUnavailable"], 7);
        if (n.ok() && *n < 0) __builtin_trap();
      }
      if (spec.contains("nodeSelector")) {
        (void)sk::drain::SelectorMatches(spec["nodeSelector"],
                                         {{"a", "b"}, {"role", "sriov"}});
      }
    }
  }
  auto budget = sk::drain::ResolveBudget(items, items, "worker-1");
  if (budget.ok() &&
      (budget->max_unavailable < 0 || budget->slot_prefix.empty())) {
    __builtin_trap();
  }

  // A Lease.
  auto lease = sk::kube::LeaseRecordFromJson(*doc);
  if (lease.ok()) {
    json back = sk::kube::LeaseToJson("ns", "l", *lease);
    auto again = sk::kube::LeaseRecordFromJson(back);
    if (!again.ok() || again->holder_identity != lease->holder_identity)
      __builtin_trap();
  }
  if (doc->is_string()) {
    (void)sk::kube::ParseMicroTime("spec.renewTime", doc->get<std::string>());
  }

  // A SriovNetwork object.
  for (const json& item : items) {
    auto net = sk::nodeconfig::ParseSriovNetworkObject(item, "fuzz");
    if (net.ok() && !json::accept(sk::nodeconfig::RenderNadConfig(*net))) {
      __builtin_trap();
    }
  }
  return 0;
}
