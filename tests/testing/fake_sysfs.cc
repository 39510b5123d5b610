#include "tests/testing/fake_sysfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <gtest/gtest.h>

namespace sk::testing {
namespace {

namespace fs = std::filesystem;

std::string Hex(uint32_t v, int width) {
  char buf[16];
  snprintf(buf, sizeof(buf), "0x%0*x", width, v);
  return buf;
}

struct Bdf {
  int domain = 0, bus = 0, dev = 0, fn = 0;
  int rid() const { return (bus << 8) | (dev << 3) | fn; }
};

Bdf ParseBdf(std::string_view s) {
  Bdf b;
  std::string str(s);
  if (sscanf(str.c_str(), "%x:%x:%x.%x", &b.domain, &b.bus, &b.dev, &b.fn) !=
      4) {
    ADD_FAILURE() << "FakeSysfsBuilder: bad BDF \"" << str << "\"";
  }
  return b;
}

std::string DefaultParent(const Bdf& b) {
  char buf[64];
  if (b.bus == 0) {
    snprintf(buf, sizeof(buf), "pci%04x:00", b.domain);
  } else {
    snprintf(buf, sizeof(buf), "pci%04x:%02x/%04x:%02x:00.0", b.domain,
             b.bus - 1, b.domain, b.bus - 1);
  }
  return buf;
}

// Systemd's predictable name for a PCI netdev (slot-less form), decimal.
std::string PciIfname(const Bdf& b) {
  return "enp" + std::to_string(b.bus) + "s" + std::to_string(b.dev) + "f" +
         std::to_string(b.fn);
}

std::string MakeMac(int n) {
  char buf[32];
  snprintf(buf, sizeof(buf), "52:54:00:%02x:%02x:%02x", (n >> 16) & 0xff,
           (n >> 8) & 0xff, n & 0xff);
  return buf;
}

std::string MakeIbAddress(int n) {
  char buf[80];
  snprintf(buf, sizeof(buf),
           "00:00:10:49:fe:80:00:00:00:00:00:00:ec:0d:9a:03:00:%02x:%02x:%02x",
           (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  return buf;
}

int mac_counter = 1;

}  // namespace

FakeSysfsDir::FakeSysfsDir() {
  for (const char* parent : {"/dev/shm", "/tmp"}) {
    if (::access(parent, W_OK) != 0) continue;
    std::string tmpl = std::string(parent) + "/sk.XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
      return;
    }
  }
  ADD_FAILURE() << "FakeSysfsDir: cannot create a temporary directory";
}

FakeSysfsDir::~FakeSysfsDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string FakeBdf(int domain, int bus, int dev, int fn) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", domain, bus, dev, fn);
  return buf;
}

FakeSysfsBuilder::FakeSysfsBuilder(std::filesystem::path root)
    : root_(std::move(root)) {
  MakeDirs("sys/bus/pci/devices");
  MakeDirs("sys/bus/pci/drivers");
  MakeDirs("sys/kernel/iommu_groups");
  MakeDirs("sys/class/net");
}

void FakeSysfsBuilder::Fail(std::string_view what, const std::string& path,
                            int err) {
  ok_ = false;
  ADD_FAILURE() << "FakeSysfsBuilder: " << what << " " << path << ": "
                << strerror(err);
}

void FakeSysfsBuilder::MakeDirs(std::string_view rel) {
  std::string r(rel);
  if (made_dirs_.count(r)) return;
  std::error_code ec;
  fs::create_directories(root_ / r, ec);
  if (ec) return Fail("mkdir", (root_ / r).string(), ec.value());
  made_dirs_.insert(std::move(r));
}

void FakeSysfsBuilder::WriteFile(std::string_view rel,
                                 std::string_view contents) {
  std::string path = (root_ / std::string(rel)).string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    MakeDirs(fs::path(std::string(rel)).parent_path().string());
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd < 0) return Fail("create", path, errno);
  if (::write(fd, contents.data(), contents.size()) !=
      static_cast<ssize_t>(contents.size())) {
    Fail("write", path, errno);
  }
  ::close(fd);
}

void FakeSysfsBuilder::RelativeSymlink(std::string_view link,
                                       std::string_view target) {
  fs::path l(link), t(target);
  std::string rel = t.lexically_relative(l.parent_path()).string();
  std::string path = (root_ / l).string();
  ::unlink(path.c_str());
  if (::symlink(rel.c_str(), path.c_str()) != 0) {
    if (errno == ENOENT) {
      MakeDirs(l.parent_path().string());
      if (::symlink(rel.c_str(), path.c_str()) == 0) return;
    }
    Fail("symlink", path, errno);
  }
}

void FakeSysfsBuilder::Remove(std::string_view rel) {
  std::error_code ec;
  fs::remove_all(root_ / std::string(rel), ec);
  if (ec) Fail("remove", (root_ / std::string(rel)).string(), ec.value());
  // Forget cached directories at or below `rel`.
  std::string prefix(rel);
  for (auto it = made_dirs_.lower_bound(prefix);
       it != made_dirs_.end() && it->compare(0, prefix.size(), prefix) == 0;)
    it = made_dirs_.erase(it);
}

FakeSysfsBuilder::Entry* FakeSysfsBuilder::Find(std::string_view bdf) {
  auto it = devices_.find(bdf);
  if (it == devices_.end()) {
    ok_ = false;
    ADD_FAILURE() << "FakeSysfsBuilder: unknown device " << bdf;
    return nullptr;
  }
  return &it->second;
}

std::string FakeSysfsBuilder::DeviceDir(std::string_view bdf) const {
  auto it = devices_.find(bdf);
  return it == devices_.end() ? "" : it->second.dir;
}

int FakeSysfsBuilder::AllocateGroup(bool noiommu) {
  int g = next_group_++;
  std::string dir = "sys/kernel/iommu_groups/" + std::to_string(g);
  MakeDirs(dir + "/devices");
  WriteFile(dir + "/type", noiommu ? "identity" : "DMA");
  if (noiommu) {
    WriteFile(dir + "/name", "vfio-noiommu\n");
    noiommu_groups_.insert(g);
  } else if (!made_dirs_.count("sys/class/iommu/dmar0")) {
    MakeDirs("sys/devices/virtual/iommu/dmar0");
    RelativeSymlink("sys/class/iommu/dmar0", "sys/devices/virtual/iommu/dmar0");
    made_dirs_.insert("sys/class/iommu/dmar0");
  }
  return g;
}

void FakeSysfsBuilder::AttachGroup(const std::string& bdf, Entry& e, int group,
                                   bool noiommu) {
  std::string gdir = "sys/kernel/iommu_groups/" + std::to_string(group);
  MakeDirs(gdir + "/devices");
  if (noiommu) SetIommuGroupName(group, "vfio-noiommu");
  RelativeSymlink(e.dir + "/iommu_group", gdir);
  RelativeSymlink(gdir + "/devices/" + bdf, e.dir);
  e.group = group;
}

void FakeSysfsBuilder::CreateDevVfio(int group) {
  WriteFile("dev/vfio/vfio", "");
  if (noiommu_groups_.count(group)) {
    WriteFile("dev/vfio/noiommu-" + std::to_string(group), "");
  } else {
    WriteFile("dev/vfio/" + std::to_string(group), "");
  }
}

void FakeSysfsBuilder::WriteNetdev(const std::string& bdf, Entry& e,
                                   const FakeNetdev& nd) {
  (void)bdf;
  std::string d = e.dir + "/net/" + nd.name;
  MakeDirs(d);
  if (!nd.address.empty()) WriteFile(d + "/address", nd.address + "\n");
  WriteFile(d + "/mtu", std::to_string(nd.mtu) + "\n");
  WriteFile(d + "/operstate", nd.operstate + "\n");
  WriteFile(d + "/type", std::to_string(nd.type) + "\n");
  WriteFile(d + "/ifindex", std::to_string(next_ifindex_++) + "\n");
  if (!nd.phys_port_name.empty())
    WriteFile(d + "/phys_port_name", nd.phys_port_name + "\n");
  if (!nd.phys_switch_id.empty())
    WriteFile(d + "/phys_switch_id", nd.phys_switch_id + "\n");
  RelativeSymlink("sys/class/net/" + nd.name, d);
  e.netdevs.push_back(nd.name);
}

std::string FakeSysfsBuilder::AddDevice(FakeDevice dev) {
  Bdf b = ParseBdf(dev.bdf);
  if (dev.parent.empty()) dev.parent = DefaultParent(b);
  Entry e;
  e.bdf = dev.bdf;
  e.dir = "sys/devices/" + dev.parent + "/" + dev.bdf;
  e.class_code = dev.class_code;
  e.ids[0] = dev.vendor_id;
  e.ids[1] = dev.device_id;
  e.ids[2] = dev.subsystem_vendor_id;
  e.ids[3] = dev.subsystem_device_id;
  MakeDirs(e.dir);
  WriteFile(e.dir + "/class", Hex(dev.class_code, 6) + "\n");
  WriteFile(e.dir + "/vendor", Hex(dev.vendor_id, 4) + "\n");
  WriteFile(e.dir + "/device", Hex(dev.device_id, 4) + "\n");
  WriteFile(e.dir + "/subsystem_vendor",
            Hex(dev.subsystem_vendor_id, 4) + "\n");
  WriteFile(e.dir + "/subsystem_device",
            Hex(dev.subsystem_device_id, 4) + "\n");
  WriteFile(e.dir + "/revision", "0x01\n");
  if (dev.numa_node)
    WriteFile(e.dir + "/numa_node", std::to_string(*dev.numa_node) + "\n");
  if (dev.acpi_index)
    WriteFile(e.dir + "/acpi_index", std::to_string(*dev.acpi_index) + "\n");
  RelativeSymlink("sys/bus/pci/devices/" + dev.bdf, e.dir);
  auto [it, inserted] = devices_.emplace(dev.bdf, std::move(e));
  if (!inserted) {
    ok_ = false;
    ADD_FAILURE() << "FakeSysfsBuilder: duplicate device " << dev.bdf;
    return dev.bdf;
  }
  Entry& ent = it->second;
  bool vfio = dev.driver == "vfio-pci";
  if (dev.iommu_group >= 0) {
    AttachGroup(dev.bdf, ent, dev.iommu_group, !iommu_enabled_ && vfio);
    if (dev.iommu_group >= next_group_) next_group_ = dev.iommu_group + 1;
  } else if (dev.iommu_group == FakeDevice::kAutoIommuGroup &&
             (iommu_enabled_ || vfio)) {
    AttachGroup(dev.bdf, ent, AllocateGroup(!iommu_enabled_), false);
  }
  if (!dev.driver.empty()) {
    BindDriver(dev.bdf, dev.driver);
  } else {
    WriteUevent(ent);
  }
  if (!vfio) {
    for (const FakeNetdev& nd : dev.netdevs) WriteNetdev(dev.bdf, ent, nd);
  }
  return dev.bdf;
}

FakePf FakeSysfsBuilder::AddPf(FakeDevice pf, const FakeVfLayout& layout) {
  Bdf pb = ParseBdf(pf.bdf);
  if (pf.parent.empty()) pf.parent = DefaultParent(pb);
  FakePf out;
  out.bdf = pf.bdf;
  if (!pf.netdevs.empty()) out.netdev = pf.netdevs.front().name;
  FakeDevice vf_tmpl;
  vf_tmpl.parent = pf.parent;
  vf_tmpl.class_code = pf.class_code;
  vf_tmpl.vendor_id = pf.vendor_id;
  vf_tmpl.device_id = layout.vf_device_id;
  vf_tmpl.subsystem_vendor_id = layout.vf_subsystem_vendor_id;
  vf_tmpl.subsystem_device_id = layout.vf_subsystem_device_id;
  vf_tmpl.driver = layout.vf_driver;
  vf_tmpl.numa_node = pf.numa_node;
  AddDevice(pf);
  Entry* pe = Find(out.bdf);
  if (pe == nullptr) return out;
  std::string pdir = pe->dir;
  WriteFile(pdir + "/sriov_totalvfs", std::to_string(layout.total_vfs) + "\n");
  WriteFile(pdir + "/sriov_numvfs", std::to_string(layout.num_vfs) + "\n");
  WriteFile(pdir + "/sriov_offset",
            std::to_string(layout.first_vf_offset) + "\n");
  WriteFile(pdir + "/sriov_stride", std::to_string(layout.vf_stride) + "\n");
  WriteFile(pdir + "/sriov_vf_device",
            Hex(layout.vf_device_id, 4).substr(2) + "\n");
  WriteFile(pdir + "/sriov_drivers_autoprobe", "1\n");
  for (int i = 0; i < layout.num_vfs; ++i) {
    int rid = pb.rid() + layout.first_vf_offset + i * layout.vf_stride;
    Bdf vb{pb.domain, (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7};
    FakeDevice vf = vf_tmpl;
    vf.bdf = FakeBdf(vb.domain, vb.bus, vb.dev, vb.fn);
    std::string vf_netdev;
    if (layout.vf_netdevs && !layout.vf_driver.empty() &&
        layout.vf_driver != "vfio-pci") {
      FakeNetdev nd;
      nd.name = vf_netdev = PciIfname(vb);
      nd.address = MakeMac(mac_counter++);
      nd.mtu = layout.mtu;
      vf.netdevs.push_back(nd);
    }
    AddDevice(vf);
    Entry* ve = Find(vf.bdf);
    if (ve == nullptr) continue;
    RelativeSymlink(pdir + "/virtfn" + std::to_string(i), ve->dir);
    RelativeSymlink(ve->dir + "/physfn", pdir);
    out.vfs.push_back(vf.bdf);
    out.vf_netdevs.push_back(vf_netdev);
  }
  return out;
}

void FakeSysfsBuilder::WriteAttribute(std::string_view bdf,
                                      std::string_view rel,
                                      std::string_view value) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  WriteFile(e->dir + "/" + std::string(rel), value);
}

void FakeSysfsBuilder::RemoveAttribute(std::string_view bdf,
                                       std::string_view rel) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  Remove(e->dir + "/" + std::string(rel));
}

void FakeSysfsBuilder::RemoveDevice(std::string_view bdf) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  std::string b(bdf);
  BindDriver(bdf, "");
  RemoveNetdevs(bdf);
  if (e->group) {
    Remove("sys/kernel/iommu_groups/" + std::to_string(*e->group) +
           "/devices/" + b);
  }
  Remove(e->dir);
  Remove("sys/bus/pci/devices/" + b);
  devices_.erase(devices_.find(bdf));
}

void FakeSysfsBuilder::BindDriver(std::string_view bdf,
                                  std::string_view driver) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  std::string b(bdf);
  if (!e->driver.empty()) {
    Remove("sys/bus/pci/drivers/" + e->driver + "/" + b);
    Remove(e->dir + "/driver");
    e->driver.clear();
  }
  if (driver.empty()) return WriteUevent(*e);
  std::string ddir = "sys/bus/pci/drivers/" + std::string(driver);
  if (!made_dirs_.count(ddir)) {
    MakeDirs(ddir);
    for (const char* f : {"bind", "unbind", "new_id", "remove_id"})
      WriteFile(ddir + "/" + f, "");
  }
  RelativeSymlink(e->dir + "/driver", ddir);
  RelativeSymlink(ddir + "/" + b, e->dir);
  e->driver = std::string(driver);
  WriteUevent(*e);
  if (driver == "vfio-pci") {
    RemoveNetdevs(bdf);
    if (!e->group) AttachGroup(b, *e, AllocateGroup(!iommu_enabled_), false);
    CreateDevVfio(*e->group);
  }
}

void FakeSysfsBuilder::WriteUevent(const Entry& e) {
  // drivers/pci/pci-driver.c pci_uevent: upper-case hex, class "%04X".
  char buf[512];
  snprintf(buf, sizeof(buf),
           "%s%s%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\n"
           "PCI_SLOT_NAME=%s\nMODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02X"
           "i%02X\n",
           e.driver.empty() ? "" : "DRIVER=", e.driver.c_str(),
           e.driver.empty() ? "" : "\n", e.class_code, e.ids[0], e.ids[1],
           e.ids[2], e.ids[3], e.bdf.c_str(), e.ids[0], e.ids[1], e.ids[2],
           e.ids[3], (e.class_code >> 16) & 0xff, (e.class_code >> 8) & 0xff,
           e.class_code & 0xff);
  WriteFile(e.dir + "/uevent", buf);
}

void FakeSysfsBuilder::AddNetdev(std::string_view bdf, const FakeNetdev& nd) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  WriteNetdev(std::string(bdf), *e, nd);
}

void FakeSysfsBuilder::RemoveNetdevs(std::string_view bdf) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  for (const std::string& n : e->netdevs) Remove("sys/class/net/" + n);
  e->netdevs.clear();
  Remove(e->dir + "/net");
}

void FakeSysfsBuilder::SetIommuGroup(std::string_view bdf, int group) {
  Entry* e = Find(bdf);
  if (e == nullptr) return;
  if (e->group) {
    Remove("sys/kernel/iommu_groups/" + std::to_string(*e->group) +
           "/devices/" + std::string(bdf));
    Remove(e->dir + "/iommu_group");
    e->group.reset();
  }
  if (group < 0) return;
  AttachGroup(std::string(bdf), *e, group, false);
  if (group >= next_group_) next_group_ = group + 1;
}

std::optional<int> FakeSysfsBuilder::IommuGroupOf(std::string_view bdf) const {
  auto it = devices_.find(bdf);
  if (it == devices_.end()) return std::nullopt;
  return it->second.group;
}

void FakeSysfsBuilder::SetIommuGroupName(int group, std::string_view name) {
  WriteFile("sys/kernel/iommu_groups/" + std::to_string(group) + "/name",
            std::string(name) + "\n");
  if (name == "vfio-noiommu") noiommu_groups_.insert(group);
}

void FakeSysfsBuilder::WritePciIds(std::string_view contents,
                                   std::string_view rel) {
  WriteFile(rel, contents.empty() ? kFakePciIds : contents);
}

const std::string_view kFakePciIds =
    "#\n"
    "#\tList of PCI ID's (sriovkit test fixture, a small excerpt)\n"
    "#\n"
    "# Syntax:\n"
    "# vendor  vendor_name\n"
    "#\tdevice  device_name\t\t\t\t<-- single tab\n"
    "#\t\tsubvendor subdevice  subsystem_name\t<-- two tabs\n"
    "\n"
    "0001  SafeNet (wrong ID)\n"
    "8086  Intel Corporation\n"
    "\t10c9  82576 Gigabit Network Connection\n"
    "\t\t8086 a03c  Ethernet Server Adapter ET Dual Port\n"
    "\t10ca  82576 Virtual Function\n"
    "\t1572  Ethernet Controller X710 for 10GbE SFP+\n"
    "\t\t8086 0000  Ethernet Converged Network Adapter X710\n"
    "\t154c  Ethernet Virtual Function 700 Series\n"
    "\t1592  Ethernet Controller E810-C for QSFP\n"
    "\t1889  Ethernet Adaptive Virtual Function\n"
    "15b3  Mellanox Technologies\n"
    "\t1017  MT27800 Family [ConnectX-5]\n"
    "\t1018  MT27800 Family [ConnectX-5 Virtual Function]\n"
    "ffff  Illegal Vendor ID\n"
    "\n"
    "# List of known device classes, subclasses and programming interfaces\n"
    "C 02  Network controller\n"
    "\t00  Ethernet controller\n"
    "\t07  Infiniband controller\n"
    "C 12  Processing accelerators\n";

// ---------------------------------------------------------------- presets

namespace {

struct CardSpec {
  uint16_t vendor, pf_device, sub_vendor, sub_device, vf_device;
  std::string pf_driver, vf_driver;
  int default_bus, default_ports, total_vfs, default_vfs;
  // VF routing-ID offset of port p = offset0 + p * offset_step; stride.
  int offset0, offset_step, stride;
  bool acpi = false;
  uint32_t class_code = 0x020000;
};

std::vector<FakePf> AddCard(FakeSysfsBuilder& b, const CardSpec& c,
                            const FakeCardOptions& o,
                            std::string (*pf_ifname)(int bus, int port)) {
  int bus = o.bus >= 0 ? o.bus : c.default_bus;
  int ports = o.ports >= 0 ? o.ports : c.default_ports;
  int nvfs = o.num_vfs >= 0 ? o.num_vfs : c.default_vfs;
  std::vector<FakePf> out;
  for (int p = 0; p < ports; ++p) {
    FakeDevice pf;
    pf.bdf = FakeBdf(0, bus, 0, p);
    pf.vendor_id = c.vendor;
    pf.device_id = c.pf_device;
    pf.class_code = c.class_code;
    pf.subsystem_vendor_id = c.sub_vendor;
    pf.subsystem_device_id = c.sub_device;
    pf.driver = c.pf_driver;
    pf.numa_node = o.numa_node;
    if (c.acpi) pf.acpi_index = p + 1;
    FakeNetdev nd;
    nd.name = pf_ifname(bus, p);
    nd.address = MakeMac(mac_counter++);
    pf.netdevs.push_back(nd);
    FakeVfLayout l;
    l.total_vfs = c.total_vfs;
    l.num_vfs = nvfs;
    l.first_vf_offset = c.offset0 + p * c.offset_step;
    l.vf_stride = c.stride;
    l.vf_device_id = c.vf_device;
    l.vf_subsystem_vendor_id = c.sub_vendor;
    l.vf_subsystem_device_id = c.sub_device;
    l.vf_driver = o.vf_driver ? *o.vf_driver : c.vf_driver;
    out.push_back(b.AddPf(pf, l));
  }
  return out;
}

std::string IntelIfname(int bus, int port) {
  return PciIfname(Bdf{0, bus, 0, port});
}
std::string MlxIfname(int, int port) { return "ens1f" + std::to_string(port); }

const CardSpec k82576{0x8086, 0x10c9, 0x8086, 0xa03c, 0x10ca, "igb", "igbvf",
                      0x01,   2,      8,      7,      0x80,   0,     2};
const CardSpec kX710{0x8086, 0x1572, 0x8086, 0x0000, 0x154c,
                     "i40e", "iavf", 0x3b,   2,      64,
                     4,      16,     63,     1,      true};
const CardSpec kE810{0x8086, 0x1592, 0x8086, 0x0002, 0x1889, "ice", "iavf",
                     0x5e,   1,      256,    256,    0x100,  0xff,  1};
const CardSpec kCx5{0x15b3,      0x1017,      0x15b3, 0x0007, 0x1018,
                    "mlx5_core", "mlx5_core", 0xaf,   2,      8,
                    4,           2,           7,      1};

}  // namespace

std::vector<FakePf> AddIntel82576(FakeSysfsBuilder& b,
                                  const FakeCardOptions& o) {
  return AddCard(b, k82576, o, IntelIfname);
}

std::vector<FakePf> AddIntelX710(FakeSysfsBuilder& b,
                                 const FakeCardOptions& o) {
  return AddCard(b, kX710, o, IntelIfname);
}

std::vector<FakePf> AddIntelE810(FakeSysfsBuilder& b,
                                 const FakeCardOptions& o) {
  return AddCard(b, kE810, o, IntelIfname);
}

std::vector<FakePf> AddMellanoxCx5Legacy(FakeSysfsBuilder& b,
                                         const FakeCardOptions& o) {
  return AddCard(b, kCx5, o, MlxIfname);
}

std::vector<FakePf> AddMellanoxCx5Switchdev(FakeSysfsBuilder& b,
                                            const FakeCardOptions& o) {
  std::vector<FakePf> pfs = AddCard(b, kCx5, o, MlxIfname);
  // In switchdev mode the PF's netdev is renamed after its phys_port_name
  // (ens1f0 -> ens1f0np0) and the eswitch adds one representor per VF whose
  // parent device is the PF.
  for (size_t p = 0; p < pfs.size(); ++p) {
    FakePf& pf = pfs[p];
    pf.phys_switch_id = "b8ce0003f6a42e0" + std::to_string(p);
    b.RemoveNetdevs(pf.bdf);
    FakeNetdev up;
    up.name = pf.netdev + "np" + std::to_string(p);
    up.address = MakeMac(mac_counter++);
    up.phys_port_name = "p" + std::to_string(p);
    up.phys_switch_id = pf.phys_switch_id;
    for (size_t i = 0; i < pf.vfs.size(); ++i) {
      FakeNetdev rep;
      rep.name = pf.netdev + "_" + std::to_string(i);
      rep.address = MakeMac(mac_counter++);
      rep.phys_port_name = "pf" + std::to_string(p) + "vf" + std::to_string(i);
      rep.phys_switch_id = pf.phys_switch_id;
      b.AddNetdev(pf.bdf, rep);
      pf.representors.push_back(rep.name);
    }
    b.AddNetdev(pf.bdf, up);
    pf.netdev = up.name;
  }
  return pfs;
}

std::vector<FakePf> AddMellanoxCx5Infiniband(FakeSysfsBuilder& b,
                                             const FakeCardOptions& o) {
  FakeCardOptions opts = o;
  if (!opts.vf_driver) opts.vf_driver = "";  // netdevs replaced below
  CardSpec ib = kCx5;
  ib.class_code = 0x020700;  // Infiniband controller
  std::vector<FakePf> pfs = AddCard(b, ib, opts, MlxIfname);
  for (size_t p = 0; p < pfs.size(); ++p) {
    FakePf& pf = pfs[p];
    b.RemoveNetdevs(pf.bdf);
    FakeNetdev ib;
    ib.name = "ibp175s0f" + std::to_string(p);
    ib.address = MakeIbAddress(mac_counter++);
    ib.mtu = 4092;
    ib.type = 32;
    b.AddNetdev(pf.bdf, ib);
    pf.netdev = ib.name;
    for (size_t i = 0; i < pf.vfs.size(); ++i) {
      if (o.vf_driver && o.vf_driver->empty()) continue;
      b.BindDriver(pf.vfs[i], "mlx5_core");
      FakeNetdev vnd = ib;
      vnd.name = ib.name + "v" + std::to_string(i);
      vnd.address = MakeIbAddress(mac_counter++);
      b.AddNetdev(pf.vfs[i], vnd);
      pf.vf_netdevs[i] = vnd.name;
    }
  }
  return pfs;
}

std::vector<FakePf> AddNoIommuHost(FakeSysfsBuilder& b) {
  b.SetIommuEnabled(false);
  FakeCardOptions o;
  o.vf_driver = "vfio-pci";
  return AddIntel82576(b, o);
}

std::vector<FakePf> AddScaleTree(FakeSysfsBuilder& b, int pfs, int vfs_per_pf) {
  std::vector<FakePf> out;
  for (int k = 0; k < pfs; ++k) {
    FakeCardOptions o;
    o.bus = 0x10 + 2 * k;
    o.ports = 1;
    o.num_vfs = vfs_per_pf;
    o.numa_node = k % 2;
    CardSpec c = kE810;
    c.total_vfs = std::max(256, vfs_per_pf);
    for (FakePf& pf : AddCard(b, c, o, IntelIfname)) out.push_back(pf);
  }
  return out;
}

}  // namespace sk::testing
