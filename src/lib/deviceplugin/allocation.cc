#include "lib/deviceplugin/allocation.h"

#include <cctype>

#include "absl/strings/str_join.h"
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "lib/base/strings.h"

namespace sk::deviceplugin {
namespace {

std::string DevPath(const std::string& id, std::string_view rel) {
  return sk::StrCat("sys/bus/pci/devices/", id, "/", rel);
}

absl::Status AddVfio(const PoolDevice& dev, const sysfs::Sysfs& fs,
                     DeviceOutputs* out) {
  auto group = fs.ReadLinkBasename(DevPath(dev.id, "iommu_group"));
  if (!group.ok()) {
    return absl::FailedPreconditionError(
        sk::StrCat("device ", dev.id, " is bound to vfio-pci but ",
                   fs.Path(DevPath(dev.id, "iommu_group")).string(),
                   " cannot be read: ", std::string(group.status().message())));
  }
  std::string container = sk::StrCat("/dev/vfio/", *group);
  std::string host = container;
  // No-IOMMU mode (vfio enable_unsafe_noiommu_mode, kernel 4.5+): the group
  // is named "vfio-noiommu" and its node is /dev/vfio/noiommu-<G>.
  auto name =
      fs.ReadAttribute(sk::StrCat("sys/kernel/iommu_groups/", *group, "/name"));
  if (name.ok() && *name == "vfio-noiommu") {
    host = sk::StrCat("/dev/vfio/noiommu-", *group);
  }
  out->specs.push_back({"/dev/vfio/vfio", "/dev/vfio/vfio"});
  out->specs.push_back({container, host});
  out->info["vfio"] = {{"mount", "/dev/vfio/vfio"}, {"dev-mount", container}};
  return absl::OkStatus();
}

absl::Status AddUio(const PoolDevice& dev, const sysfs::Sysfs& fs,
                    DeviceOutputs* out) {
  auto entries = fs.ListDir(DevPath(dev.id, "uio"));
  if (!entries.ok() || entries->empty()) {
    return absl::FailedPreconditionError(sk::StrCat(
        "device ", dev.id, " is bound to ", dev.facts.driver, " but ",
        fs.Path(DevPath(dev.id, "uio")).string(), " has no uio device"));
  }
  std::string node = sk::StrCat("/dev/", entries->front());
  out->specs.push_back({node, node});
  out->info["uio"] = {{"mount", node}};
  return absl::OkStatus();
}

// The device's sysfs directory: PCI function or auxiliary device.
std::string DevDir(const PoolDevice& dev) {
  return sk::StrCat(
      dev.aux ? "sys/bus/auxiliary/devices/" : "sys/bus/pci/devices/", dev.id);
}

void AddRdma(const PoolDevice& dev, const sysfs::Sysfs& fs,
             DeviceOutputs* out) {
  std::map<std::string, std::string> info;
  auto add = [&](const std::string& key, const std::string& name) {
    std::string node = sk::StrCat("/dev/infiniband/", name);
    out->specs.push_back({node, node});
    info[key] = node;
  };
  const std::string dir = DevDir(dev);
  if (auto v = fs.ListDir(dir + "/infiniband_verbs"); v.ok()) {
    for (const auto& e : *v) add("uverbs", e);
  }
  if (auto m = fs.ListDir(dir + "/infiniband_mad"); m.ok()) {
    for (const auto& e : *m) {
      if (e.rfind("umad", 0) == 0) add("umad", e);
      if (e.rfind("issm", 0) == 0) add("issm", e);
    }
  }
  add("rdma_cm", "rdma_cm");
  info["rdma_dev"] = absl::StrJoin(dev.rdma_devices, ",");
  out->info["rdma"] = std::move(info);
}

std::string Upper(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

absl::StatusOr<DeviceOutputs> ComputeDeviceOutputs(const Pool& pool,
                                                   const PoolDevice& dev,
                                                   const sysfs::Sysfs& fs) {
  DeviceOutputs out;
  out.info["generic"] = {{"deviceID", dev.id}};
  // The driver is re-read so a rebind since discovery is honoured (an
  // auxiliary device keeps its parent's driver: no vfio/uio).
  std::string driver = dev.facts.driver;
  if (auto live = fs.ReadLinkBasename(DevPath(dev.id, "driver"));
      live.ok() && !dev.aux) {
    driver = *live;
  }
  if (driver == "vfio-pci") {
    if (auto s = AddVfio(dev, fs, &out); !s.ok()) return s;
  } else if (driver == "uio" || driver == "igb_uio" ||
             driver == "uio_pci_generic") {
    if (auto s = AddUio(dev, fs, &out); !s.ok()) return s;
  }
  if (!dev.rdma_devices.empty()) AddRdma(dev, fs, &out);
  if (dev.vdpa) {
    // upstream pkg/infoprovider/vdpaInfoProvider.go: a vhost device's node,
    // and "mount" only when there is one.
    std::map<std::string, std::string> info;
    if (dev.vdpa->type == "vhost" && !dev.vdpa->path.empty()) {
      out.specs.push_back({dev.vdpa->path, dev.vdpa->path});
      info["mount"] = dev.vdpa->path;
    }
    out.info["vdpa"] = std::move(info);
  }
  if (dev.need_vhost_net && fs.Exists("dev/vhost-net") &&
      fs.Exists("dev/net/tun")) {
    out.specs.push_back({"/dev/vhost-net", "/dev/vhost-net"});
    out.specs.push_back({"/dev/net/tun", "/dev/net/tun"});
    out.info["vhost"] = {{"net-mount", "/dev/vhost-net"},
                         {"tun-mount", "/dev/net/tun"}};
  }
  const auto& ai = pool.config.additional_info;
  if (!ai.empty()) {
    std::map<std::string, std::string> extra;
    if (auto it = ai.find("*"); it != ai.end()) extra = it->second;
    // Keyed by PCI address: an auxiliary device's is its parent's.
    const std::string& bdf = dev.aux ? dev.facts.pf_address : dev.id;
    if (auto it = ai.find(bdf); it != ai.end()) {
      for (const auto& [k, v] : it->second) extra[k] = v;
    }
    out.info["extra"] = std::move(extra);
  }
  return out;
}

std::string EnvVarName(const ResourceConfig& r) {
  std::string s = Upper(r.FullName());
  for (char& c : s) {
    if (c == '/' || c == '.') c = '_';
  }
  return "PCIDEVICE_" + s;
}

std::string EnvVarAlias(const ResourceConfig& r) {
  std::string s = EnvVarName(r);
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return s;
}

std::string InfoJson(const std::map<std::string, ProviderInfo>& by_device) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [id, providers] : by_device) {
    for (const auto& [p, kv] : providers) j[id][p] = kv;
  }
  return j.dump();
}

std::string DeviceInfoJson(const PoolDevice& dev, const DeviceOutputs& out) {
  if (dev.vdpa) {
    // upstream pkg/netdevice/netResourcePool.go StoreDeviceInfoFile.
    nlohmann::ordered_json v;
    v["parent-device"] = dev.vdpa->name;
    v["driver"] = dev.vdpa->type;
    if (dev.vdpa->type == "vhost" && !dev.vdpa->path.empty()) {
      v["path"] = dev.vdpa->path;
    }
    v["pci-address"] = dev.id;
    nlohmann::ordered_json j;
    j["type"] = "vdpa";
    j["version"] = "1.1.0";
    j["vdpa"] = std::move(v);
    return j.dump();
  }
  nlohmann::ordered_json pci;
  pci["pci-address"] = dev.id;
  if (out.info.count("vhost") > 0) pci["vhost-net"] = "/dev/vhost-net";
  if (!dev.rdma_devices.empty()) {
    pci["rdma-device"] = absl::StrJoin(dev.rdma_devices, ",");
  }
  if (!dev.facts.pf_address.empty()) {
    pci["pf-pci-address"] = dev.facts.pf_address;
  }
  nlohmann::ordered_json j;
  j["type"] = "pci";
  j["version"] = "1.1.0";
  j["pci"] = std::move(pci);
  return j.dump();
}

std::string DeviceInfoFileName(const ResourceConfig& r, const std::string& id) {
  std::string s = sk::StrCat(r.FullName(), "-", id, "-device.json");
  for (char& c : s) {
    if (c == '/') c = '-';
  }
  return s;
}

std::string CdiClass(const ResourceConfig& r) {
  switch (r.device_type) {
    case DeviceType::kAccelerator:
      return "net-accel";
    case DeviceType::kAuxNetDevice:
      return "net-sf";
    case DeviceType::kNetDevice:
      break;
  }
  return "net-pci";
}

std::string CdiSpecFileName(const ResourceConfig& r) {
  return sk::StrCat("sriov-dp-", r.resource_prefix, "-", CdiClass(r), "-",
                    r.resource_name, ".yaml");
}

std::string CdiDeviceName(const ResourceConfig& r, const std::string& id) {
  return sk::StrCat(r.resource_prefix, "/", CdiClass(r), "=", id);
}

std::string CdiSpecYaml(const Pool& pool, const sysfs::Sysfs& fs,
                        std::vector<std::string>* errors) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "cdiVersion" << YAML::Value << YAML::DoubleQuoted
    << "0.5.0";
  y << YAML::Key << "kind" << YAML::Value
    << sk::StrCat(pool.config.resource_prefix, "/", CdiClass(pool.config));
  y << YAML::Key << "devices" << YAML::Value << YAML::BeginSeq;
  for (const PoolDevice& d : pool.devices) {
    auto out = ComputeDeviceOutputs(pool, d, fs);
    if (!out.ok()) {
      errors->push_back(std::string(out.status().message()));
      continue;
    }
    y << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << d.id;
    y << YAML::Key << "containerEdits" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "deviceNodes" << YAML::Value << YAML::BeginSeq;
    for (const DeviceNode& n : out->specs) {
      y << YAML::BeginMap;
      y << YAML::Key << "path" << YAML::Value << n.container_path;
      y << YAML::Key << "hostPath" << YAML::Value << n.host_path;
      y << YAML::Key << "permissions" << YAML::Value << n.permissions;
      y << YAML::EndMap;
    }
    y << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndSeq;
  y << YAML::Key << "containerEdits" << YAML::Value << YAML::BeginMap
    << YAML::EndMap;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace sk::deviceplugin
