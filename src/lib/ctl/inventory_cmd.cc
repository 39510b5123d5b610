#include "lib/ctl/inventory_cmd.h"

#include <algorithm>
#include <array>
#include <memory>
#include <ostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lib/base/errno_status.h"
#include "lib/base/exit_code.h"
#include "lib/base/strings.h"

namespace sk::ctl {
namespace {

using sysfs::HostSnapshot;
using sysfs::NetDev;
using sysfs::PciDevice;
using Json = nlohmann::ordered_json;

std::string Hex(uint32_t v, int width) {
  return absl::StrFormat("%0*x", width, v);
}

std::string OrDash(const std::optional<std::string>& s) {
  return s && !s->empty() ? *s : "-";
}
std::string OrDash(const std::optional<int>& v) {
  return v ? std::to_string(*v) : "-";
}
std::string Group(const PciDevice& d) {
  if (!d.iommu_group) return "-";
  return d.noiommu ? sk::StrCat("noiommu-", *d.iommu_group)
                   : std::to_string(*d.iommu_group);
}

// A VF's "own" netdev: the first (VF netdevs normally have exactly one).
const NetDev* FirstNetdev(const PciDevice& d) {
  return d.netdevs.empty() ? nullptr : &d.netdevs.front();
}
const NetDev* PfNetdev(const PciDevice& pf) {
  for (const NetDev& n : pf.netdevs)
    if (pf.pf_netdev && n.name == *pf.pf_netdev) return &n;
  return nullptr;
}

std::string Names(const PciDevice& d) {
  std::string s = sk::StrCat(d.vendor_name.empty() ? "" : d.vendor_name + " ",
                             d.device_name);
  return sk::StrCat(s, s.empty() ? "" : " ", "[", Hex(d.vendor_id, 4), ":",
                    Hex(d.device_id, 4), "]");
}

Json OptJson(const std::optional<int>& v) { return v ? Json(*v) : Json(); }
Json OptJson(const std::optional<std::string>& v) {
  return v ? Json(*v) : Json();
}

Json NetdevJson(const NetDev& n) {
  Json j;
  j["name"] = n.name;
  j["mac"] = n.mac.empty() ? Json() : Json(n.mac);
  j["mtu"] = OptJson(n.mtu);
  j["operstate"] = n.operstate.empty() ? Json() : Json(n.operstate);
  j["link_type"] = sysfs::LinkTypeName(n.link_type);
  j["phys_port_name"] =
      n.phys_port_name.empty() ? Json() : Json(n.phys_port_name);
  j["phys_switch_id"] =
      n.phys_switch_id.empty() ? Json() : Json(n.phys_switch_id);
  return j;
}

// Fields common to PFs and VFs.
Json DeviceJson(const PciDevice& d) {
  Json j;
  j["address"] = d.address.ToString();
  j["class"] = Hex(d.class_code, 6);
  j["vendor_id"] = Hex(d.vendor_id, 4);
  j["device_id"] = Hex(d.device_id, 4);
  j["subsystem_vendor_id"] = Hex(d.subsystem_vendor_id, 4);
  j["subsystem_device_id"] = Hex(d.subsystem_device_id, 4);
  j["vendor_name"] = d.vendor_name.empty() ? Json() : Json(d.vendor_name);
  j["device_name"] = d.device_name.empty() ? Json() : Json(d.device_name);
  j["driver"] = OptJson(d.driver);
  j["numa_node"] = OptJson(d.numa_node);
  j["iommu_group"] = OptJson(d.iommu_group);
  j["noiommu"] = d.noiommu;
  j["acpi_index"] = OptJson(d.acpi_index);
  return j;
}

std::string PciList(const HostSnapshot& host) {
  std::string s;
  for (const PciDevice& d : host.devices()) {
    absl::StrAppend(&s, "  ", d.address.ToString(), "  ", Names(d), "  driver ",
                    OrDash(d.driver));
    if (const NetDev* n = FirstNetdev(d)) absl::StrAppend(&s, "  ", n->name);
    s += "\n";
  }
  return s;
}

}  // namespace

absl::StatusOr<std::vector<const PciDevice*>> SelectPfs(
    const sysfs::Sysfs& fs, const HostSnapshot& host, const std::string& pf) {
  if (pf.empty()) return host.PhysicalFunctions();
  auto not_a_pf = [&pf](std::string_view what, const PciDevice* d) {
    std::string why =
        d == nullptr ? std::string()
        : d->is_vf()
            ? sk::StrCat(" is a VF of ", d->physfn->ToString())
            : std::string(" is not SR-IOV capable (no sriov_totalvfs)");
    return absl::InvalidArgumentError(sk::StrCat(
        "--pf \"", pf, "\": ", what, why, ", not an SR-IOV physical function"));
  };
  const PciDevice* d = nullptr;
  if (auto a = sysfs::PciAddress::Parse(pf); a.ok()) {
    d = host.Find(*a);
  } else {
    d = host.FindByNetdev(pf);
    // A netdev that is not directly under its PCI function (virtio-net's is
    // under virtioN/) or has none at all (lo, bridges, veths).
    const std::string cls = sk::StrCat("sys/class/net/", pf);
    const bool plain_name =
        pf != "." && pf != ".." && pf.find('/') == std::string::npos;
    if (d == nullptr && plain_name && fs.Exists(cls)) {
      auto dev = fs.ResolveLink(sk::StrCat(cls, "/device"));
      std::optional<sysfs::PciAddress> owner;
      if (dev.ok()) {
        for (const auto& part : *dev) {
          if (auto parsed = sysfs::PciAddress::Parse(part.string());
              parsed.ok())
            owner = *parsed;
        }
      }
      if (!owner) {
        return not_a_pf(
            sk::StrCat("netdev ", pf, " is a virtual device (no PCI function)"),
            nullptr);
      }
      const PciDevice* o = host.Find(*owner);
      std::string what =
          sk::StrCat("netdev ", pf, " is on ", owner->ToString());
      if (o != nullptr && o->driver)
        absl::StrAppend(&what, " (", *o->driver, ")");
      if (o == nullptr || !o->is_pf()) {
        return not_a_pf(o == nullptr ? what : sk::StrCat(what, ", which"), o);
      }
      d = o;
    }
  }
  if (d == nullptr) {
    std::string known;
    for (const PciDevice* p : host.PhysicalFunctions()) {
      absl::StrAppend(&known, known.empty() ? "" : ", ", p->address.ToString());
      if (p->pf_netdev) absl::StrAppend(&known, " (", *p->pf_netdev, ")");
    }
    return absl::NotFoundError(sk::StrCat(
        "--pf \"", pf,
        "\": no network device with that PCI address or netdev name; "
        "SR-IOV PFs here: ",
        known.empty() ? "none" : known));
  }
  if (!d->is_pf()) return not_a_pf(d->address.ToString(), d);
  return std::vector<const PciDevice*>{d};
}

std::vector<const PciDevice*> OtherDevices(const HostSnapshot& host) {
  std::set<std::string> listed;
  for (const PciDevice* pf : host.PhysicalFunctions()) {
    listed.insert(pf->address.ToString());
    for (const PciDevice* vf : host.VfsOf(*pf))
      listed.insert(vf->address.ToString());
  }
  std::vector<const PciDevice*> out;
  for (const PciDevice& d : host.devices())
    if (!listed.count(d.address.ToString())) out.push_back(&d);
  return out;
}

std::string FormatInventoryText(const HostSnapshot& host,
                                const std::vector<const PciDevice*>& pfs) {
  std::string out;
  if (pfs.empty()) {
    out = "no SR-IOV physical functions found\n";
    if (!host.devices().empty()) {
      absl::StrAppend(&out, host.devices().size(),
                      " network/accelerator device(s) without SR-IOV:\n",
                      PciList(host));
    }
  }
  size_t total_vfs = 0;
  for (const PciDevice* pf : pfs) {
    std::vector<const PciDevice*> vfs = host.VfsOf(*pf);
    total_vfs += vfs.size();
    const NetDev* nd = PfNetdev(*pf);
    absl::StrAppend(&out, "PF ", pf->address.ToString(), "  ",
                    OrDash(pf->pf_netdev), "  ", Names(*pf), "\n");
    absl::StrAppend(&out, "   driver ", OrDash(pf->driver), "  NUMA ",
                    OrDash(pf->numa_node), "  IOMMU ", Group(*pf), "  VFs ",
                    OrDash(pf->sriov_numvfs), "/", OrDash(pf->sriov_totalvfs));
    if (nd != nullptr) {
      absl::StrAppend(&out, "  MAC ", nd->mac.empty() ? "-" : nd->mac,
                      "  link ", nd->operstate.empty() ? "-" : nd->operstate,
                      " (", sysfs::LinkTypeName(nd->link_type), ")");
      if (!nd->phys_switch_id.empty())
        absl::StrAppend(&out, "  switchdev ", nd->phys_switch_id);
    }
    out += "\n";
    if (!vfs.empty()) {
      // Column widths from the data so long names never break alignment.
      std::vector<std::array<std::string, 8>> rows;
      rows.push_back(
          {"VF", "BDF", "DRIVER", "IOMMU", "NUMA", "NETDEV", "MAC", "LINK"});
      for (const PciDevice* vf : vfs) {
        const NetDev* n = FirstNetdev(*vf);
        rows.push_back({OrDash(vf->vf_index), vf->address.ToString(),
                        OrDash(vf->driver), Group(*vf), OrDash(vf->numa_node),
                        n ? n->name : "-", n && !n->mac.empty() ? n->mac : "-",
                        n && !n->operstate.empty() ? n->operstate : "-"});
      }
      std::array<size_t, 8> w{};
      for (const auto& r : rows)
        for (size_t c = 0; c < r.size(); ++c)
          w[c] = std::max(w[c], r[c].size());
      for (const auto& r : rows) {
        std::string line = "   ";
        for (size_t c = 0; c < r.size(); ++c) {
          line += r[c];
          if (c + 1 < r.size())
            line += std::string(w[c] - r[c].size() + 2, ' ');
        }
        out += line + "\n";
      }
    }
    for (const std::string& wmsg : pf->warnings)
      absl::StrAppend(&out, "   warning: ", pf->address.ToString(), ": ", wmsg,
                      "\n");
    for (const PciDevice* vf : vfs)
      for (const std::string& wmsg : vf->warnings)
        absl::StrAppend(&out, "   warning: ", vf->address.ToString(), ": ",
                        wmsg, "\n");
    out += "\n";
  }
  for (const std::string& wmsg : host.warnings())
    absl::StrAppend(&out, "warning: ", wmsg, "\n");
  if (!pfs.empty())
    absl::StrAppend(&out, pfs.size(), " PF(s), ", total_vfs, " VF(s)\n");
  return out;
}

std::string FormatInventoryJson(const std::string& sysfs_root,
                                const HostSnapshot& host,
                                const std::vector<const PciDevice*>& pfs,
                                const std::vector<const PciDevice*>& others) {
  Json root;
  root["schema"] = "sriovkit.inventory/v1";
  root["sysfs_root"] = sysfs_root;
  Json jpfs = Json::array();
  size_t total_vfs = 0;
  for (const PciDevice* pf : pfs) {
    Json j = DeviceJson(*pf);
    j["netdev"] = OptJson(pf->pf_netdev);
    j["sriov_totalvfs"] = OptJson(pf->sriov_totalvfs);
    j["sriov_numvfs"] = OptJson(pf->sriov_numvfs);
    j["netdevs"] = Json::array();
    for (const NetDev& n : pf->netdevs) j["netdevs"].push_back(NetdevJson(n));
    j["warnings"] = pf->warnings;
    Json jvfs = Json::array();
    for (const PciDevice* vf : host.VfsOf(*pf)) {
      Json v;
      v["vf_index"] = OptJson(vf->vf_index);
      v["pf"] = pf->address.ToString();
      v.update(DeviceJson(*vf));
      const NetDev* n = FirstNetdev(*vf);
      v["netdev"] = n ? Json(n->name) : Json();
      v["mac"] = n && !n->mac.empty() ? Json(n->mac) : Json();
      v["netdevs"] = Json::array();
      for (const NetDev& x : vf->netdevs) v["netdevs"].push_back(NetdevJson(x));
      v["warnings"] = vf->warnings;
      jvfs.push_back(std::move(v));
    }
    total_vfs += jvfs.size();
    j["vfs"] = std::move(jvfs);
    jpfs.push_back(std::move(j));
  }
  root["pfs"] = std::move(jpfs);
  root["warnings"] = host.warnings();
  Json jothers = Json::array();
  for (const PciDevice* d : others) {
    Json j = DeviceJson(*d);
    const NetDev* n = FirstNetdev(*d);
    j["netdev"] = n ? Json(n->name) : Json();
    j["netdevs"] = Json::array();
    for (const NetDev& x : d->netdevs) j["netdevs"].push_back(NetdevJson(x));
    j["warnings"] = d->warnings;
    jothers.push_back(std::move(j));
  }
  root["summary"] = {{"pfs", pfs.size()},
                     {"vfs", total_vfs},
                     {"devices", host.devices().size()}};
  root["other_devices"] = std::move(jothers);
  return root.dump(2) + "\n";
}

int RunInventory(const std::string& sysfs_root, const InventoryOptions& opts,
                 const Io& io) {
  auto fail = [&](const absl::Status& s) {
    *io.err << "sriovctl inventory: " << s.message() << "\n";
    return ExitCodeForStatus(s);
  };
  if (absl::Status s =
          CheckInputPath("--sysfs-root", sysfs_root, PathKind::kDirectory);
      !s.ok()) {
    return fail(s);
  }
  sysfs::Sysfs fs(sysfs_root);
  auto host = HostSnapshot::Discover(fs);
  if (!host.ok()) {
    return fail(
        Annotate(host.status(), sk::StrCat("--sysfs-root ", sysfs_root)));
  }
  auto pfs = SelectPfs(fs, *host, opts.pf);
  if (!pfs.ok()) return fail(pfs.status());
  std::vector<const PciDevice*> others;
  if (opts.pf.empty()) others = OtherDevices(*host);
  *io.out << (opts.json ? FormatInventoryJson(sysfs_root, *host, *pfs, others)
                        : FormatInventoryText(*host, *pfs));
  io.out->flush();
  return kExitOk;
}

void AddInventoryCommand(CLI::App& app, const CtlOptions& opts, RunFn* run) {
  CLI::App* cmd = app.add_subcommand(
      "inventory",
      "List SR-IOV physical functions and their VFs (driver, IOMMU group, "
      "NUMA node, netdev, MAC, link) read from sysfs under --sysfs-root.");
  auto o = std::make_shared<InventoryOptions>();
  auto pf_given = std::make_shared<bool>(false);
  cmd->add_flag("--json", o->json,
                "Print JSON (schema sriovkit.inventory/v1, "
                "docs/inventory-schema.md)");
  cmd->add_option("--pf", o->pf,
                  "Only this PF: PCI address (0000:3b:00.0 or 3b:00.0) or "
                  "netdev name")
      ->each([pf_given](const std::string&) { *pf_given = true; });
  cmd->callback([o, pf_given, &opts, run]() {
    *run = [o, pf_given, &opts](const Io& io) {
      if (*pf_given && o->pf.empty()) {
        *io.err << "sriovctl inventory: --pf \"\": empty PF name or address\n";
        return kExitDataErr;
      }
      return RunInventory(opts.sysfs_root, *o, io);
    };
  });
}

}  // namespace sk::ctl
