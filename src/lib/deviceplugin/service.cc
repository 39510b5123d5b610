#include "lib/deviceplugin/service.h"

#include <unistd.h>

#include <set>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"

#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/deviceplugin/allocation.h"
#include "lib/deviceplugin/preferred.h"
#include "lib/deviceplugin/validate.h"
#include "lib/sysfs/pci.h"

namespace sk::deviceplugin {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

// Kubernetes annotation names are limited to 63 characters.
std::string CdiAnnotationKey(const ResourceConfig& r) {
  std::string name =
      sk::StrCat(r.resource_prefix, "_", CdiClass(r), "_", r.resource_name);
  if (name.size() > 63) name.resize(63);
  return "cdi.k8s.io/" + name;
}

// Checks the IDs a request names in `field` before anything looks them up
// or quotes them: an ID longer than kMaxDeviceIdBytes is never one of ours
// (a 3 MB one once flooded the log), and with `seen`, no ID may repeat.
// Messages quote IDs through Bounded().
absl::Status CheckIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    std::string_view field, std::set<std::string_view>* seen) {
  for (int i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          sk::StrCat(field, "[", i, "]: device ID ", Bounded(id), " ", why));
    };
    if (id.size() > kMaxDeviceIdBytes) {
      return bad(sk::StrCat("is longer than ", kMaxDeviceIdBytes,
                            " bytes; not one of ours"));
    }
    if (seen != nullptr && !seen->insert(id).second) {
      return bad("requested twice");
    }
  }
  return absl::OkStatus();
}

// A request never lists more entries in `field` than the pool has devices
// (kubelet offers only this pool's devices, each at most once), so a
// request cannot make us walk or quote an unbounded list.
absl::Status CheckCount(std::string_view field, int count, size_t pool_size) {
  if (static_cast<size_t>(count) <= pool_size) return absl::OkStatus();
  return absl::InvalidArgumentError(sk::StrCat(
      field, ": ", count, " entries; the pool has ", pool_size, " devices"));
}

}  // namespace

DevicePluginService::DevicePluginService(Pool pool, sysfs::Sysfs fs,
                                         ServiceOptions opts)
    : resource_name_(pool.config.FullName()),
      fs_(std::move(fs)),
      opts_(std::move(opts)),
      pool_(std::make_shared<const Pool>(std::move(pool))) {}

std::shared_ptr<const Pool> DevicePluginService::pool() const {
  absl::MutexLock lock(&mu_);
  return pool_;
}

void DevicePluginService::UpdatePool(Pool pool) {
  auto p = std::make_shared<const Pool>(std::move(pool));
  absl::MutexLock lock(&mu_);
  pool_ = std::move(p);
  ++generation_;
  cv_.SignalAll();
}

grpc::Status DevicePluginService::GetDevicePluginOptions(
    grpc::ServerContext*, const v1beta1::Empty*,
    v1beta1::DevicePluginOptions* resp) {
  resp->set_pre_start_required(false);
  resp->set_get_preferred_allocation_available(true);
  return grpc::Status::OK;
}

v1beta1::ListAndWatchResponse DevicePluginService::DeviceList() const {
  v1beta1::ListAndWatchResponse r;
  std::shared_ptr<const Pool> pool = this->pool();
  for (const PoolDevice& d : pool->devices) {
    v1beta1::Device* dev = r.add_devices();
    dev->set_id(d.id);
    dev->set_health(d.healthy ? "Healthy" : "Unhealthy");
    if (d.numa_node) {
      dev->mutable_topology()->add_nodes()->set_id(*d.numa_node);
    }
  }
  return r;
}

grpc::Status DevicePluginService::ListAndWatch(
    grpc::ServerContext* ctx, const v1beta1::Empty*,
    grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) {
  mu_.Lock();
  if (stopped_) {
    mu_.Unlock();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stopping");
  }
  ++open_streams_;
  uint64_t sent = generation_;
  while (true) {
    mu_.Unlock();
    if (auto s = WriteCdiSpec(); !s.ok()) {
      spdlog::error("{}: CDI spec: {}", resource_name_,
                    std::string(s.message()));
    }
    bool ok = writer->Write(DeviceList());
    mu_.Lock();
    if (!ok) {
      // The stream broke (kubelet went away); only this stream ends.
      spdlog::warn("{}: ListAndWatch send failed; stream closed",
                   resource_name_);
      break;
    }
    // Cancellation (kubelet gone) does not signal cv_ (the synchronous
    // API has no callback for it), so look now and then; Stop() and a new
    // device list do signal. A cancelled stream only holds its thread until
    // then: 2 s keeps an idle plugin's wakeups negligible.
    while (!stopped_ && generation_ == sent && !ctx->IsCancelled()) {
      cv_.WaitWithTimeout(&mu_, absl::Seconds(2));
    }
    if (stopped_ || ctx->IsCancelled()) break;
    sent = generation_;
  }
  --open_streams_;
  cv_.SignalAll();
  mu_.Unlock();
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::GetPreferredAllocation(
    grpc::ServerContext*, const v1beta1::PreferredAllocationRequest* req,
    v1beta1::PreferredAllocationResponse* resp) {
  std::shared_ptr<const Pool> pool = this->pool();
  const size_t pool_size = pool->devices.size();
  if (absl::Status s = CheckCount("container_requests",
                                  req->container_requests_size(), pool_size);
      !s.ok()) {
    return RequestError("GetPreferredAllocation", s);
  }
  // No container lists more IDs than the pool has devices (PreferredDevices
  // also caps a request at kMaxPreferredIds): checked for every container
  // before any ID is looked at.
  for (int c = 0; c < req->container_requests_size(); ++c) {
    const auto& r = req->container_requests(c);
    std::string field = sk::StrCat("container_requests[", c, "].");
    absl::Status s = CheckCount(field + "available_deviceIDs",
                                r.available_deviceids_size(), pool_size);
    if (s.ok()) {
      s = CheckCount(field + "must_include_deviceIDs",
                     r.must_include_deviceids_size(), pool_size);
    }
    if (!s.ok()) return RequestError("GetPreferredAllocation", s);
  }
  for (int c = 0; c < req->container_requests_size(); ++c) {
    const auto& r = req->container_requests(c);
    std::string field = sk::StrCat("container_requests[", c, "].");
    absl::Status s = CheckIds(r.available_deviceids(),
                              field + "available_deviceIDs", nullptr);
    if (s.ok()) {
      s = CheckIds(r.must_include_deviceids(), field + "must_include_deviceIDs",
                   nullptr);
    }
    if (s.ok() && r.allocation_size() < 0) {
      s = absl::InvalidArgumentError(sk::StrCat(
          field, "allocation_size: ", r.allocation_size(), " is negative"));
    }
    if (!s.ok()) return RequestError("GetPreferredAllocation", s);
    std::vector<std::string> available(r.available_deviceids().begin(),
                                       r.available_deviceids().end());
    std::vector<std::string> must(r.must_include_deviceids().begin(),
                                  r.must_include_deviceids().end());
    auto ids = PreferredDevices(*pool, available, must,
                                static_cast<size_t>(r.allocation_size()));
    if (!ids.ok()) {
      return RequestError(
          "GetPreferredAllocation",
          absl::Status(ids.status().code(),
                       field + std::string(ids.status().message())));
    }
    auto* out = resp->add_container_responses();
    for (const std::string& id : *ids) out->add_deviceids(id);
  }
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::RequestError(std::string_view rpc,
                                               const absl::Status& s) const {
  absl::Status out(s.code(), sk::StrCat("resource ", resource_name_, ": ",
                                        std::string(s.message())));
  spdlog::error("{}: {}", rpc, std::string(out.message()));
  return ToGrpc(out);
}

absl::StatusOr<v1beta1::ContainerAllocateResponse>
DevicePluginService::AllocateContainer(
    const google::protobuf::RepeatedPtrField<std::string>& ids) const {
  std::shared_ptr<const Pool> pool = this->pool();
  const ResourceConfig& rc = pool->config;
  std::vector<const PoolDevice*> devs;
  for (const std::string& id : ids) {
    const PoolDevice* d = pool->Find(id);
    if (d == nullptr) {
      return absl::InvalidArgumentError(sk::StrCat(
          "resource ", rc.FullName(), ": unknown device ID ", Bounded(id)));
    }
    devs.push_back(d);
  }
  v1beta1::ContainerAllocateResponse out;
  std::map<std::string, ProviderInfo> info;
  std::set<std::string> host_paths;
  std::vector<std::string> id_list;
  for (const PoolDevice* d : devs) {
    auto o = ComputeDeviceOutputs(*pool, *d, fs_);
    if (!o.ok()) {
      return absl::Status(o.status().code(),
                          sk::StrCat("resource ", rc.FullName(), ": ",
                                     std::string(o.status().message())));
    }
    id_list.push_back(d->id);
    info[d->id] = o->info;
    if (opts_.use_cdi) {
      out.add_cdi_devices()->set_name(CdiDeviceName(rc, d->id));
    } else {
      for (const DeviceNode& n : o->specs) {
        if (!host_paths.insert(n.host_path).second) continue;
        v1beta1::DeviceSpec* s = out.add_devices();
        s->set_container_path(n.container_path);
        s->set_host_path(n.host_path);
        s->set_permissions(n.permissions);
      }
    }
    if (rc.device_type == DeviceType::kNetDevice) {
      std::filesystem::path file =
          opts_.devinfo_dir / DeviceInfoFileName(rc, d->id);
      ::unlink(file.c_str());
      absl::Status s = MakeDirs(opts_.devinfo_dir);
      if (s.ok()) s = WriteFileAtomic(file, DeviceInfoJson(*d, *o), 0444);
      if (!s.ok()) {
        return absl::Status(
            s.code(), sk::StrCat("resource ", rc.FullName(),
                                 ": device-info: ", std::string(s.message())));
      }
    }
  }
  std::string value = absl::StrJoin(id_list, ",");
  std::string info_json = InfoJson(info);
  auto& envs = *out.mutable_envs();
  envs[EnvVarName(rc)] = value;
  envs[EnvVarName(rc) + "_INFO"] = info_json;
  if (EnvVarAlias(rc) != EnvVarName(rc)) {
    envs[EnvVarAlias(rc)] = value;
    envs[EnvVarAlias(rc) + "_INFO"] = info_json;
  }
  if (opts_.use_cdi) {
    std::vector<std::string> names;
    for (const auto& c : out.cdi_devices()) names.push_back(c.name());
    (*out.mutable_annotations())[CdiAnnotationKey(rc)] =
        absl::StrJoin(names, ",");
  }
  return out;
}

grpc::Status DevicePluginService::Allocate(grpc::ServerContext*,
                                           const v1beta1::AllocateRequest* req,
                                           v1beta1::AllocateResponse* resp) {
  const absl::Time start = absl::Now();
  // A pod never gets more devices than the pool has, nor one twice.
  size_t total = 0;
  const size_t pool_size = pool()->devices.size();
  for (const auto& c : req->container_requests()) {
    total += static_cast<size_t>(c.devices_ids_size());
  }
  if (total > pool_size) {
    return RequestError(
        "Allocate", absl::InvalidArgumentError(
                        sk::StrCat("the request names ", total,
                                   " device IDs; the pool has ", pool_size)));
  }
  std::set<std::string_view> seen;
  for (int c = 0; c < req->container_requests_size(); ++c) {
    absl::Status s =
        CheckIds(req->container_requests(c).devices_ids(),
                 sk::StrCat("container_requests[", c, "].devices_ids"), &seen);
    if (!s.ok()) return RequestError("Allocate", s);
  }
  if (opts_.use_cdi) {
    // Refresh the spec so it matches the nodes handed out now
    // (k8snetworkplumbingwg/sriov-network-device-plugin#633).
    if (auto s = WriteCdiSpec(); !s.ok()) return ToGrpc(s);
  }
  for (const auto& c : req->container_requests()) {
    auto r = AllocateContainer(c.devices_ids());
    if (!r.ok()) {
      spdlog::error("Allocate: {}", std::string(r.status().message()));
      return ToGrpc(r.status());
    }
    *resp->add_container_responses() = *std::move(r);
  }
  if (opts_.metrics) {
    opts_.metrics->RecordAllocate(resource_name_, total, absl::Now() - start);
  }
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::PreStartContainer(
    grpc::ServerContext*, const v1beta1::PreStartContainerRequest* req,
    v1beta1::PreStartContainerResponse*) {
  absl::Status s = CheckCount("devices_ids", req->devices_ids_size(),
                              pool()->devices.size());
  if (s.ok()) s = CheckIds(req->devices_ids(), "devices_ids", nullptr);
  if (!s.ok()) return RequestError("PreStartContainer", s);
  return grpc::Status::OK;
}

absl::Status DevicePluginService::WriteCdiSpec() const {
  if (!opts_.use_cdi) return absl::OkStatus();
  std::vector<std::string> errors;
  std::shared_ptr<const Pool> pool = this->pool();
  std::string yaml = CdiSpecYaml(*pool, fs_, &errors);
  for (const auto& e : errors) {
    spdlog::warn("{}: CDI spec: {}", resource_name_, e);
  }
  SK_RETURN_IF_ERROR(MakeDirs(opts_.cdi_dir));
  return WriteFileAtomic(opts_.cdi_dir / CdiSpecFileName(pool->config), yaml,
                         0644);
}

void DevicePluginService::RemoveOutputs() const {
  // One listing instead of an unlink per pool device (2048 failing unlinks
  // at every start on a large host). Removes "<resource>-<BDF>-device.json"
  // for any BDF, so files of devices that left the pool go too; another
  // resource whose name extends this one ("vfio-x") never matches, since
  // what follows the stem must be a PCI address.
  std::shared_ptr<const Pool> pool = this->pool();
  const std::string suffix = "-device.json";
  const std::string empty_id = DeviceInfoFileName(pool->config, "");
  const std::string prefix =
      empty_id.substr(0, empty_id.size() - suffix.size());  // "<res>-"
  std::error_code list_ec;
  for (const auto& e :
       std::filesystem::directory_iterator(opts_.devinfo_dir, list_ec)) {
    std::string n = e.path().filename().string();
    if (n.size() <= prefix.size() + suffix.size() ||
        n.compare(0, prefix.size(), prefix) != 0 ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string id =
        n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    if (!sysfs::PciAddress::Parse(id).ok()) continue;
    std::error_code rm;
    std::filesystem::remove(e.path(), rm);
  }
  if (opts_.use_cdi) {
    std::error_code ec;
    std::filesystem::remove(opts_.cdi_dir / CdiSpecFileName(pool->config), ec);
  }
}

void DevicePluginService::Resend() {
  absl::MutexLock lock(&mu_);
  ++generation_;
  cv_.SignalAll();
}

void DevicePluginService::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  cv_.SignalAll();
}

int DevicePluginService::open_streams() const {
  absl::MutexLock lock(&mu_);
  return open_streams_;
}

}  // namespace sk::deviceplugin
