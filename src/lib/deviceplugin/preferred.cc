#include "lib/deviceplugin/preferred.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_join.h"

#include "lib/base/strings.h"
#include "lib/deviceplugin/validate.h"

namespace sk::deviceplugin {
namespace {

// The PF a device is grouped under: its PF's address, else its own.
const std::string& PfKey(const PoolDevice& d) {
  return d.facts.pf_address.empty() ? d.id : d.facts.pf_address;
}

// packPF order of `cands` (sorted by ID): PFs in `first_pfs` first, then by
// offered count (descending), then by PF address; IDs ascending within.
std::vector<const PoolDevice*> PackOrder(
    const std::vector<const PoolDevice*>& cands,
    const std::set<std::string>& first_pfs) {
  std::map<std::string, std::vector<const PoolDevice*>> by_pf;
  for (const PoolDevice* d : cands) by_pf[PfKey(*d)].push_back(d);
  std::vector<std::pair<std::string, std::vector<const PoolDevice*>>> groups(
      by_pf.begin(), by_pf.end());
  std::stable_sort(groups.begin(), groups.end(),
                   [&](const auto& a, const auto& b) {
                     bool fa = first_pfs.count(a.first) > 0;
                     bool fb = first_pfs.count(b.first) > 0;
                     if (fa != fb) return fa;
                     return a.second.size() > b.second.size();
                   });
  std::vector<const PoolDevice*> out;
  for (auto& [pf, devs] : groups)
    out.insert(out.end(), devs.begin(), devs.end());
  return out;
}

// spreadPF: `need` devices, each from the PF with the fewest chosen so far.
std::vector<const PoolDevice*> SpreadPick(
    const std::vector<const PoolDevice*>& cands,
    std::map<std::string, size_t> chosen_per_pf, size_t need) {
  std::map<std::string, std::vector<const PoolDevice*>> by_pf;
  for (const PoolDevice* d : cands) by_pf[PfKey(*d)].push_back(d);
  std::map<std::string, size_t> next;  // index into by_pf[pf]
  std::vector<const PoolDevice*> out;
  while (out.size() < need) {
    const std::string* best = nullptr;
    for (auto& [pf, devs] : by_pf) {
      if (next[pf] >= devs.size()) continue;
      if (best == nullptr || chosen_per_pf[pf] < chosen_per_pf[*best]) {
        best = &pf;
      }
    }
    if (best == nullptr) break;
    out.push_back(by_pf[*best][next[*best]++]);
    ++chosen_per_pf[*best];
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> PreferredDevices(
    const Pool& pool, const std::vector<std::string>& available,
    const std::vector<std::string>& must_include, size_t size) {
  if (available.size() > kMaxPreferredIds) {
    return absl::InvalidArgumentError(
        sk::StrCat("available_deviceIDs: ", available.size(),
                   " device IDs; at most ", kMaxPreferredIds, " are accepted"));
  }
  if (must_include.size() > available.size()) {
    return absl::InvalidArgumentError(sk::StrCat(
        "must_include_deviceIDs: ", must_include.size(),
        " device IDs; more than the ", available.size(), " available"));
  }
  std::set<std::string> offered;
  for (size_t i = 0; i < available.size(); ++i) {
    if (!offered.insert(available[i]).second) {
      return absl::InvalidArgumentError(
          sk::StrCat("available_deviceIDs[", i, "]: device ID ",
                     Bounded(available[i]), " offered twice"));
    }
  }
  std::set<std::string> must;
  for (size_t i = 0; i < must_include.size(); ++i) {
    const std::string& id = must_include[i];
    if (offered.count(id) == 0) {
      return absl::InvalidArgumentError(
          sk::StrCat("must_include_deviceIDs[", i, "]: device ID ", Bounded(id),
                     " is not in available_deviceIDs"));
    }
    if (!must.insert(id).second) {
      return absl::InvalidArgumentError(sk::StrCat("must_include_deviceIDs[", i,
                                                   "]: device ID ", Bounded(id),
                                                   " named twice"));
    }
  }
  if (size < must_include.size() || size > available.size()) {
    return absl::InvalidArgumentError(sk::StrCat(
        "allocation_size ", size, ": must be between the ", must_include.size(),
        " must-include and the ", available.size(), " available device IDs"));
  }

  std::vector<std::string> out(must_include.begin(), must_include.end());
  const size_t need = size - out.size();
  // Known healthy candidates (by ID, as offered.begin() iterates sorted),
  // and the rest.
  std::vector<const PoolDevice*> cands;
  std::vector<std::string> others;
  std::set<std::string> first_pfs;
  std::set<int> first_numa;
  std::map<std::string, size_t> chosen_per_pf;
  for (const std::string& id : must_include) {
    if (const PoolDevice* d = pool.Find(id)) {
      first_pfs.insert(PfKey(*d));
      ++chosen_per_pf[PfKey(*d)];
      if (d->numa_node) first_numa.insert(*d->numa_node);
    }
  }
  for (const std::string& id : offered) {
    if (must.count(id) > 0) continue;
    const PoolDevice* d = pool.Find(id);
    if (d != nullptr && d->healthy) {
      cands.push_back(d);
    } else {
      others.push_back(id);
    }
  }

  std::vector<const PoolDevice*> order;
  switch (pool.config.allocation_policy) {
    case AllocationPolicy::kPackPf:
      order = PackOrder(cands, first_pfs);
      break;
    case AllocationPolicy::kSpreadPf:
      order = SpreadPick(cands, chosen_per_pf, need);
      break;
    case AllocationPolicy::kNuma: {
      std::map<int, std::vector<const PoolDevice*>> by_numa;
      std::vector<const PoolDevice*> no_numa;
      for (const PoolDevice* d : cands) {
        if (d->numa_node) {
          by_numa[*d->numa_node].push_back(d);
        } else {
          no_numa.push_back(d);
        }
      }
      std::vector<std::pair<int, std::vector<const PoolDevice*>>> nodes(
          by_numa.begin(), by_numa.end());
      std::stable_sort(nodes.begin(), nodes.end(),
                       [&](const auto& a, const auto& b) {
                         bool fa = first_numa.count(a.first) > 0;
                         bool fb = first_numa.count(b.first) > 0;
                         if (fa != fb) return fa;
                         return a.second.size() > b.second.size();
                       });
      for (auto& [node, devs] : nodes) {
        auto packed = PackOrder(devs, first_pfs);
        order.insert(order.end(), packed.begin(), packed.end());
      }
      auto packed = PackOrder(no_numa, first_pfs);
      order.insert(order.end(), packed.begin(), packed.end());
      break;
    }
  }
  for (const PoolDevice* d : order) {
    if (out.size() == size) break;
    out.push_back(d->id);
  }
  for (const std::string& id : others) {
    if (out.size() == size) break;
    out.push_back(id);
  }
  return out;
}

}  // namespace sk::deviceplugin
