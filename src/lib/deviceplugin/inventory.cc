#include "lib/deviceplugin/inventory.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

#include "lib/base/file_util.h"
#include "lib/base/strings.h"

namespace sk::deviceplugin {
namespace {

std::string Hex4(uint16_t v) { return absl::StrFormat("%04x", v); }

// Netlink EncapType names, as upstream's linkTypes compares them. Local so
// the inventory does not need the host model's implementation file.
std::string EncapName(sysfs::LinkType t) {
  switch (t) {
    case sysfs::LinkType::kEther:
      return "ether";
    case sysfs::LinkType::kInfiniband:
      return "infiniband";
    case sysfs::LinkType::kUnknown:
      break;
  }
  return "";
}

// Interfaces with an IPv4 default route, from /proc/net/route
// ("Iface Destination Gateway Flags ... Mask ..."; hex, destination 0).
std::set<std::string> DefaultRouteIfaces(const sysfs::Sysfs& fs) {
  std::set<std::string> out;
  auto text = ReadFile(fs.Path("proc/net/route"));
  if (!text.ok()) return out;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() >= 8 && f[1] == "00000000" && f[7] == "00000000") {
      out.insert(std::string(f[0]));
    }
  }
  return out;
}

}  // namespace

std::set<std::string> DefaultRouteInterfaces(const sysfs::Sysfs& fs) {
  return DefaultRouteIfaces(fs);
}

bool PfHasCarrier(const sysfs::Sysfs& fs, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." ||
      name == "..") {
    return true;  // not a netdev name; never taken from sysfs like this
  }
  std::string dir = sk::StrCat("sys/class/net/", name, "/");
  auto carrier = ReadFile(fs.Path(dir + "carrier"));
  if (carrier.ok()) {
    return std::string(absl::StripAsciiWhitespace(*carrier)) != "0";
  }
  auto oper = ReadFile(fs.Path(dir + "operstate"));
  if (!oper.ok()) return true;
  std::string o(absl::StripAsciiWhitespace(*oper));
  return o != "down" && o != "lowerlayerdown" && o != "notpresent";
}

const PoolDevice* Pool::Find(const std::string& id) const {
  auto it = std::lower_bound(
      devices.begin(), devices.end(), id,
      [](const PoolDevice& d, const std::string& v) { return d.id < v; });
  if (it == devices.end() || it->id != id) return nullptr;
  return &*it;
}

namespace {

// Which optional facts a pool's selectors need (each costs sysfs reads or a
// devlink query per device).
struct Lookups {
  bool rdma = false;
  bool vdpa = false;
  const DdpProfileSource* ddp = nullptr;  // set when a selector has profiles
  const RdmaParamSource* rdma_param = nullptr;  // set with `rdma`
};

Lookups LookupsFor(const ResourceConfig& r, const DiscoveryOptions& opts) {
  Lookups l;
  for (const Selector& s : r.selectors) {
    l.rdma = l.rdma || s.is_rdma;
    l.vdpa = l.vdpa || !s.vdpa_type.empty();
    if (!s.ddp_profiles.empty()) l.ddp = opts.ddp;
  }
  // Upstream has no RDMA spec for accelerators (devlink.h).
  if (l.rdma && r.device_type != DeviceType::kAccelerator) {
    l.rdma_param = opts.rdma_param;
  }
  return l;
}

// isRdma (devlink.h): RDMA devices in sysfs, else devlink's enable_rdma.
bool HasRdma(const sysfs::Sysfs& fs, const std::string& dir,
             std::string_view bus, const std::string& dev,
             const Lookups& want) {
  auto ib = fs.ListDir(dir + "/infiniband");
  if (ib.ok() && !ib->empty()) return true;
  if (want.rdma_param == nullptr) return false;
  auto on = want.rdma_param->EnableRdma(bus, dev);
  return on.ok() && *on;
}

std::string PfNetdev(const sysfs::PciDevice& pf) {
  if (pf.pf_netdev) return *pf.pf_netdev;
  if (!pf.netdevs.empty()) return pf.netdevs.front().name;
  return "";
}

DeviceFacts Facts(const sysfs::PciDevice& d, const sysfs::PciDevice* pf,
                  const sysfs::Sysfs& fs, const Lookups& want) {
  const bool want_rdma = want.rdma;
  DeviceFacts f;
  f.pci_address = d.address.ToString();
  f.vendor = Hex4(d.vendor_id);
  f.device = Hex4(d.device_id);
  f.driver = d.driver.value_or("");
  if (d.acpi_index) f.acpi_index = std::to_string(*d.acpi_index);
  if (d.physfn) {
    f.pf_address = d.physfn->ToString();
    f.vf_index = d.vf_index.value_or(-1);
    if (pf != nullptr) {
      if (pf->pf_netdev) {
        f.pf_name = *pf->pf_netdev;
      } else if (!pf->netdevs.empty()) {
        f.pf_name = pf->netdevs.front().name;
      }
    }
  }
  // Link type of the device's netdev, else of the PF's (upstream rule; a VF
  // bound to vfio-pci has no netdev).
  if (!d.netdevs.empty()) {
    f.link_type = EncapName(d.netdevs.front().link_type);
  } else if (pf != nullptr) {
    for (const auto& n : pf->netdevs) {
      if (n.name == f.pf_name || pf->netdevs.size() == 1) {
        f.link_type = EncapName(n.link_type);
      }
    }
  }
  if (want_rdma) {
    f.rdma = HasRdma(fs, sk::StrCat("sys/bus/pci/devices/", f.pci_address),
                     "pci", f.pci_address, want);
  }
  // Upstream reads the P_Key of every InfiniBand function (pciNetDevice.go).
  if (f.link_type == "infiniband") f.pkey = ReadDefaultPkey(fs, f.pci_address);
  if (want.vdpa) {
    if (auto v = FindVdpaDevice(fs, f.pci_address)) f.vdpa_type = v->type;
  }
  if (want.ddp != nullptr) {
    f.ddp_profile = DdpProfileOf(*want.ddp, f.pci_address, f.pf_address);
  }
  return f;
}

// The facts of auxiliary device `name` below the PCI function `parent`.
DeviceFacts AuxFacts(const std::string& name, const sysfs::PciDevice& parent,
                     const sysfs::Sysfs& fs, const Lookups& want) {
  DeviceFacts f;
  f.pci_address = parent.address.ToString();
  f.vendor = Hex4(parent.vendor_id);
  f.device = Hex4(parent.device_id);
  f.driver = parent.driver.value_or("");
  f.aux_type = AuxDeviceType(name);
  f.pf_address = f.pci_address;
  f.pf_name = PfNetdev(parent);
  std::string dir = sk::StrCat("sys/bus/auxiliary/devices/", name);
  auto sfnum = fs.ReadInt(dir + "/sfnum");
  if (sfnum.ok() && *sfnum >= 0 && *sfnum <= INT32_MAX) {
    f.vf_index = static_cast<int>(*sfnum);
  }
  for (const auto& n : parent.netdevs) {
    if (n.name == f.pf_name || parent.netdevs.size() == 1) {
      f.link_type = EncapName(n.link_type);
    }
  }
  if (want.rdma) f.rdma = HasRdma(fs, dir, "auxiliary", name, want);
  return f;
}

}  // namespace

DeviceFacts FactsFor(const sysfs::PciDevice& d,
                     const std::vector<sysfs::PciDevice>& all,
                     const sysfs::Sysfs& fs) {
  const sysfs::PciDevice* pf = nullptr;
  if (d.physfn) {
    for (const auto& c : all) {
      if (c.address == *d.physfn) pf = &c;
    }
  }
  // Everything but DDP profiles, which need a devlink source.
  return Facts(
      d, pf, fs,
      Lookups{
          .rdma = true, .vdpa = true, .ddp = nullptr, .rdma_param = nullptr});
}

namespace {

// An auxNetDevice pool: the auxiliary devices of every candidate function,
// first match wins as for PCI pools.
void AddAuxDevices(const ResourceConfig& r,
                   const std::vector<const sysfs::PciDevice*>& parents,
                   const sysfs::Sysfs& fs, const Lookups& want,
                   std::map<std::string, std::string>* owner, Pool* pool,
                   std::vector<std::string>* log) {
  for (const sysfs::PciDevice* d : parents) {
    for (const std::string& name : AuxDevicesOf(fs, d->address.ToString())) {
      DeviceFacts facts = AuxFacts(name, *d, fs, want);
      for (size_t si = 0; si < r.selectors.size(); ++si) {
        const Selector& s = r.selectors[si];
        if (!Matches(s, facts)) continue;
        auto [it, fresh] = owner->emplace(name, r.FullName());
        if (!fresh) {
          if (it->second != r.FullName()) {
            log->push_back(sk::StrCat(name, ": not added to ", r.FullName(),
                                      ": already in ", it->second,
                                      " (first match wins)"));
            ++pool->excluded["other_pool"];
          }
          break;
        }
        PoolDevice pd;
        pd.id = name;
        pd.aux = true;
        pd.facts = facts;
        if (!r.exclude_topology) pd.numa_node = d->numa_node;
        pd.selector_index = si;
        pd.need_vhost_net = s.need_vhost_net;
        if (s.is_rdma) {
          auto ib = fs.ListDir(
              sk::StrCat("sys/bus/auxiliary/devices/", name, "/infiniband"));
          if (ib.ok()) pd.rdma_devices = *ib;
        }
        pool->devices.push_back(std::move(pd));
        break;
      }
    }
  }
  std::sort(
      pool->devices.begin(), pool->devices.end(),
      [](const PoolDevice& a, const PoolDevice& b) { return a.id < b.id; });
}

}  // namespace

DeviceFacts AuxFactsFor(const std::string& name, const sysfs::PciDevice& parent,
                        const sysfs::Sysfs& fs) {
  return AuxFacts(
      name, parent, fs,
      Lookups{
          .rdma = true, .vdpa = false, .ddp = nullptr, .rdma_param = nullptr});
}

Inventory BuildInventory(const std::vector<ResourceConfig>& resources,
                         const std::vector<sysfs::PciDevice>& devices,
                         const sysfs::Sysfs& fs, const DiscoveryOptions& opts) {
  Inventory inv;
  std::set<std::string> routed;
  if (opts.exclude_default_route) routed = DefaultRouteIfaces(fs);

  // Candidates per device type, each exclusion logged once.
  std::map<DeviceType, std::vector<const sysfs::PciDevice*>> candidates;
  std::map<DeviceType, std::map<std::string, size_t>> excluded;
  std::set<DeviceType> wanted;
  for (const auto& r : resources) wanted.insert(r.device_type);
  for (DeviceType t : wanted) {
    auto& out = candidates[t];
    auto& why = excluded[t];
    for (const auto& d : devices) {
      std::string bdf = d.address.ToString();
      if (t == DeviceType::kAccelerator ? !d.is_accelerator()
                                        : !d.is_network()) {
        continue;
      }
      if (!d.driver) {
        inv.log.push_back(sk::StrCat(bdf, ": excluded: no driver bound"));
        ++why["no_driver"];
        continue;
      }
      if (t == DeviceType::kNetDevice) {
        if (d.is_pf() && d.sriov_numvfs.value_or(0) > 0) {
          inv.log.push_back(sk::StrCat(bdf, ": excluded: PF with ",
                                       *d.sriov_numvfs,
                                       " VFs (its VFs are candidates)"));
          ++why["pf_has_vfs"];
          continue;
        }
        auto routed_dev = std::find_if(
            d.netdevs.begin(), d.netdevs.end(),
            [&](const sysfs::NetDev& n) { return routed.count(n.name) > 0; });
        if (routed_dev != d.netdevs.end()) {
          inv.log.push_back(sk::StrCat(
              bdf, ": excluded: netdev ", routed_dev->name,
              " has the IPv4 default route (--exclude-default-route=false "
              "keeps it)"));
          ++why["default_route"];
          continue;
        }
      }
      out.push_back(&d);
    }
  }

  std::map<sysfs::PciAddress, const sysfs::PciDevice*> by_address;
  for (const auto& d : devices) by_address[d.address] = &d;
  std::map<std::string, std::string> owner;  // device id -> resource
  std::map<std::string, bool> carrier;       // PF netdev -> has carrier
  for (const auto& r : resources) {
    Pool pool;
    pool.config = r;
    pool.excluded = excluded[r.device_type];
    const Lookups want = LookupsFor(r, opts);
    if (want.ddp == nullptr &&
        std::any_of(
            r.selectors.begin(), r.selectors.end(),
            [](const Selector& s) { return !s.ddp_profiles.empty(); })) {
      inv.log.push_back(
          sk::StrCat(r.FullName(),
                     ": ddpProfiles: no DDP profile source (devlink) in "
                     "this build; those selectors match no device"));
    }
    if (r.device_type == DeviceType::kAuxNetDevice) {
      AddAuxDevices(r, candidates[r.device_type], fs, want, &owner, &pool,
                    &inv.log);
      inv.pools.push_back(std::move(pool));
      continue;
    }
    for (const sysfs::PciDevice* d : candidates[r.device_type]) {
      const sysfs::PciDevice* pf = nullptr;
      if (d->physfn) {
        auto it = by_address.find(*d->physfn);
        if (it != by_address.end()) pf = it->second;
      }
      DeviceFacts facts = Facts(*d, pf, fs, want);
      for (size_t si = 0; si < r.selectors.size(); ++si) {
        const Selector& s = r.selectors[si];
        if (!Matches(s, facts)) continue;
        auto [it, fresh] = owner.emplace(facts.pci_address, r.FullName());
        if (!fresh) {
          if (it->second != r.FullName()) {
            inv.log.push_back(sk::StrCat(facts.pci_address, ": not added to ",
                                         r.FullName(), ": already in ",
                                         it->second, " (first match wins)"));
            ++pool.excluded["other_pool"];
          }
          break;
        }
        PoolDevice pd;
        pd.id = facts.pci_address;
        pd.facts = facts;
        if (!r.exclude_topology) pd.numa_node = d->numa_node;
        pd.selector_index = si;
        pd.need_vhost_net = s.need_vhost_net;
        if (s.is_rdma) {
          auto ib = fs.ListDir(
              sk::StrCat("sys/bus/pci/devices/", pd.id, "/infiniband"));
          if (ib.ok()) pd.rdma_devices = *ib;
        }
        if (!s.vdpa_type.empty()) pd.vdpa = FindVdpaDevice(fs, pd.id);
        if (r.pf_carrier_health && !pd.facts.pf_name.empty()) {
          auto [c, added] = carrier.emplace(pd.facts.pf_name, true);
          if (added) c->second = PfHasCarrier(fs, pd.facts.pf_name);
          if (!c->second) {
            pd.healthy = false;
            inv.log.push_back(sk::StrCat(pd.id, ": unhealthy in ", r.FullName(),
                                         ": PF ", pd.facts.pf_name,
                                         " has no carrier (pfCarrierHealth)"));
          }
        }
        pool.devices.push_back(std::move(pd));
        break;
      }
    }
    std::sort(
        pool.devices.begin(), pool.devices.end(),
        [](const PoolDevice& a, const PoolDevice& b) { return a.id < b.id; });
    inv.pools.push_back(std::move(pool));
  }
  return inv;
}

}  // namespace sk::deviceplugin
