#include "lib/sysfs/host.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

#include "lib/base/errno_status.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"
#include "lib/sysfs/pci_ids.h"

namespace sk::sysfs {
namespace {

// Discovery reads ~20 small files per device; for the 2048-VF scale tree the
// syscalls dominate, so this file talks to the tree with openat()/readlinkat()
// relative to one directory fd per device instead of building absolute paths
// (and never canonicalises a link: the basename of its target is enough).
// Everything stays under the Sysfs root.

constexpr size_t kMaxAttr = 4096;

// Reads a small attribute relative to `dirfd`, strips trailing whitespace.
// Returns 0 or an errno value.
int ReadAt(int dirfd, const char* name, std::string* out) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[kMaxAttr];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  ::close(fd);
  if (err != 0) return err;
  size_t len = static_cast<size_t>(n);
  while (len > 0 &&
         absl::ascii_isspace(static_cast<unsigned char>(buf[len - 1])))
    --len;
  out->assign(buf, len);
  return 0;
}

// Basename of the target of the symlink `name` under `dirfd`.
int ReadLinkBasenameAt(int dirfd, const char* name, std::string* out) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(dirfd, name, buf, sizeof(buf) - 1);
  if (n < 0) return errno;
  std::string_view t(buf, static_cast<size_t>(n));
  while (!t.empty() && t.back() == '/') t.remove_suffix(1);
  size_t slash = t.rfind('/');
  if (slash != std::string_view::npos) t.remove_prefix(slash + 1);
  out->assign(t);
  return 0;
}

// Sorted entry names of the directory `name` under `dirfd`, without "." and
// "..". Uses getdents64 directly: glibc's fdopendir/readdir add an fstat and
// fcntl per directory, and every syscall counts here.
int ListAt(int dirfd, const char* name, std::vector<std::string>* out) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  alignas(8) char buf[32768];
  int err = 0;
  while (true) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(buf + off);
      off += e->d_reclen;
      const char* nm = e->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0)))
        continue;
      out->emplace_back(nm);
    }
  }
  ::close(fd);
  std::sort(out->begin(), out->end());
  return err;
}

std::string Quote(std::string_view v) { return sk::StrCat("\"", v, "\""); }

bool IsMissing(int err) { return err == ENOENT || err == ENOTDIR; }

// Attribute readers that record a warning (naming the attribute and value)
// instead of failing. Attributes are read at <dirfd>/<prefix><attr>, and
// warnings name "<prefix><attr>".
class AttrReader {
 public:
  AttrReader(int dirfd, std::string prefix, std::vector<std::string>* warnings)
      : dirfd_(dirfd), prefix_(std::move(prefix)), warnings_(warnings) {}

  void Warn(std::string_view attr, std::string_view what) {
    warnings_->push_back(sk::StrCat(prefix_, attr, ": ", what));
  }
  // `attr` relative to the directory fd (the prefix names a subfolder).
  std::string Rel(std::string_view attr) const {
    return sk::StrCat(prefix_, attr);
  }

  // nullopt when missing (no warning unless `required`) or unreadable.
  std::optional<std::string> Str(const char* attr, bool required = false) {
    std::string v;
    int err = ReadAt(dirfd_, Rel(attr).c_str(), &v);
    if (err == 0) return v;
    // EOPNOTSUPP/EINVAL: the kernel lists phys_port_name and friends for
    // every netdev but fails the read when the driver does not implement it.
    if (IsMissing(err)) {
      if (required) Warn(attr, "missing");
    } else if (err != EOPNOTSUPP && err != EINVAL) {
      Warn(attr, sk::StrCat("unreadable: ", std::strerror(err)));
    }
    return std::nullopt;
  }

  std::optional<int64_t> Int(const char* attr, bool required = false) {
    auto s = Str(attr, required);
    if (!s) return std::nullopt;
    auto v = ParseSysfsInt(*s);
    if (!v.ok()) {
      Warn(attr, std::string(v.status().message()));
      return std::nullopt;
    }
    return *v;
  }

  // An integer in [lo, hi]; out-of-range values warn.
  std::optional<int64_t> Ranged(const char* attr, int64_t lo, int64_t hi,
                                bool required = false) {
    auto v = Int(attr, required);
    if (v && (*v < lo || *v > hi)) {
      Warn(attr, sk::StrCat("out of range: ", Quote(std::to_string(*v))));
      return std::nullopt;
    }
    return v;
  }

  // Basename of a link; nullopt when absent.
  std::optional<std::string> Link(const char* attr) {
    std::string v;
    int err = ReadLinkBasenameAt(dirfd_, Rel(attr).c_str(), &v);
    if (err == 0) return v;
    if (!IsMissing(err))
      Warn(attr, sk::StrCat("unreadable link: ", std::strerror(err)));
    return std::nullopt;
  }

 private:
  int dirfd_;
  std::string prefix_;
  std::vector<std::string>* warnings_;
};

bool IsUplinkPortName(std::string_view n, char kind) {
  // kind 'p': "p<N>"; kind 'f': "pf<N>".
  if (kind == 'p') {
    if (n.size() < 2 || n[0] != 'p') return false;
    n.remove_prefix(1);
  } else {
    if (n.size() < 3 || n.substr(0, 2) != "pf") return false;
    n.remove_prefix(2);
  }
  return std::all_of(n.begin(), n.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

// Representor port names (Linux Documentation/networking/
// switchdev.rst, devlink-port flavours): pf<N>vf<M>, pf<N>sf<M>,
// c<C>pf<N>vf<M>, ...: anything naming a vf or sf.
bool IsRepresentorPortName(std::string_view n) {
  return n.find("vf") != std::string_view::npos ||
         n.find("sf") != std::string_view::npos;
}

std::optional<std::string> ChoosePfNetdev(const std::vector<NetDev>& nds) {
  for (char kind : {'p', 'f'}) {
    for (const NetDev& nd : nds)
      if (IsUplinkPortName(nd.phys_port_name, kind)) return nd.name;
  }
  for (const NetDev& nd : nds)  // sorted by name
    if (!IsRepresentorPortName(nd.phys_port_name)) return nd.name;
  return std::nullopt;
}

// `details` false: the name and link type only (DiscoverOptions::details).
NetDev ReadNetdev(int devfd, const std::string& name, bool details,
                  std::vector<std::string>* warnings) {
  NetDev nd;
  nd.name = name;
  // Attributes are opened as "net/<ifname>/<attr>" relative to the device
  // directory: one path walk is cheaper than an extra open+close here.
  AttrReader r(devfd, "net/" + name + "/", warnings);
  if (auto t = r.Int("type")) {
    // include/uapi/linux/if_arp.h: ARPHRD_ETHER 1, ARPHRD_INFINIBAND 32.
    nd.link_type = *t == 1    ? LinkType::kEther
                   : *t == 32 ? LinkType::kInfiniband
                              : LinkType::kUnknown;
  }
  if (!details) return nd;
  if (auto a = r.Str("address")) {
    auto mac = ParseHwAddress(*a);
    if (mac.ok()) {
      nd.mac = *std::move(mac);
    } else {
      r.Warn("address", sk::StrCat("not a hardware address: ", Quote(*a)));
    }
  }
  if (auto m = r.Ranged("mtu", 0, INT32_MAX)) nd.mtu = static_cast<int>(*m);
  if (auto s = r.Str("operstate")) nd.operstate = *std::move(s);
  if (auto s = r.Str("phys_port_name")) nd.phys_port_name = *std::move(s);
  if (auto s = r.Str("phys_switch_id")) nd.phys_switch_id = *std::move(s);
  return nd;
}

void ResolveNames(const Sysfs& fs, const DiscoverOptions& opts,
                  std::vector<PciDevice>& devices) {
  std::unordered_set<uint32_t> wanted;
  for (const PciDevice& d : devices)
    wanted.insert((uint32_t{d.vendor_id} << 16) | d.device_id);
  if (wanted.empty()) return;
  for (const std::string& rel : opts.pci_ids_paths) {
    auto text = fs.ReadAttribute(rel);
    if (!text.ok()) continue;
    PciNames names = ParsePciIds(*text, wanted);
    for (PciDevice& d : devices) {
      auto v = names.vendors.find(d.vendor_id);
      if (v != names.vendors.end()) d.vendor_name = v->second;
      auto dv = names.devices.find((uint32_t{d.vendor_id} << 16) | d.device_id);
      if (dv != names.devices.end()) d.device_name = dv->second;
    }
    return;
  }
}

struct Uevent {
  std::optional<int64_t> class_code;
  std::optional<uint16_t> vendor, device, subsystem_vendor, subsystem_device;
  std::optional<std::string> driver;
};

// "vvvv:dddd" as in PCI_ID / PCI_SUBSYS_ID.
bool ParseIdPair(std::string_view v, uint16_t* a, uint16_t* b) {
  return v.size() == 9 && v[4] == ':' && ParseHex4(v, a) &&
         ParseHex4(v.substr(5), b);
}

Uevent ParseUevent(std::string_view text, AttrReader& r) {
  Uevent u;
  for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n')) {
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    std::string_view key = ToStd(line.substr(0, eq));
    std::string_view val = ToStd(line.substr(eq + 1));
    if (key == "DRIVER") {
      u.driver = std::string(val);
    } else if (key == "PCI_CLASS") {
      uint32_t c = 0;
      if (!val.empty() && val.size() <= 6 &&
          absl::SimpleHexAtoi(ToAbsl(val), &c)) {
        u.class_code = c;
      } else {
        r.Warn("uevent",
               sk::StrCat("PCI_CLASS: not a class code: ", Quote(val)));
      }
    } else if (key == "PCI_ID" || key == "PCI_SUBSYS_ID") {
      uint16_t a = 0, b = 0;
      if (!ParseIdPair(val, &a, &b)) {
        r.Warn("uevent", sk::StrCat(key, ": not \"vvvv:dddd\": ", Quote(val)));
      } else if (key == "PCI_ID") {
        u.vendor = a;
        u.device = b;
      } else {
        u.subsystem_vendor = a;
        u.subsystem_device = b;
      }
    }
  }
  return u;
}

class Discoverer {
 public:
  Discoverer(const Sysfs& fs, const DiscoverOptions& opts)
      : fs_(fs), details_(opts.details) {}

  absl::Status Open() {
    std::string bus = fs_.Path("sys/bus/pci/devices").string();
    int fd = ::open(bus.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open ", bus);
    bus_fd_.Reset(fd);
    std::string groups = fs_.Path("sys/kernel/iommu_groups").string();
    groups_fd_.Reset(::open(groups.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> Entries() {
    std::vector<std::string> names;
    int err = ListAt(bus_fd_.get(), ".", &names);
    if (err != 0)
      return ErrnoStatus(err, "list ",
                         fs_.Path("sys/bus/pci/devices").string());
    return names;
  }

  // Reads one device; nullopt when it is skipped (not a kept class).
  // Thread-safe: workers call it concurrently with their own `host_warnings`.
  std::optional<PciDevice> Read(const std::string& entry,
                                std::vector<std::string>* host_warnings) const {
    auto addr = PciAddress::Parse(entry);
    if (!addr.ok()) {
      host_warnings->push_back(sk::StrCat("sys/bus/pci/devices/", entry,
                                          ": not a PCI address, skipped"));
      return std::nullopt;
    }
    int fd = ::openat(bus_fd_.get(), entry.c_str(),
                      O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      host_warnings->push_back(
          sk::StrCat("sys/bus/pci/devices/", entry,
                     ": unreadable: ", std::strerror(errno)));
      return std::nullopt;
    }
    UniqueFd dfd(fd);
    PciDevice d;
    d.address = *addr;
    AttrReader r(dfd.get(), "", &d.warnings);
    // The kernel's uevent carries class, IDs and driver in one read
    // (drivers/pci/pci-driver.c pci_uevent, drivers/base/core.c dev_uevent);
    // each value falls back to its own attribute file when uevent is absent
    // or lacks it, so either source alone is enough.
    Uevent ue;
    std::string uev;
    bool has_uevent = ReadAt(dfd.get(), "uevent", &uev) == 0;
    if (has_uevent) ue = ParseUevent(uev, r);
    std::optional<int64_t> cls = ue.class_code;
    if (!cls) cls = r.Ranged("class", 0, 0xffffff, /*required=*/true);
    if (!cls) {
      for (const std::string& w : d.warnings)
        host_warnings->push_back(sk::StrCat(entry, ": ", w, "; skipped"));
      return std::nullopt;
    }
    d.class_code = static_cast<uint32_t>(*cls);
    if (!d.is_network() && !d.is_accelerator()) return std::nullopt;

    auto id = [&](const char* attr, std::optional<uint16_t> from_uevent,
                  uint16_t* out) {
      if (from_uevent) {
        *out = *from_uevent;
      } else if (auto v = r.Ranged(attr, 0, 0xffff, /*required=*/true)) {
        *out = static_cast<uint16_t>(*v);
      }
    };
    id("vendor", ue.vendor, &d.vendor_id);
    id("device", ue.device, &d.device_id);
    id("subsystem_vendor", ue.subsystem_vendor, &d.subsystem_vendor_id);
    id("subsystem_device", ue.subsystem_device, &d.subsystem_device_id);
    d.driver = has_uevent ? ue.driver : r.Link("driver");

    if (auto n = r.Int("numa_node")) {
      if (*n >= 0 && *n <= INT32_MAX) {
        d.numa_node = static_cast<int>(*n);
      } else if (*n != -1) {
        r.Warn("numa_node",
               sk::StrCat("out of range: ", Quote(std::to_string(*n))));
      }
    }
    if (auto g = r.Link("iommu_group")) {
      int64_t n = 0;
      auto v = ParseSysfsInt(*g);
      if (v.ok() && *v >= 0 && *v <= INT32_MAX) {
        n = *v;
        d.iommu_group = static_cast<int>(n);
        // vfio creates no-IOMMU groups only for devices it binds
        // (drivers/vfio/group.c vfio_noiommu_group_alloc), so only devices
        // bound to a vfio driver need the extra read.
        if (details_ && d.driver && d.driver->find("vfio") != std::string::npos)
          d.noiommu = IsNoIommuGroup(*g);
      } else {
        r.Warn("iommu_group",
               sk::StrCat("link target is not a group number: ", Quote(*g)));
      }
    }
    if (auto a = r.Ranged("acpi_index", 0, INT32_MAX))
      d.acpi_index = static_cast<int>(*a);

    // A VF (physfn link) has no SR-IOV capability of its own
    // (drivers/pci/iov.c), so only other devices are probed for it: one
    // failing open less per VF.
    bool vf_link = false;
    if (auto p = r.Link("physfn")) {
      vf_link = true;
      auto pa = PciAddress::Parse(*p);
      if (pa.ok()) {
        d.physfn = *pa;
      } else {
        r.Warn("physfn",
               sk::StrCat("link target is not a PCI address: ", Quote(*p)));
      }
    }
    if (!vf_link) {
      if (auto t = r.Ranged("sriov_totalvfs", 0, INT32_MAX))
        d.sriov_totalvfs = static_cast<int>(*t);
    }

    std::vector<std::string> ifnames;
    int err = ListAt(dfd.get(), "net", &ifnames);
    if (err != 0 && !IsMissing(err))
      r.Warn("net", sk::StrCat("unreadable: ", std::strerror(err)));
    // A PF's netdevs are always read in full: choosing its uplink needs
    // phys_port_name.
    bool full = details_ || d.is_pf();
    for (const std::string& n : ifnames)
      d.netdevs.push_back(ReadNetdev(dfd.get(), n, full, &d.warnings));

    if (d.is_pf()) {
      if (auto n = r.Ranged("sriov_numvfs", 0, INT32_MAX, /*required=*/true))
        d.sriov_numvfs = static_cast<int>(*n);
      ReadVirtfns(dfd.get(), entry, r, d);
      d.pf_netdev = ChoosePfNetdev(d.netdevs);
    }
    return d;
  }

 private:
  void ReadVirtfns(int dfd, const std::string& entry, AttrReader& r,
                   PciDevice& d) const {
    // O_PATH fds cannot be listed: list the PF directory through the bus.
    std::vector<std::string> names;
    int err = ListAt(bus_fd_.get(), entry.c_str(), &names);
    if (err != 0) {
      r.Warn("virtfn*",
             sk::StrCat("cannot list device directory: ", std::strerror(err)));
      return;
    }
    for (const std::string& n : names) {
      if (n.compare(0, 6, "virtfn") != 0) continue;
      int64_t idx = 0;
      auto v = ParseSysfsInt(std::string_view(n).substr(6));
      if (!v.ok() || *v < 0 || *v > INT32_MAX) {
        r.Warn(n, "not a virtfn<N> link name");
        continue;
      }
      idx = *v;
      std::string target;
      if (ReadLinkBasenameAt(dfd, n.c_str(), &target) != 0) {
        r.Warn(n, "unreadable link");
        continue;
      }
      auto va = PciAddress::Parse(target);
      if (!va.ok()) {
        r.Warn(n,
               sk::StrCat("link target is not a PCI address: ", Quote(target)));
        continue;
      }
      d.vfs.emplace(static_cast<int>(idx), *va);
    }
  }

  bool IsNoIommuGroup(const std::string& group) const {
    if (!groups_fd_) return false;
    std::string rel = group + "/name";
    std::string name;
    return ReadAt(groups_fd_.get(), rel.c_str(), &name) == 0 &&
           name == "vfio-noiommu";
  }

  const Sysfs& fs_;
  const bool details_;
  UniqueFd bus_fd_;
  UniqueFd groups_fd_;
};

}  // namespace

const char* LinkTypeName(LinkType t) {
  switch (t) {
    case LinkType::kEther:
      return "ether";
    case LinkType::kInfiniband:
      return "infiniband";
    case LinkType::kUnknown:
      break;
  }
  return "unknown";
}

absl::StatusOr<std::string> ParseHwAddress(std::string_view text) {
  // "aa:bb:cc": 3 chars per byte minus the last colon.
  size_t n = text.size() + 1;
  bool ok = n % 3 == 0 && n / 3 >= 1 && n / 3 <= 32;
  std::string out(text);
  for (size_t i = 0; ok && i < out.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(out[i]);
    if (i % 3 == 2) {
      ok = c == ':';
    } else {
      ok = absl::ascii_isxdigit(c);
      out[i] = absl::ascii_tolower(c);
    }
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        sk::StrCat("not a hardware address: \"", text, "\""));
  }
  return out;
}

absl::StatusOr<HostSnapshot> HostSnapshot::Discover(
    const Sysfs& fs, const DiscoverOptions& opts) {
  HostSnapshot snap;
  Discoverer disc(fs, opts);
  if (absl::Status s = disc.Open(); !s.ok()) return s;
  auto entries = disc.Entries();
  if (!entries.ok()) return entries.status();
  const size_t count = entries->size();
  std::vector<std::optional<PciDevice>> found(count);
  std::vector<std::vector<std::string>> warnings(count);
  // Reading is syscall-bound (~25 small files per VF), so large trees are
  // split over a few threads; each slot is written by exactly one worker.
  size_t threads = opts.threads;
  if (threads == 0) {
    threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
    threads = std::min(threads, count / 128 + 1);
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;)
      found[i] = disc.Read((*entries)[i], &warnings[i]);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < count; ++i) {
    for (std::string& w : warnings[i]) snap.warnings_.push_back(std::move(w));
    if (found[i]) snap.devices_.push_back(*std::move(found[i]));
  }
  std::sort(snap.devices_.begin(), snap.devices_.end(),
            [](const PciDevice& a, const PciDevice& b) {
              return a.address < b.address;
            });
  for (size_t i = 0; i < snap.devices_.size(); ++i)
    snap.index_.emplace(snap.devices_[i].address, i);

  // VF index: the N for which the PF's virtfnN names the VF.
  for (const PciDevice& pf : snap.devices_) {
    for (const auto& [n, va] : pf.vfs) {
      auto it = snap.index_.find(va);
      if (it == snap.index_.end()) continue;
      PciDevice& vf = snap.devices_[it->second];
      if (vf.physfn == pf.address) vf.vf_index = n;
    }
  }
  for (PciDevice& d : snap.devices_) {
    if (d.physfn && !d.vf_index) {
      d.warnings.push_back(
          sk::StrCat("physfn: PF ", d.physfn->ToString(),
                     " has no virtfn link to this device; VF index unknown"));
    }
  }
  if (opts.resolve_names) ResolveNames(fs, opts, snap.devices_);
  return snap;
}

const PciDevice* HostSnapshot::Find(const PciAddress& a) const {
  auto it = index_.find(a);
  return it == index_.end() ? nullptr : &devices_[it->second];
}

const PciDevice* HostSnapshot::FindByNetdev(std::string_view name) const {
  for (const PciDevice& d : devices_)
    for (const NetDev& nd : d.netdevs)
      if (nd.name == name) return &d;
  return nullptr;
}

std::vector<const PciDevice*> HostSnapshot::PhysicalFunctions() const {
  std::vector<const PciDevice*> out;
  for (const PciDevice& d : devices_)
    if (d.is_pf()) out.push_back(&d);
  return out;
}

std::vector<const PciDevice*> HostSnapshot::VfsOf(const PciDevice& pf) const {
  std::vector<const PciDevice*> out;
  for (const auto& [n, va] : pf.vfs) {
    const PciDevice* vf = Find(va);
    if (vf != nullptr && vf->physfn == pf.address) out.push_back(vf);
  }
  return out;
}

const PciDevice* HostSnapshot::PfOf(const PciDevice& vf) const {
  return vf.physfn ? Find(*vf.physfn) : nullptr;
}

}  // namespace sk::sysfs
