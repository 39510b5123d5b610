#include "lib/nodeconfig/plan.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <system_error>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

#include "lib/base/strings.h"
#include "lib/cni/state.h"

namespace sk::nodeconfig {
namespace {

using sysfs::HostSnapshot;
using sysfs::PciDevice;
using Json = nlohmann::ordered_json;

// Drivers a netdevice group VF must not stay on (the operator's
// DpdkDrivers in pkg/consts).
bool IsUserspaceDriver(const std::string& d) {
  return d == "igb_uio" || d == "vfio-pci" || d == "uio_pci_generic";
}

int PfMtu(const PciDevice& pf) {
  for (const auto& n : pf.netdevs) {
    if (pf.pf_netdev && n.name == *pf.pf_netdev && n.mtu) return *n.mtu;
  }
  return 0;
}

bool Overlap(const VfGroup& a, const VfGroup& b) {
  return !(a.end < b.start || a.start > b.end);
}

// Interface.mergeConfigs: keeps the old groups of other resources that do
// not overlap the new group; PF settings merged when any was kept or the
// priorities are equal.
void MergeInto(const DesiredPf& old, DesiredPf& input, bool equal_priority) {
  bool merged = false;
  std::vector<VfGroup> kept;
  for (const VfGroup& g : old.vf_groups) {
    if (g.resource_name == input.vf_groups[0].resource_name) continue;
    bool overlaps = false;
    for (const VfGroup& n : input.vf_groups) overlaps |= Overlap(g, n);
    if (!overlaps) {
      kept.push_back(g);
      merged = true;
    }
  }
  input.vf_groups.insert(input.vf_groups.end(), kept.begin(), kept.end());
  std::sort(
      input.vf_groups.begin(), input.vf_groups.end(),
      [](const VfGroup& a, const VfGroup& b) { return a.start < b.start; });
  if (!equal_priority && !merged) return;
  input.mtu = std::max(input.mtu, old.mtu);
  input.num_vfs = std::max(input.num_vfs, old.num_vfs);
}

std::string CurrentDriver(const PciDevice* vf) {
  return vf && vf->driver ? *vf->driver : "";
}

}  // namespace

std::string VfGroup::Range() const { return sk::StrCat(start, "-", end); }

const char* PfActionName(PfAction a) {
  switch (a) {
    case PfAction::kConfigure:
      return "configure";
    case PfAction::kReset:
      return "reset";
    default:
      return "none";
  }
}

std::vector<DesiredPf> MergePolicies(const std::vector<Policy>& policies,
                                     const NodeInfo& node,
                                     const HostSnapshot& host) {
  std::vector<DesiredPf> out;
  int previous_priority = 100;
  for (const Policy& p : SortByPriority(policies)) {
    if (p.name == "default" || !SelectsNode(p, node)) continue;
    for (const PciDevice* pf : host.PhysicalFunctions()) {
      if (!pf->is_network() || !SelectsPf(p.nic_selector, *pf)) continue;
      if (p.num_vfs <= 0) continue;
      DesiredPf d;
      d.pci_address = pf->address.ToString();
      d.name = pf->pf_netdev.value_or("");
      d.num_vfs = p.num_vfs;
      d.mtu = p.mtu;
      d.link_type = p.link_type;
      d.eswitch_mode = p.eswitch_mode;
      d.externally_managed = p.externally_managed;
      VfGroup g;
      g.resource_name = p.resource_name;
      g.device_type = p.device_type;
      g.start = 0;
      g.end = p.num_vfs - 1;
      for (const std::string& n : p.nic_selector.pf_names) {
        absl::StatusOr<PfNameRange> r = ParsePfNameRange(n);
        if (r.ok() && pf->pf_netdev && r->name == *pf->pf_netdev) {
          if (r->start >= 0) {
            g.start = r->start;
            g.end = r->end;
          }
          break;
        }
      }
      g.policy_name = p.name;
      g.mtu = p.mtu;
      g.is_rdma = p.is_rdma;
      g.vdpa_type = p.vdpa_type;
      d.vf_groups.push_back(g);
      auto it = std::find_if(out.begin(), out.end(), [&](const DesiredPf& e) {
        return e.pci_address == d.pci_address;
      });
      if (it == out.end()) {
        out.push_back(std::move(d));
      } else {
        MergeInto(*it, d, previous_priority == p.priority);
        *it = std::move(d);
      }
    }
    previous_priority = p.priority;
  }
  std::sort(out.begin(), out.end(), [](const DesiredPf& a, const DesiredPf& b) {
    return a.pci_address < b.pci_address;
  });
  return out;
}

absl::StatusOr<VfUsage> FindVfsInUse(const HostSnapshot& host,
                                     const UsageSources& src) {
  VfUsage use;
  std::set<std::string> vfs;
  std::map<std::string, std::string> group_to_vf;  // "12" / "noiommu-12"
  for (const PciDevice& d : host.devices()) {
    if (!d.is_vf()) continue;
    std::string bdf = d.address.ToString();
    vfs.insert(bdf);
    if (d.iommu_group) {
      group_to_vf[sk::StrCat(d.noiommu ? "noiommu-" : "", *d.iommu_group)] =
          bdf;
    }
  }
  if (!src.cni_state_dir.empty()) {
    cni::StateDir state(src.cni_state_dir);
    for (const std::string& bdf : vfs) {
      absl::StatusOr<std::optional<std::string>> a = state.ReadAllocation(bdf);
      if (a.ok() && a->has_value()) {
        use.emplace(bdf, sk::StrCat("CNI allocation (netns ", **a, ")"));
      }
    }
    absl::StatusOr<std::vector<std::pair<std::string, cni::CacheEntry>>>
        caches = state.ListCaches();
    if (caches.ok()) {
      for (const auto& [file, e] : *caches) {
        if (vfs.count(e.conf.device_id)) {
          use.emplace(e.conf.device_id, sk::StrCat("CNI cache record ", file));
        }
      }
    }
  }
  if (!src.proc_root.empty()) {
    std::error_code ec;
    std::filesystem::path proc = src.proc_root / "proc";
    std::string vfio_prefix = (src.dev_root.empty() || src.dev_root == "/")
                                  ? std::string("/dev/vfio/")
                                  : (src.dev_root / "dev/vfio/").string();
    for (const auto& pe : std::filesystem::directory_iterator(proc, ec)) {
      std::string pid = pe.path().filename().string();
      if (pid.empty() || !std::all_of(pid.begin(), pid.end(), [](char c) {
            return c >= '0' && c <= '9';
          }))
        continue;
      std::error_code fec;
      for (const auto& fe :
           std::filesystem::directory_iterator(pe.path() / "fd", fec)) {
        std::error_code lec;
        std::string target = std::filesystem::read_symlink(fe.path(), lec);
        if (lec) continue;
        std::string group;
        if (target.rfind("/dev/vfio/", 0) == 0) {
          group = target.substr(10);
        } else if (target.rfind(vfio_prefix, 0) == 0) {
          group = target.substr(vfio_prefix.size());
        } else {
          continue;
        }
        auto it = group_to_vf.find(group);
        if (it == group_to_vf.end()) continue;
        std::string comm;
        if (FILE* f = fopen((pe.path() / "comm").c_str(), "re")) {
          char buf[64] = {};
          if (fgets(buf, sizeof(buf), f) != nullptr) comm = buf;
          fclose(f);
          while (!comm.empty() && comm.back() == '\n') comm.pop_back();
        }
        use.emplace(it->second,
                    sk::StrCat("/dev/vfio/", group, " held open by pid ", pid,
                               comm.empty() ? "" : " (" + comm + ")"));
      }
    }
  }
  return use;
}

bool PfPlan::needs_vfio() const {
  for (const VfPlan& v : vfs)
    if (v.rebind && v.desired_driver == "vfio-pci") return true;
  return false;
}

bool Plan::changes() const {
  for (const PfPlan& p : pfs)
    if (p.action != PfAction::kNone) return true;
  return false;
}

Plan MakePlan(const std::vector<DesiredPf>& desired, const HostSnapshot& host,
              const std::map<std::string, OwnedPf>& owned,
              const VfUsage& usage) {
  Plan plan;
  for (const PciDevice* pf : host.PhysicalFunctions()) {
    std::string bdf = pf->address.ToString();
    auto want =
        std::find_if(desired.begin(), desired.end(),
                     [&](const DesiredPf& d) { return d.pci_address == bdf; });
    auto own = owned.find(bdf);
    if (want == desired.end() && own == owned.end()) continue;
    PfPlan pp;
    pp.pci_address = bdf;
    pp.name = pf->pf_netdev.value_or("");
    pp.total_vfs = pf->sriov_totalvfs.value_or(0);
    pp.current_num_vfs = pf->sriov_numvfs.value_or(0);
    pp.current_mtu = PfMtu(*pf);
    pp.original_num_vfs =
        own != owned.end() ? own->second.original_num_vfs : pp.current_num_vfs;
    pp.original_mtu =
        own != owned.end() ? own->second.original_mtu : pp.current_mtu;
    pp.link_up_set = own != owned.end() && own->second.link_up_set;
    std::vector<const PciDevice*> cur_vfs = host.VfsOf(*pf);
    auto vf_at = [&](int i) -> const PciDevice* {
      for (const PciDevice* v : cur_vfs)
        if (v->vf_index && *v->vf_index == i) return v;
      return nullptr;
    };
    auto block_all_in_use = [&](const std::string& why) {
      for (const PciDevice* v : cur_vfs) {
        auto u = usage.find(v->address.ToString());
        if (u != usage.end()) {
          pp.blockers.push_back(sk::StrCat("VF ", v->vf_index.value_or(-1), " ",
                                           u->first, " ", why, ": ",
                                           u->second));
        }
      }
    };
    if (want == desired.end()) {
      // Left every policy; sriovkit configured it: reset.
      pp.desired_num_vfs = 0;
      pp.desired_mtu = 0;
      if (own->second.mtu != 0 && own->second.original_mtu != 0 &&
          pp.current_mtu != own->second.original_mtu) {
        pp.desired_mtu = own->second.original_mtu;
      }
      if (pp.current_num_vfs != 0 || pp.desired_mtu != 0 || pp.link_up_set) {
        pp.action = PfAction::kReset;
        pp.recreate_vfs = pp.current_num_vfs != 0;
        block_all_in_use("would be destroyed");
      }
      plan.pfs.push_back(std::move(pp));
      continue;
    }
    const DesiredPf& d = *want;
    pp.externally_managed = d.externally_managed;
    pp.groups = d.vf_groups;
    pp.desired_num_vfs = d.externally_managed ? pp.current_num_vfs : d.num_vfs;
    if (!d.externally_managed && d.mtu > 0 && d.mtu > pp.current_mtu) {
      pp.desired_mtu = d.mtu;
    }
    pp.recreate_vfs = pp.desired_num_vfs != pp.current_num_vfs;
    if (pp.recreate_vfs) block_all_in_use("would be destroyed");
    bool any_rebind = false;
    for (int i = 0; i < pp.desired_num_vfs; ++i) {
      VfPlan v;
      v.index = i;
      const PciDevice* cur = pp.recreate_vfs ? nullptr : vf_at(i);
      if (cur) v.pci_address = cur->address.ToString();
      v.current_driver = CurrentDriver(cur);
      const VfGroup* g = nullptr;
      for (const VfGroup& gr : d.vf_groups)
        if (i >= gr.start && i <= gr.end) g = &gr;
      if (g != nullptr) {
        if (g->device_type == VfDeviceType::kVfioPci) {
          v.desired_driver = "vfio-pci";
          v.rebind = v.current_driver != "vfio-pci";
        } else {
          v.desired_driver = kDefaultDriver;
          // New VFs get their default driver from autoprobe; the apply
          // step checks and probes them when they did not.
          v.rebind = cur != nullptr && (v.current_driver.empty() ||
                                        IsUserspaceDriver(v.current_driver));
          if (g->mtu > 0) {
            v.desired_mtu = g->mtu;
            const sysfs::NetDev* nd =
                cur && !cur->netdevs.empty() ? &cur->netdevs.front() : nullptr;
            v.mtu_change = nd == nullptr || !nd->mtu || *nd->mtu != g->mtu;
          }
        }
      }
      if (cur && v.rebind) {
        auto u = usage.find(v.pci_address);
        if (u != usage.end()) {
          v.in_use = u->second;
          pp.blockers.push_back(sk::StrCat("VF ", i, " ", v.pci_address,
                                           " would be rebound: ", u->second));
        }
      }
      any_rebind |= v.rebind || v.mtu_change;
      pp.vfs.push_back(std::move(v));
    }
    if (pp.recreate_vfs || pp.desired_mtu != 0 || any_rebind) {
      pp.action = PfAction::kConfigure;
    }
    plan.needs_vfio |= pp.needs_vfio();
    plan.pfs.push_back(std::move(pp));
  }
  return plan;
}

std::string FormatPlanText(const Plan& plan) {
  if (plan.pfs.empty()) return "no PF is selected by any policy\n";
  std::string out;
  for (const PfPlan& p : plan.pfs) {
    absl::StrAppendFormat(&out, "PF %s %s  %s", p.pci_address,
                          p.name.empty() ? "-" : p.name,
                          PfActionName(p.action));
    if (p.externally_managed) out += " (externally managed)";
    absl::StrAppendFormat(&out, "  numVfs %d", p.current_num_vfs);
    if (p.desired_num_vfs != p.current_num_vfs)
      absl::StrAppendFormat(&out, " -> %d", p.desired_num_vfs);
    absl::StrAppendFormat(&out, " (of %d)", p.total_vfs);
    if (p.current_mtu) absl::StrAppendFormat(&out, "  mtu %d", p.current_mtu);
    if (p.desired_mtu) absl::StrAppendFormat(&out, " -> %d", p.desired_mtu);
    out += "\n";
    for (const VfGroup& g : p.groups) {
      absl::StrAppendFormat(&out, "  group %s VFs %s %s (policy %s)\n",
                            g.resource_name, g.Range(),
                            VfDeviceTypeName(g.device_type), g.policy_name);
    }
    for (const VfPlan& v : p.vfs) {
      if (!v.rebind && !v.mtu_change && !p.recreate_vfs) continue;
      absl::StrAppendFormat(
          &out, "  VF %d %s  %s -> %s%s%s\n", v.index,
          v.pci_address.empty() ? "(new)" : v.pci_address,
          v.current_driver.empty() ? "-" : v.current_driver,
          v.desired_driver.empty() ? "(unchanged)" : v.desired_driver,
          v.mtu_change ? sk::StrCat("  mtu -> ", v.desired_mtu) : std::string(),
          v.in_use.empty() ? "" : "  IN USE: " + v.in_use);
    }
    for (const std::string& b : p.blockers)
      absl::StrAppendFormat(&out, "  BLOCKED: %s\n", b);
  }
  if (!plan.changes()) out += "no changes\n";
  return out;
}

std::string FormatPlanJson(const Plan& plan) {
  Json j;
  j["pfs"] = Json::array();
  for (const PfPlan& p : plan.pfs) {
    Json pj;
    pj["pciAddress"] = p.pci_address;
    pj["name"] = p.name;
    pj["action"] = PfActionName(p.action);
    pj["externallyManaged"] = p.externally_managed;
    pj["totalVfs"] = p.total_vfs;
    pj["numVfs"] = {{"current", p.current_num_vfs},
                    {"desired", p.desired_num_vfs}};
    pj["mtu"] = {{"current", p.current_mtu},
                 {"desired", p.desired_mtu ? p.desired_mtu : p.current_mtu}};
    pj["recreateVfs"] = p.recreate_vfs;
    pj["blocked"] = p.blocked();
    pj["blockers"] = p.blockers;
    pj["vfGroups"] = Json::array();
    for (const VfGroup& g : p.groups) {
      pj["vfGroups"].push_back({{"resourceName", g.resource_name},
                                {"deviceType", VfDeviceTypeName(g.device_type)},
                                {"vfRange", g.Range()},
                                {"policyName", g.policy_name},
                                {"mtu", g.mtu},
                                {"isRdma", g.is_rdma}});
    }
    pj["vfs"] = Json::array();
    for (const VfPlan& v : p.vfs) {
      pj["vfs"].push_back(
          {{"index", v.index},
           {"pciAddress", v.pci_address.empty() ? Json() : Json(v.pci_address)},
           {"driver",
            {{"current", v.current_driver}, {"desired", v.desired_driver}}},
           {"rebind", v.rebind},
           {"inUse", v.in_use.empty() ? Json() : Json(v.in_use)}});
    }
    j["pfs"].push_back(std::move(pj));
  }
  j["changes"] = plan.changes();
  return j.dump(2) + "\n";
}

}  // namespace sk::nodeconfig
