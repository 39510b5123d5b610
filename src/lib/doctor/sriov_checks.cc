// The SR-IOV checks of doctor.h, over the host model (lib/sysfs/host.h).
#include <map>

#include "absl/strings/str_join.h"

#include "lib/base/strings.h"
#include "lib/doctor/doctor.h"
#include "lib/doctor/kernel_cmdline.h"

namespace sk::doctor {
namespace {

using sysfs::HostSnapshot;
using sysfs::PciDevice;

Check Make(std::string name, std::string title) {
  Check c;
  c.name = std::move(name);
  c.title = std::move(title);
  return c;
}

std::string Describe(const PciDevice& d) {
  std::string s = d.address.ToString();
  if (d.pf_netdev.has_value()) {
    absl::StrAppend(&s, " (", *d.pf_netdev, ")");
  } else if (!d.netdevs.empty()) {
    absl::StrAppend(&s, " (", d.netdevs.front().name, ")");
  }
  absl::StrAppend(&s, " driver ", d.driver.value_or("none"));
  return s;
}

std::vector<const PciDevice*> SriovNics(const HostSnapshot& host) {
  std::vector<const PciDevice*> out;
  for (const PciDevice* pf : host.PhysicalFunctions()) {
    if (pf->is_network() && pf->sriov_totalvfs.value_or(0) > 0)
      out.push_back(pf);
  }
  return out;
}

// Fills `c` for a host whose model could not be read; false if it could.
bool HostUnreadable(const HostView& h, Check& c) {
  if (h.host().ok()) return false;
  c.verdict = Verdict::kFail;
  c.summary = "cannot read the PCI devices";
  c.evidence.push_back(std::string(h.host().status().message()));
  c.fix = "Check --sysfs-root; sysfs must be mounted.";
  return true;
}

}  // namespace

Check CheckSriovNics(const HostView& h) {
  Check c = Make("sriov-nics", "SR-IOV capable NICs");
  if (HostUnreadable(h, c)) return c;
  const HostSnapshot& host = *h.host();
  int network = 0;
  std::vector<std::string> disabled;
  for (const PciDevice& d : host.devices()) {
    if (!d.is_network() || d.is_vf()) continue;
    ++network;
    if (d.is_pf() && d.sriov_totalvfs.value_or(0) == 0) {
      disabled.push_back(d.address.ToString());
    }
  }
  std::vector<const PciDevice*> nics = SriovNics(host);
  for (const PciDevice* pf : nics) {
    c.evidence.push_back(
        sk::StrCat(Describe(*pf), ": sriov_totalvfs=", *pf->sriov_totalvfs,
                   " sriov_numvfs=", pf->sriov_numvfs.value_or(0)));
  }
  if (!nics.empty()) {
    c.verdict = Verdict::kPass;
    c.summary = sk::StrCat(nics.size(), " SR-IOV capable NIC port",
                           nics.size() == 1 ? "" : "s");
    return c;
  }
  c.verdict = Verdict::kFail;
  c.summary = "no SR-IOV capable network device";
  c.evidence.push_back(sk::StrCat(h.sys().Path("sys/bus/pci/devices").string(),
                                  ": ", network,
                                  " network function(s), none with "
                                  "sriov_totalvfs > 0"));
  if (!disabled.empty()) {
    c.evidence.push_back(
        sk::StrCat("sriov_totalvfs=0 on ", absl::StrJoin(disabled, ", ")));
  }
  c.fix =
      "Use a NIC with SR-IOV (e.g. Intel 82576/X710/E810, NVIDIA/Mellanox "
      "ConnectX) in a slot that supports it; enable SR-IOV in the "
      "BIOS/UEFI and in the NIC firmware (ConnectX: mlxconfig set "
      "SRIOV_EN=1 NUM_OF_VFS=<n>); the kernel needs CONFIG_PCI_IOV.";
  if (!disabled.empty()) {
    c.fix = sk::StrCat(
        "sriov_totalvfs is 0: enable SR-IOV in the BIOS/UEFI and the NIC "
        "firmware (ConnectX: mlxconfig set SRIOV_EN=1 NUM_OF_VFS=<n>), then "
        "reboot.");
  }
  return c;
}

Check CheckSriovVfs(const HostView& h) {
  Check c = Make("sriov-vfs", "VFs created");
  if (!h.host().ok()) {
    c.summary = "skipped: PCI devices not readable";
    return c;
  }
  std::vector<const PciDevice*> nics = SriovNics(*h.host());
  if (nics.empty()) {
    c.summary = "skipped: no SR-IOV capable NIC";
    return c;
  }
  int total = 0;
  int with_vfs = 0;
  for (const PciDevice* pf : nics) {
    int n = pf->sriov_numvfs.value_or(0);
    total += n;
    if (n > 0) ++with_vfs;
    c.evidence.push_back(sk::StrCat(Describe(*pf), ": ", n, " of ",
                                    *pf->sriov_totalvfs, " VFs"));
  }
  if (total > 0) {
    c.verdict = Verdict::kPass;
    c.summary =
        sk::StrCat(total, " VFs on ", with_vfs, " of ", nics.size(), " PFs");
    return c;
  }
  c.verdict = Verdict::kWarn;
  c.summary = "no VFs created";
  const PciDevice& first = *nics.front();
  c.fix = sk::StrCat(
      "Create VFs: echo <n> > ",
      h.sys()
          .Path(sk::StrCat("sys/bus/pci/devices/", first.address.ToString(),
                           "/sriov_numvfs"))
          .string(),
      " (or apply a node policy).");
  // The two classic reasons the write fails: no BAR space or no bus numbers
  // reserved by the firmware for VFs.
  auto cmdline = h.proc().ReadAttribute("proc/cmdline");
  IommuCmdline io =
      InterpretIommuCmdline(ParseKernelCmdline(cmdline.ok() ? *cmdline : ""));
  if (io.pci_realloc != Switch::kOn) {
    absl::StrAppend(&c.fix,
                    " If it fails with \"not enough MMIO resources for "
                    "SR-IOV\", boot with pci=realloc.");
  }
  if (!io.pci_assign_busses) {
    absl::StrAppend(&c.fix,
                    " If VFs need bus numbers the firmware did not reserve, "
                    "boot with pci=assign-busses.");
  }
  return c;
}

Check CheckVfioVfs(const HostView& h) {
  Check c = Make("vfio-vfs", "VFs bound to vfio-pci");
  if (!h.host().ok()) {
    c.summary = "skipped: PCI devices not readable";
    return c;
  }
  const HostSnapshot& host = *h.host();
  std::vector<const PciDevice*> vfs;
  for (const PciDevice* pf : SriovNics(host)) {
    for (const PciDevice* vf : host.VfsOf(*pf)) vfs.push_back(vf);
  }
  if (vfs.empty()) {
    c.summary = "skipped: no VFs";
    return c;
  }
  std::vector<std::string> failures;
  std::vector<std::string> warnings;
  int bound = 0;
  for (const PciDevice* vf : vfs) {
    if (vf->driver != "vfio-pci") continue;
    ++bound;
    std::string bdf = vf->address.ToString();
    if (!vf->iommu_group.has_value()) {
      failures.push_back(sk::StrCat(bdf, " has no IOMMU group"));
      c.evidence.push_back(sk::StrCat(bdf, ": vfio-pci, no iommu_group"));
      continue;
    }
    std::string node = vf->noiommu
                           ? sk::StrCat("dev/vfio/noiommu-", *vf->iommu_group)
                           : sk::StrCat("dev/vfio/", *vf->iommu_group);
    std::string node_path = h.dev().Path(node).string();
    bool present = h.dev().Exists(node);
    c.evidence.push_back(
        sk::StrCat(bdf, ": vfio-pci, IOMMU group ", *vf->iommu_group,
                   vf->noiommu ? " (vfio-noiommu)" : "", ", ", node_path,
                   present ? " present" : " missing"));
    if (!present)
      failures.push_back(sk::StrCat(node_path, " missing for ", bdf));
    if (vf->noiommu)
      warnings.push_back(sk::StrCat(bdf, " is in a vfio-noiommu group"));
  }
  std::map<std::string, int> others;  // driver ("unbound") -> VFs
  for (const PciDevice* vf : vfs) {
    if (vf->driver != "vfio-pci") ++others[vf->driver.value_or("unbound")];
  }
  if (!others.empty()) {
    std::vector<std::string> parts;
    int other = 0;
    for (const auto& [driver, n] : others) {
      parts.push_back(sk::StrCat(driver, " ", n));
      other += n;
    }
    c.evidence.push_back(
        sk::StrCat(other, " of ", vfs.size(),
                   " VFs on other drivers: ", absl::StrJoin(parts, ", ")));
  }
  if (bound == 0) {
    c.verdict = Verdict::kWarn;
    c.summary = sk::StrCat("none of ", vfs.size(), " VFs is bound to vfio-pci");
    const std::string bdf = vfs.front()->address.ToString();
    c.fix = sk::StrCat(
        "Bind the VFs meant for VMs to vfio-pci (the device plugin's vfio "
        "pools expect it): echo vfio-pci > /sys/bus/pci/devices/",
        bdf, "/driver_override; echo ", bdf, " > /sys/bus/pci/devices/", bdf,
        "/driver/unbind; echo ", bdf, " > /sys/bus/pci/drivers_probe");
    return c;
  }
  bool container = h.dev().Exists("dev/vfio/vfio");
  c.evidence.push_back(sk::StrCat(h.dev().Path("dev/vfio/vfio").string(),
                                  container ? " present" : " missing"));
  if (!container) failures.push_back("/dev/vfio/vfio missing");
  if (!failures.empty()) {
    c.verdict = Verdict::kFail;
    c.summary = absl::StrJoin(failures, "; ");
    c.fix =
        "The vfio nodes appear when a device binds to vfio-pci: check that "
        "devtmpfs is mounted on /dev (and the container sees it), that "
        "the IOMMU is active, then rebind the VF (unbind and "
        "drivers_probe).";
    return c;
  }
  if (!warnings.empty()) {
    c.verdict = Verdict::kWarn;
    c.summary =
        sk::StrCat(bound, " VFs bound to vfio-pci without IOMMU protection");
    c.fix =
        "vfio no-IOMMU mode gives the VM unrestricted DMA to host memory; "
        "enable the IOMMU (see iommu-active) and disable "
        "enable_unsafe_noiommu_mode.";
    return c;
  }
  c.verdict = Verdict::kPass;
  c.summary = sk::StrCat(bound, " of ", vfs.size(),
                         " VFs bound to vfio-pci with "
                         "their /dev/vfio nodes");
  return c;
}

}  // namespace sk::doctor
