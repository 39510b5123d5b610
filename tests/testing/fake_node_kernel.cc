#include "tests/testing/fake_node_kernel.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sk::testing {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == ' ' || s.back() == '\0'))
    s.remove_suffix(1);
  return std::string(s);
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

void FakeNodeKernel::FailWrite(std::string path_part, absl::Status status,
                               int times) {
  failures_.push_back({std::move(path_part), std::move(status), times});
}

std::string FakeNodeKernel::Read(const std::string& rel) const {
  std::ifstream f(b_.root() / rel);
  std::stringstream ss;
  ss << f.rdbuf();
  return Trim(ss.str());
}

std::string FakeNodeKernel::DriverOf(const std::string& bdf) const {
  std::error_code ec;
  auto t = std::filesystem::read_symlink(
      b_.root() / ("sys/bus/pci/devices/" + bdf + "/driver"), ec);
  return ec ? "" : t.filename().string();
}

absl::Status FakeNodeKernel::SetNumVfs(const std::string& pf,
                                       std::string_view value) {
  std::string dir = "sys/bus/pci/devices/" + pf;
  int n = std::stoi(Trim(value));
  int cur = std::stoi(Read(dir + "/sriov_numvfs"));
  int total = std::stoi(Read(dir + "/sriov_totalvfs"));
  if (n == cur) return absl::OkStatus();
  if (n > total) return absl::OutOfRangeError("sriov_numvfs: ERANGE");
  if (n != 0 && cur != 0) return absl::UnavailableError("sriov_numvfs: EBUSY");
  std::string pdir = b_.DeviceDir(pf);
  if (n == 0) {
    for (int i = 0; i < cur; ++i) {
      std::string link = dir + "/virtfn" + std::to_string(i);
      std::error_code ec;
      auto t = std::filesystem::read_symlink(b_.root() / link, ec);
      if (ec) continue;
      b_.RemoveDevice(t.filename().string());
      b_.Remove(pdir + "/virtfn" + std::to_string(i));
    }
  } else {
    unsigned dom = 0, bus = 0, dev = 0, fn = 0;
    std::sscanf(pf.c_str(), "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
    int rid = (bus << 8) | (dev << 3) | fn;
    int offset = std::stoi(Read(dir + "/sriov_offset"));
    int stride = std::stoi(Read(dir + "/sriov_stride"));
    std::string parent = pdir.substr(std::string("sys/devices/").size());
    parent = parent.substr(0, parent.rfind('/'));
    for (int i = 0; i < n; ++i) {
      int r = rid + offset + i * stride;
      FakeDevice vf;
      vf.bdf = FakeBdf(dom, (r >> 8) & 0xff, (r >> 3) & 0x1f, r & 7);
      vf.parent = parent;
      vf.vendor_id =
          static_cast<uint16_t>(std::stoi(Read(dir + "/vendor"), nullptr, 16));
      vf.device_id = static_cast<uint16_t>(
          std::stoi(Read(dir + "/sriov_vf_device"), nullptr, 16));
      if (autoprobe_) {
        vf.driver = vf_driver_;
        FakeNetdev nd;
        char name[32];
        std::snprintf(name, sizeof(name), "enp%ds%df%d", (r >> 8) & 0xff,
                      (r >> 3) & 0x1f, r & 7);
        nd.name = name;
        char mac[32];
        int m = next_mac_++;
        std::snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x",
                      (m >> 8) & 0xff, m & 0xff);
        nd.address = mac;
        vf.netdevs.push_back(nd);
      }
      b_.AddDevice(vf);
      b_.RelativeSymlink(pdir + "/virtfn" + std::to_string(i),
                         b_.DeviceDir(vf.bdf));
      b_.RelativeSymlink(b_.DeviceDir(vf.bdf) + "/physfn", pdir);
    }
  }
  b_.WriteFile(pdir + "/sriov_numvfs", std::to_string(n) + "\n");
  return absl::OkStatus();
}

absl::Status FakeNodeKernel::Write(std::string_view rel_in,
                                   std::string_view value) {
  std::string rel(rel_in);
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  writes_.emplace_back(rel, std::string(value));
  for (Failure& f : failures_) {
    if (f.times != 0 && rel.find(f.part) != std::string::npos) {
      if (f.times > 0) --f.times;
      return f.status;
    }
  }
  const std::string devs = "sys/bus/pci/devices/";
  const std::string drvs = "sys/bus/pci/drivers/";
  if (StartsWith(rel, devs)) {
    std::string rest = rel.substr(devs.size());
    size_t slash = rest.find('/');
    std::string bdf = rest.substr(0, slash);
    std::string attr = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (attr == "sriov_numvfs") return SetNumVfs(bdf, value);
    if (attr == "driver_override") {
      std::string v = Trim(value);
      if (v.empty()) {
        overrides_.erase(bdf);
      } else {
        overrides_[bdf] = v;
      }
      b_.WriteAttribute(bdf, "driver_override",
                        (v.empty() ? "(null)" : v) + "\n");
      return absl::OkStatus();
    }
    if (attr == "driver/unbind") {
      if (DriverOf(bdf).empty()) return absl::NotFoundError("unbind: ENOENT");
      b_.BindDriver(bdf, "");
      return absl::OkStatus();
    }
  }
  if (rel == "sys/bus/pci/drivers_probe") {
    std::string bdf = Trim(value);
    if (!DriverOf(bdf).empty()) return absl::OkStatus();
    auto o = overrides_.find(bdf);
    std::string drv = o != overrides_.end() ? o->second : vf_driver_;
    b_.BindDriver(bdf, drv);
    if (drv != "vfio-pci") {
      FakeNetdev nd;
      nd.name = "vf" + bdf.substr(5, 2) + bdf.substr(8, 2) + bdf.substr(11, 1);
      nd.address = "02:00:00:00:ff:" + bdf.substr(8, 2);
      b_.AddNetdev(bdf, nd);
    }
    return absl::OkStatus();
  }
  if (StartsWith(rel, drvs) && rel.size() > 5 &&
      rel.compare(rel.size() - 5, 5, "/bind") == 0) {
    std::string drv = rel.substr(drvs.size(), rel.size() - 5 - drvs.size());
    std::string bdf = Trim(value);
    if (!DriverOf(bdf).empty()) return absl::UnavailableError("bind: EBUSY");
    auto o = overrides_.find(bdf);
    if (o != overrides_.end() && o->second != drv)
      return absl::NotFoundError("bind: ENODEV (driver_override)");
    b_.BindDriver(bdf, drv);
    return absl::OkStatus();
  }
  b_.WriteFile(rel, value);
  return absl::OkStatus();
}

}  // namespace sk::testing
