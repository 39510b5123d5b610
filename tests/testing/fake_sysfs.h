#pragma once
// FakeSysfsBuilder materialises REALISTIC sysfs trees (directories, attribute
// files and relative symlinks, laid out the way the kernel does) under a root
// directory, so code that reads `<root>/sys/...` through sk::sysfs::Sysfs can
// be tested hermetically.
//
//   sk::testing::FakeSysfsDir dir;          // temp root (tmpfs when possible)
//   sk::testing::FakeSysfsBuilder b(dir.path());
//   std::vector<FakePf> pfs = sk::testing::AddIntel82576(b);   // 2 PFs x 7 VFs
//   b.BindDriver(pfs[0].vfs[3], "vfio-pci");                  // also
//   /dev/vfio/<g> b.RemoveNetdevs(pfs[0].vfs[1]);                           //
//   netdev in a netns b.WritePciIds(); // small pci.ids sk::sysfs::Sysfs
//   fs(dir.path());
//
// Layout produced for a device with address D (all links relative, like the
// kernel's):
//   sys/devices/pci<dom>:<rb>/<dom>:<rb>:00.0/D/       the device directory
//       (rb = bus-1, a root port; VFs sit beside their PF under the same
//       bridge, also when ARI puts them on the next bus)
//     class vendor device subsystem_vendor subsystem_device revision
//     uevent (DRIVER=, PCI_CLASS=, PCI_ID=, PCI_SUBSYS_ID=, PCI_SLOT_NAME=,
//       MODALIAS= as the kernel prints them; rewritten by BindDriver. It is
//       NOT rewritten by WriteAttribute("vendor", ...): remove "uevent" to
//       make readers fall back to the per-attribute files)
//     numa_node (when set) acpi_index (when set)
//     driver -> ../../../../bus/pci/drivers/<drv>      (when bound)
//     iommu_group -> ../../../../kernel/iommu_groups/<g> (when it has a group)
//     sriov_totalvfs sriov_numvfs sriov_offset sriov_stride sriov_vf_device
//       virtfn<N> -> ../<vf bdf>                       (PFs)
//     physfn -> ../<pf bdf>                            (VFs)
//     net/<ifname>/{address,mtu,operstate,type,ifindex,
//                   phys_port_name,phys_switch_id}     (the last two only
//                                                       when non-empty)
//   sys/bus/pci/devices/D -> ../../../devices/.../D
//   sys/bus/pci/drivers/<drv>/{bind,unbind,new_id,remove_id}, <D> -> device
//   sys/kernel/iommu_groups/<g>/devices/D -> device, and a `name` file reading
//       "vfio-noiommu" for no-IOMMU groups
//   sys/class/iommu/dmar0 (once any IOMMU group exists)
//   sys/class/net/<ifname> -> ../../devices/.../D/net/<ifname>
//   dev/vfio/vfio and dev/vfio/<g> (dev/vfio/noiommu-<g> for no-IOMMU
//       groups) as empty regular files, for devices bound to vfio-pci.
//
// IOMMU groups are allocated by the builder (0, 1, 2, ... in creation order)
// unless a device asks for a specific one or none. With SetIommuEnabled(false)
// (a no-IOMMU host) devices get no group, except devices bound to vfio-pci,
// which get a "vfio-noiommu" group, as vfio's enable_unsafe_noiommu_mode does.
//
// Errors: the builder is test scaffolding. A failing filesystem operation is
// reported with ADD_FAILURE() (naming the path) and sets ok() to false; the
// builder keeps going. Calling a mutator with an unknown BDF is a failure too.
//
// Not thread-safe. The root directory must exist; the builder never deletes.
// Note: our -Wextra builds reject partial designated initializers
// (FakeDevice{.bdf = ...}); declare the struct and set fields instead.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sk::testing {

// A netdev under <device>/net/<name>/.
struct FakeNetdev {
  std::string name;
  std::string address;  // "aa:bb:..."; no `address` file when empty
  int mtu = 1500;
  std::string operstate = "up";
  int type = 1;                // ARPHRD_ETHER 1, ARPHRD_INFINIBAND 32
  std::string phys_port_name;  // file only when non-empty
  std::string phys_switch_id;  // file only when non-empty
};

// One PCI function.
struct FakeDevice {
  static constexpr int kAutoIommuGroup = -2;  // builder allocates one
  static constexpr int kNoIommuGroup = -1;    // no iommu_group link

  std::string bdf;     // canonical "0000:3b:00.0" (required)
  std::string parent;  // directory under sys/devices; empty: derived from bdf
  uint32_t class_code = 0x020000;
  uint16_t vendor_id = 0x8086;
  uint16_t device_id = 0;
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_device_id = 0;
  std::string driver;                 // empty: unbound
  std::optional<int> numa_node = -1;  // nullopt: no numa_node file
  int iommu_group = kAutoIommuGroup;  // or kNoIommuGroup, or a number
  std::optional<int> acpi_index;      // nullopt: no acpi_index file
  std::vector<FakeNetdev> netdevs;
};

// How AddPf creates the VFs of a PF. VF i gets routing ID
// PF_RID + first_vf_offset + i * vf_stride (PCIe SR-IOV capability), so a
// large offset or many VFs put VFs on the next bus(es), as with ARI.
struct FakeVfLayout {
  int total_vfs = 0;  // sriov_totalvfs
  int num_vfs = 0;    // sriov_numvfs = number of VFs created
  int first_vf_offset = 0x80;
  int vf_stride = 2;
  uint16_t vf_device_id = 0;
  uint16_t vf_subsystem_vendor_id = 0;
  uint16_t vf_subsystem_device_id = 0;
  std::string vf_driver;   // empty: VFs unbound
  bool vf_netdevs = true;  // give each VF a netdev (only when bound, and
                           // not to vfio-pci) named enp<bus>s<dev>f<fn>
                           // (decimal), with a unique MAC
  int mtu = 1500;
};

// What AddPf (and the presets) created; use it for expectations.
struct FakePf {
  std::string bdf;
  std::string netdev;            // the PF's own (uplink) netdev; "" when none
  std::vector<std::string> vfs;  // VF BDFs, index = VF index
  std::vector<std::string> vf_netdevs;    // "" where a VF has no netdev
  std::vector<std::string> representors;  // switchdev: rep of VF i
  std::string phys_switch_id;             // switchdev only
};

class FakeSysfsBuilder {
 public:
  explicit FakeSysfsBuilder(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  // False once any filesystem operation failed (each also ADD_FAILUREs).
  bool ok() const { return ok_; }

  // A no-IOMMU host: call before adding devices. Default: enabled.
  void SetIommuEnabled(bool enabled) { iommu_enabled_ = enabled; }

  // Creates one device with everything described above. Returns its BDF.
  std::string AddDevice(FakeDevice dev);

  // Creates an SR-IOV PF (sriov_* files, virtfnN links) and its num_vfs VFs
  // (vendor and class copied from the PF; physfn links). PF netdevs come from
  // pf.netdevs (FakePf::netdev is the first of them).
  FakePf AddPf(FakeDevice pf, const FakeVfLayout& layout);

  // --- Mutators on an existing device (by canonical BDF) ---
  // "sys/devices/.../<bdf>" relative to the root; "" for unknown BDFs.
  std::string DeviceDir(std::string_view bdf) const;
  // Writes <device dir>/<rel> (creating parents), e.g. ("numa_node", "x").
  void WriteAttribute(std::string_view bdf, std::string_view rel,
                      std::string_view value);
  void RemoveAttribute(std::string_view bdf, std::string_view rel);
  // Rebinds to `driver` ("" unbinds). Binding to vfio-pci removes the
  // device's netdevs (as the kernel does) and creates dev/vfio nodes; a
  // device without a group gets one (noiommu when IOMMU is disabled).
  void BindDriver(std::string_view bdf, std::string_view driver);
  void AddNetdev(std::string_view bdf, const FakeNetdev& nd);
  // Removes <device>/net/* and their sys/class/net links: what a host sees
  // when the VF's netdev was moved into another network namespace.
  void RemoveNetdevs(std::string_view bdf);
  // Removes the device as hot-unplug (or sriov_numvfs=0 for a VF) does: its
  // driver binding, netdevs, IOMMU group membership, directory and
  // sys/bus/pci/devices link. The caller removes links that point at it
  // from elsewhere (a PF's virtfn<N>).
  void RemoveDevice(std::string_view bdf);
  // Replaces the iommu_group link (kNoIommuGroup removes it).
  void SetIommuGroup(std::string_view bdf, int group);
  // The device's IOMMU group, if it has one.
  std::optional<int> IommuGroupOf(std::string_view bdf) const;
  // Writes sys/kernel/iommu_groups/<g>/name (e.g. "vfio-noiommu").
  void SetIommuGroupName(int group, std::string_view name);

  // Writes a pci.ids database (default: kFakePciIds) at `rel` under the root.
  void WritePciIds(std::string_view contents = {},
                   std::string_view rel = "usr/share/misc/pci.ids");

  // --- Raw helpers (paths relative to the root) ---
  void WriteFile(std::string_view rel, std::string_view contents);
  void MakeDirs(std::string_view rel);
  // Creates `link` pointing to `target` expressed relative to link's folder
  // (both given relative to the root).
  void RelativeSymlink(std::string_view link, std::string_view target);
  void Remove(std::string_view rel);  // file, link or tree

 private:
  struct Entry {
    std::string bdf;
    std::string dir;  // relative to root
    uint32_t class_code = 0;
    uint16_t ids[4] = {};  // vendor, device, subsystem vendor, device
    std::optional<int> group;
    std::string driver;
    std::vector<std::string> netdevs;
  };
  void Fail(std::string_view what, const std::string& path, int err);
  Entry* Find(std::string_view bdf);
  int AllocateGroup(bool noiommu);
  void AttachGroup(const std::string& bdf, Entry& e, int group, bool noiommu);
  void CreateDevVfio(int group);
  void WriteNetdev(const std::string& bdf, Entry& e, const FakeNetdev& nd);
  void WriteUevent(const Entry& e);

  std::filesystem::path root_;
  bool ok_ = true;
  bool iommu_enabled_ = true;
  int next_group_ = 0;
  int next_ifindex_ = 2;
  std::set<std::string> made_dirs_;
  std::set<int> noiommu_groups_;
  std::map<std::string, Entry, std::less<>> devices_;
};

// A temporary root for fake trees, removed recursively on destruction. It
// lives on tmpfs (/dev/shm/sk.XXXXXX) when available, like real sysfs lives
// in memory: building the 2048-VF scale tree on a loaded ext4 /tmp takes
// minutes of journal waits, on tmpfs well under a second. Falls back to /tmp.
class FakeSysfsDir {
 public:
  FakeSysfsDir();
  FakeSysfsDir(const FakeSysfsDir&) = delete;
  FakeSysfsDir& operator=(const FakeSysfsDir&) = delete;
  ~FakeSysfsDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const {
    return path_ / rel;
  }

 private:
  std::filesystem::path path_;
};

// A small pci.ids with the vendors and devices the presets use (plus a
// subsystem line and a class section that parsers must skip).
extern const std::string_view kFakePciIds;

// Formats a PCI address the canonical way ("0000:3b:00.0").
std::string FakeBdf(int domain, int bus, int dev, int fn);

// ---------------------------------------------------------------- presets
// Each preset adds one adapter (one FakePf per port) and returns them.
struct FakeCardOptions {
  int bus = -1;  // PCI bus of the PFs; -1: the preset's default
  int numa_node = 0;
  int ports = -1;    // number of PFs; -1: the preset's default
  int num_vfs = -1;  // VFs per PF; -1: the preset's default
  // VF driver override: nullopt = preset's VF driver, "" = unbound VFs,
  // "vfio-pci" = bound to vfio-pci (no VF netdevs; dev/vfio/<g> created).
  std::optional<std::string> vf_driver;
};

// Intel 82576 (8086:10c9, igb), VFs 8086:10ca igbvf; 2 ports, 7 of 7 VFs,
// offset 0x80 stride 2 (VFs 01:10.0, 01:10.2, ... / 01:10.1, ...); bus 0x01.
std::vector<FakePf> AddIntel82576(FakeSysfsBuilder& b,
                                  const FakeCardOptions& o = {});
// Intel X710 (8086:1572, i40e), VFs 8086:154c iavf; 2 ports, 4 of 64 VFs,
// offset 16 stride 1; PFs have acpi_index 1, 2; bus 0x3b.
std::vector<FakePf> AddIntelX710(FakeSysfsBuilder& b,
                                 const FakeCardOptions& o = {});
// Intel E810-C (8086:1592, ice), VFs 8086:1889 iavf; 1 port, 256 of 256 VFs;
// ARI: port p's VFs are on bus+1+p; bus 0x5e, NUMA default 0.
std::vector<FakePf> AddIntelE810(FakeSysfsBuilder& b,
                                 const FakeCardOptions& o = {});
// Mellanox ConnectX-5 (15b3:1017, mlx5_core), VFs 15b3:1018 mlx5_core;
// 2 ports, 4 of 8 VFs, offset 2 stride 1; bus 0xaf.
// Legacy: the PF netdev ens1f<p> has no phys_port_name/phys_switch_id.
std::vector<FakePf> AddMellanoxCx5Legacy(FakeSysfsBuilder& b,
                                         const FakeCardOptions& o = {});
// Switchdev: PF net/ holds the uplink ens1f<p>np<p> (phys_port_name "p<p>")
// and one representor per VF, ens1f<p>_<i> (phys_port_name "pf<p>vf<i>"),
// which sort BEFORE the uplink; all share the port's phys_switch_id.
std::vector<FakePf> AddMellanoxCx5Switchdev(FakeSysfsBuilder& b,
                                            const FakeCardOptions& o = {});
// A ConnectX-5 in InfiniBand mode (netdev type 32, 20-byte addresses).
std::vector<FakePf> AddMellanoxCx5Infiniband(FakeSysfsBuilder& b,
                                             const FakeCardOptions& o = {});
// A no-IOMMU host: disables the IOMMU on `b`, then adds an 82576 whose VFs
// are bound to vfio-pci (each in a "vfio-noiommu" group, with
// dev/vfio/noiommu-<g>).
std::vector<FakePf> AddNoIommuHost(FakeSysfsBuilder& b);
// The scale tree: `pfs` E810-like PFs (one per card, buses 0x10, 0x12, ...,
// VFs on the next bus via ARI), each with `vfs_per_pf` iavf VFs. NUMA node =
// PF number % 2.
std::vector<FakePf> AddScaleTree(FakeSysfsBuilder& b, int pfs = 8,
                                 int vfs_per_pf = 256);

}  // namespace sk::testing
