#pragma once
// Test-only: builds the host model (sysfs::PciDevice values) and the matching
// sysfs/dev tree fragments the device plugin reads at Allocate time
// (driver and iommu_group links, iommu group names, uio, infiniband, /dev
// nodes). Independent of the host-model implementation so the plugin's
// tests do not depend on it.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lib/sysfs/host.h"
#include "lib/sysfs/pci.h"

namespace sk::deviceplugin::testing {

class DpFixture {
 public:
  explicit DpFixture(std::filesystem::path root) : root_(std::move(root)) {}

  std::vector<sysfs::PciDevice>& devices() { return devices_; }

  // A PF (class 0x02) with `numvfs` VFs at bus `bus`, functions 02.0...
  // VFs get device id 0x10ed (igb VF) and are bound to `vf_driver`.
  void AddPf(const std::string& bdf, const std::string& netdev, int numvfs,
             const std::string& vf_driver, int first_group, int numa = 0,
             uint16_t vendor = 0x8086, uint16_t pf_device = 0x10c9,
             uint16_t vf_device = 0x10ca) {
    sysfs::PciDevice pf = Base(bdf, 0x020000, vendor, pf_device, "igb", numa);
    pf.sriov_totalvfs = numvfs;
    pf.sriov_numvfs = numvfs;
    pf.pf_netdev = netdev;
    pf.netdevs.push_back(Net(netdev));
    sysfs::PciAddress pa = *sysfs::PciAddress::Parse(bdf);
    for (int i = 0; i < numvfs; ++i) {
      sysfs::PciAddress va = pa;
      va.bus = static_cast<uint8_t>(pa.bus + 1 + i / 128);
      va.device = static_cast<uint8_t>((i % 128) / 8);
      va.function = static_cast<uint8_t>(i % 8);
      pf.vfs[i] = va;
      sysfs::PciDevice vf =
          Base(va.ToString(), 0x020000, vendor, vf_device, vf_driver, numa);
      vf.physfn = pa;
      vf.vf_index = i;
      if (vf_driver == "vfio-pci") {
        SetGroup(vf, first_group + i);
      } else if (!vf_driver.empty()) {
        vf.netdevs.push_back(Net(netdev + "v" + std::to_string(i)));
      }
      devices_.push_back(vf);
    }
    devices_.push_back(pf);
    Sort();
  }

  sysfs::PciDevice& Add(const std::string& bdf, uint32_t cls, uint16_t vendor,
                        uint16_t device, const std::string& driver,
                        int numa = 0) {
    devices_.push_back(Base(bdf, cls, vendor, device, driver, numa));
    return devices_.back();
  }

  void SetGroup(sysfs::PciDevice& d, int group, bool noiommu = false) {
    d.iommu_group = group;
    d.noiommu = noiommu;
    std::string g = std::to_string(group);
    auto gdir = root_ / "sys/kernel/iommu_groups" / g;
    std::filesystem::create_directories(gdir);
    if (noiommu) std::ofstream(gdir / "name") << "vfio-noiommu\n";
    auto link = Dev(d.address.ToString()) / "iommu_group";
    std::filesystem::remove(link);
    std::filesystem::create_symlink("../../../../kernel/iommu_groups/" + g,
                                    link);
  }

  void MkFile(const std::string& rel, const std::string& content = "") {
    auto p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
  }
  void MkDir(const std::string& rel) {
    std::filesystem::create_directories(root_ / rel);
  }
  // A vdpa device `name` whose parent is the PCI function `bdf`, bound to
  // `driver` ("vhost_vdpa", "virtio_vdpa", "" unbound), as the kernel lays
  // it out: /sys/bus/vdpa/devices/<name> links to the device directory
  // below the parent, which has a driver link and, for vhost_vdpa, a
  // vhost-vdpa-<vhost_index> entry (the char device's class directory).
  void AddVdpa(const std::string& bdf, const std::string& name,
               const std::string& driver, int vhost_index = 0) {
    std::string rel = "sys/devices/pci0000:00/" + bdf + "/" + name;
    auto dir = root_ / rel;
    std::filesystem::create_directories(dir);
    if (!driver.empty()) {
      std::filesystem::create_directories(root_ / "sys/bus/vdpa/drivers" /
                                          driver);
      std::filesystem::create_symlink("../../../../bus/vdpa/drivers/" + driver,
                                      dir / "driver");
    }
    if (driver == "vhost_vdpa") {
      std::filesystem::create_directories(
          dir / ("vhost-vdpa-" + std::to_string(vhost_index)));
    }
    std::filesystem::create_directories(root_ / "sys/bus/vdpa/devices");
    std::filesystem::create_symlink(
        "../../../devices/pci0000:00/" + bdf + "/" + name,
        root_ / "sys/bus/vdpa/devices" / name);
  }
  // Port 1's P_Key table entry 0 of the InfiniBand device `ibdev` of `bdf`.
  void AddIbPkey(const std::string& bdf, const std::string& ibdev,
                 const std::string& pkey) {
    MkFile("sys/bus/pci/devices/" + bdf + "/infiniband/" + ibdev +
               "/ports/1/pkeys/0",
           pkey + "\n");
  }
  // A scalable function `name` ("mlx5_core.sf.2") below the PCI function
  // `bdf` with SF number `sfnum`: the entry in the parent's directory, the
  // /sys/bus/auxiliary/devices link, and the parent's net/ directory.
  void AddSf(const std::string& bdf, const std::string& name, int sfnum) {
    auto dir = Dev(bdf) / name;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "sfnum") << sfnum << "\n";
    std::filesystem::create_directories(Dev(bdf) / "net");
    std::filesystem::create_directories(root_ / "sys/bus/auxiliary/devices");
    std::filesystem::create_symlink("../../pci/devices/" + bdf + "/" + name,
                                    root_ / "sys/bus/auxiliary/devices" / name);
  }
  std::filesystem::path Dev(const std::string& bdf) {
    auto p = root_ / "sys/bus/pci/devices" / bdf;
    std::filesystem::create_directories(p);
    return p;
  }

 private:
  void SetDriverLink(const std::string& bdf, const std::string& driver) {
    auto link = Dev(bdf) / "driver";
    std::filesystem::remove(link);
    if (driver.empty()) return;
    std::filesystem::create_directories(root_ / "sys/bus/pci/drivers" / driver);
    std::filesystem::create_symlink("../../../../bus/pci/drivers/" + driver,
                                    link);
  }

  sysfs::PciDevice Base(const std::string& bdf, uint32_t cls, uint16_t vendor,
                        uint16_t device, const std::string& driver, int numa) {
    sysfs::PciDevice d;
    d.address = *sysfs::PciAddress::Parse(bdf);
    d.class_code = cls;
    d.vendor_id = vendor;
    d.device_id = device;
    if (!driver.empty()) d.driver = driver;
    d.numa_node = numa;
    Dev(bdf);
    SetDriverLink(bdf, driver);
    return d;
  }
  static sysfs::NetDev Net(const std::string& name) {
    sysfs::NetDev n;
    n.name = name;
    n.link_type = sysfs::LinkType::kEther;
    return n;
  }
  void Sort() {
    std::sort(
        devices_.begin(), devices_.end(),
        [](const auto& a, const auto& b) { return a.address < b.address; });
  }

  std::filesystem::path root_;
  std::vector<sysfs::PciDevice> devices_;
};

}  // namespace sk::deviceplugin::testing
