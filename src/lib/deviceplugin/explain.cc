#include "lib/deviceplugin/explain.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include <nlohmann/json.hpp>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/sysfs/host.h"

namespace sk::deviceplugin {
namespace {

// Why no selector of `pools` took a device with facts `f`, one clause per
// selector. A selector that matches is reported too: only an earlier pool
// can have taken the device (every pooled device is in taken[]).
std::string WhyNoSelector(const std::vector<const ResourceConfig*>& pools,
                          const DeviceFacts& f) {
  std::vector<std::string> why;
  for (const ResourceConfig* r : pools) {
    for (size_t i = 0; i < r->selectors.size(); ++i) {
      std::string e = Explain(r->selectors[i], f);
      if (e.empty()) e = "matched, but an earlier pool took it";
      why.push_back(sk::StrCat(r->FullName(), " selector ", i, ": ", e));
    }
  }
  return absl::StrJoin(why, "; ");
}

// auxNetDevice pools: one verdict per auxiliary device of a bound network
// function, taken or with each aux pool's selector reason.
void AddAuxVerdicts(
    const std::vector<ResourceConfig>& resources,
    const std::vector<sysfs::PciDevice>& devices, const sysfs::Sysfs& fs,
    const std::map<std::string, std::pair<std::string, size_t>>& taken,
    std::vector<DeviceVerdict>* out) {
  std::vector<const ResourceConfig*> pools;
  for (const auto& r : resources) {
    if (r.device_type == DeviceType::kAuxNetDevice) pools.push_back(&r);
  }
  if (pools.empty()) return;
  for (const sysfs::PciDevice& d : devices) {
    if (!d.is_network() || !d.driver) continue;
    for (const std::string& name : AuxDevicesOf(fs, d.address.ToString())) {
      DeviceVerdict v;
      v.device = name;
      v.vendor = absl::StrFormat("%04x", d.vendor_id);
      v.device_id = absl::StrFormat("%04x", d.device_id);
      v.driver = *d.driver;
      v.pf = d.address.ToString();
      if (auto it = taken.find(name); it != taken.end()) {
        v.pool = it->second.first;
        v.selector = static_cast<int>(it->second.second);
      } else {
        DeviceFacts f = AuxFactsFor(name, d, fs);
        v.category = "selector";
        v.reason = WhyNoSelector(pools, f);
      }
      out->push_back(std::move(v));
    }
  }
}

}  // namespace

std::vector<DeviceVerdict> ExplainDevices(
    const std::vector<ResourceConfig>& resources,
    const std::vector<sysfs::PciDevice>& devices, const sysfs::Sysfs& fs,
    const DiscoveryOptions& opts) {
  Inventory inv = BuildInventory(resources, devices, fs, opts);
  std::map<std::string, std::pair<std::string, size_t>> taken;
  for (const Pool& p : inv.pools) {
    for (const PoolDevice& d : p.devices) {
      taken[d.id] = {p.config.FullName(), d.selector_index};
    }
  }
  bool want_accel = std::any_of(
      resources.begin(), resources.end(),
      [](const auto& r) { return r.device_type == DeviceType::kAccelerator; });
  std::set<std::string> routed;
  if (opts.exclude_default_route) routed = DefaultRouteInterfaces(fs);

  std::vector<DeviceVerdict> out;
  for (const sysfs::PciDevice& d : devices) {
    if (!d.is_network() && !(want_accel && d.is_accelerator())) continue;
    DeviceVerdict v;
    v.device = d.address.ToString();
    v.vendor = absl::StrFormat("%04x", d.vendor_id);
    v.device_id = absl::StrFormat("%04x", d.device_id);
    v.driver = d.driver.value_or("");
    if (d.physfn) v.pf = d.physfn->ToString();
    auto exclude = [&](std::string category, std::string reason) {
      v.category = std::move(category);
      v.reason = std::move(reason);
    };
    if (auto it = taken.find(v.device); it != taken.end()) {
      v.pool = it->second.first;
      v.selector = static_cast<int>(it->second.second);
      out.push_back(std::move(v));
      continue;
    }
    DeviceType type =
        d.is_network() ? DeviceType::kNetDevice : DeviceType::kAccelerator;
    std::vector<const ResourceConfig*> pools;
    for (const auto& r : resources) {
      if (r.device_type == type) pools.push_back(&r);
    }
    auto routed_dev =
        std::find_if(d.netdevs.begin(), d.netdevs.end(),
                     [&](const auto& n) { return routed.count(n.name) > 0; });
    if (pools.empty()) {
      exclude("class", absl::StrFormat("class 0x%06x: no %s pool configured",
                                       d.class_code, DeviceTypeName(type)));
    } else if (!d.driver) {
      exclude("driver", "no driver bound");
    } else if (type == DeviceType::kNetDevice && d.is_pf() &&
               d.sriov_numvfs.value_or(0) > 0) {
      exclude("pf", sk::StrCat("PF with ", *d.sriov_numvfs,
                               " VFs (its VFs are candidates)"));
    } else if (type == DeviceType::kNetDevice &&
               routed_dev != d.netdevs.end()) {
      exclude("route", sk::StrCat("netdev ", routed_dev->name,
                                  " has the IPv4 default route "
                                  "(--exclude-default-route=false keeps it)"));
    } else {
      DeviceFacts f = FactsFor(d, devices, fs);
      exclude("selector", WhyNoSelector(pools, f));
    }
    out.push_back(std::move(v));
  }
  AddAuxVerdicts(resources, devices, fs, taken, &out);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.device < b.device; });
  return out;
}

std::string ExplainTable(const std::vector<DeviceVerdict>& v) {
  std::vector<std::vector<std::string>> rows = {
      {"DEVICE", "ID", "DRIVER", "PF", "POOL", "SELECTOR", "REASON"}};
  auto dash = [](const std::string& s) { return s.empty() ? "-" : s; };
  for (const auto& d : v) {
    rows.push_back({d.device, d.vendor + ":" + d.device_id, dash(d.driver),
                    dash(d.pf), dash(d.pool),
                    d.selector < 0 ? "-" : std::to_string(d.selector),
                    dash(d.reason)});
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string ExplainJson(const std::vector<DeviceVerdict>& v) {
  using Json = nlohmann::ordered_json;
  auto opt = [](const std::string& s) { return s.empty() ? Json() : Json(s); };
  Json arr = Json::array();
  for (const auto& d : v) {
    Json j;
    j["device"] = d.device;
    j["vendor"] = d.vendor;
    j["deviceId"] = d.device_id;
    j["driver"] = opt(d.driver);
    j["pf"] = opt(d.pf);
    j["pool"] = opt(d.pool);
    j["selector"] = d.selector < 0 ? Json() : Json(d.selector);
    j["excluded"] = opt(d.category);
    j["reason"] = opt(d.reason);
    arr.push_back(std::move(j));
  }
  Json root;
  root["devices"] = std::move(arr);
  return root.dump(2) + "\n";
}

absl::StatusOr<std::string> ExplainHost(const ExplainOptions& o) {
  SK_ASSIGN_OR_RETURN(Config cfg,
                      LoadConfigFile(o.config_file, o.resource_prefix));
  if (!cfg.pool_errors.empty()) return cfg.pool_errors.front();
  sysfs::Sysfs fs(o.sysfs_root);
  sysfs::DiscoverOptions dopts;
  dopts.resolve_names = false;
  dopts.details = false;
  SK_ASSIGN_OR_RETURN(sysfs::HostSnapshot host,
                      sysfs::HostSnapshot::Discover(fs, dopts));
  DiscoveryOptions opts;
  opts.exclude_default_route = o.exclude_default_route;
  auto v = ExplainDevices(cfg.resources, host.devices(), fs, opts);
  return o.json ? ExplainJson(v) : ExplainTable(v);
}

}  // namespace sk::deviceplugin
