#include "tests/testing/kubelet_stand_in.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"
#include "pluginregistration/v1/api.grpc.pb.h"
#include "podresources/v1/api.grpc.pb.h"

#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::deviceplugin {

struct KubeletStandIn::Endpoint {
  std::string socket;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1beta1::DevicePlugin::Stub> stub;
  grpc::ClientContext law_ctx;
  std::thread law_thread;
  // Guarded by the stand-in's mu_ (not annotated: the analysis cannot name
  // the owner's mutex from here).
  std::vector<v1beta1::Device> devices;
  bool got_list = false;

  ~Endpoint() {
    law_ctx.TryCancel();
    if (law_thread.joinable()) law_thread.join();
  }
};

class KubeletStandIn::RegistrationImpl final
    : public v1beta1::Registration::Service {
 public:
  explicit RegistrationImpl(KubeletStandIn* k) : k_(k) {}
  grpc::Status Register(grpc::ServerContext*,
                        const v1beta1::RegisterRequest* req,
                        v1beta1::Empty*) override {
    if (req->version() != "v1beta1") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "unsupported version " + req->version());
    }
    {
      absl::MutexLock lock(&k_->mu_);
      k_->requests_[req->resource_name()] = *req;
    }
    // Kubelet dials back asynchronously; doing it here is equivalent for a
    // plugin that serves before it registers, as the API requires.
    k_->Connect(req->resource_name(), (k_->dir_ / req->endpoint()).string());
    return grpc::Status::OK;
  }

 private:
  KubeletStandIn* k_;
};

class KubeletStandIn::PodResourcesImpl final
    : public v1::PodResourcesLister::Service {
 public:
  explicit PodResourcesImpl(KubeletStandIn* k) : k_(k) {}

  grpc::Status List(grpc::ServerContext*, const v1::ListPodResourcesRequest*,
                    v1::ListPodResourcesResponse* resp) override {
    for (auto& p : Snapshot()) *resp->add_pod_resources() = std::move(p);
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetPodResourcesRequest* req,
                   v1::GetPodResourcesResponse* resp) override {
    if (k_->get_unimplemented_.load()) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          "KubeletStandIn: Get disabled");
    }
    for (auto& p : Snapshot()) {
      if (p.namespace_() == req->pod_namespace() &&
          p.name() == req->pod_name()) {
        *resp->mutable_pod_resources() = std::move(p);
        return grpc::Status::OK;
      }
    }
    // kubelet returns a plain error here, which gRPC sends as UNKNOWN
    // (pkg/kubelet/apis/podresources/server_v1.go).
    return grpc::Status(grpc::StatusCode::UNKNOWN,
                        sk::StrCat("pod ", req->pod_name(), " in namespace ",
                                   req->pod_namespace(), " not found"));
  }

  grpc::Status GetAllocatableResources(
      grpc::ServerContext*, const v1::AllocatableResourcesRequest*,
      v1::AllocatableResourcesResponse* resp) override {
    absl::MutexLock lock(&k_->mu_);
    for (const auto& [resource, ep] : k_->endpoints_) {
      auto* d = resp->add_devices();
      d->set_resource_name(resource);
      for (const auto& dev : ep->devices) d->add_device_ids(dev.id());
    }
    return grpc::Status::OK;
  }

 private:
  // Pods in the order of their first allocation, each container once, each
  // resource once per container.
  std::vector<v1::PodResources> Snapshot() {
    absl::MutexLock lock(&k_->mu_);
    std::vector<v1::PodResources> pods;
    for (const Allocation& a : k_->allocations_) {
      v1::PodResources* pod = nullptr;
      for (auto& p : pods) {
        if (p.namespace_() == a.who.ns && p.name() == a.who.name) pod = &p;
      }
      if (pod == nullptr) {
        pod = &pods.emplace_back();
        pod->set_namespace_(a.who.ns);
        pod->set_name(a.who.name);
      }
      v1::ContainerResources* c = nullptr;
      for (auto& x : *pod->mutable_containers()) {
        if (x.name() == a.who.container) c = &x;
      }
      if (c == nullptr) {
        c = pod->add_containers();
        c->set_name(a.who.container);
      }
      v1::ContainerDevices* d = nullptr;
      for (auto& x : *c->mutable_devices()) {
        if (x.resource_name() == a.resource) d = &x;
      }
      if (d == nullptr) {
        d = c->add_devices();
        d->set_resource_name(a.resource);
      }
      for (const auto& id : a.ids) d->add_device_ids(id);
    }
    return pods;
  }

  KubeletStandIn* k_;
};

absl::StatusOr<std::unique_ptr<KubeletStandIn>> KubeletStandIn::StartLegacy(
    const std::filesystem::path& device_plugin_dir) {
  std::unique_ptr<KubeletStandIn> k(new KubeletStandIn());
  k->dir_ = device_plugin_dir;
  if (auto s = k->ServeKubeletSock(); !s.ok()) return s;
  return k;
}

absl::StatusOr<std::unique_ptr<KubeletStandIn>> KubeletStandIn::StartWatcher(
    const std::filesystem::path& plugins_registry_dir, bool accept) {
  std::unique_ptr<KubeletStandIn> k(new KubeletStandIn());
  k->dir_ = plugins_registry_dir;
  k->watcher_ = true;
  k->accept_.store(accept);
  k->watcher_thread_ = std::thread([p = k.get()] { p->WatcherLoop(); });
  return k;
}

KubeletStandIn::~KubeletStandIn() {
  stop_.store(true);
  if (watcher_thread_.joinable()) watcher_thread_.join();
  if (pod_resources_server_) {
    pod_resources_server_->Shutdown(std::chrono::system_clock::now());
    pod_resources_server_->Wait();
  }
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
  std::map<std::string, std::shared_ptr<Endpoint>> eps;
  {
    absl::MutexLock lock(&mu_);
    eps.swap(endpoints_);
  }
  eps.clear();
}

absl::Status KubeletStandIn::ServeKubeletSock() {
  std::filesystem::path sock = dir_ / "kubelet.sock";
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  std::filesystem::remove(sock, ec);
  registration_ = std::make_unique<RegistrationImpl>(this);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + sock.string(),
                     grpc::InsecureServerCredentials());
  b.RegisterService(registration_.get());
  server_ = b.BuildAndStart();
  if (!server_) {
    return absl::UnavailableError(sk::StrCat("cannot serve ", sock));
  }
  return absl::OkStatus();
}

void KubeletStandIn::Connect(const std::string& resource,
                             const std::string& socket) {
  auto ep = std::make_shared<Endpoint>();
  ep->socket = socket;
  ep->channel =
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  ep->stub = v1beta1::DevicePlugin::NewStub(ep->channel);
  std::shared_ptr<Endpoint> old;
  {
    absl::MutexLock lock(&mu_);
    old = endpoints_[resource];
    endpoints_[resource] = ep;
  }
  old.reset();  // cancels and joins its stream
  Endpoint* raw = ep.get();
  ep->law_thread = std::thread([this, raw, resource] {
    v1beta1::Empty req;
    auto reader = raw->stub->ListAndWatch(&raw->law_ctx, req);
    v1beta1::ListAndWatchResponse resp;
    bool first = true;
    while (reader->Read(&resp)) {
      absl::MutexLock lock(&mu_);
      raw->devices.assign(resp.devices().begin(), resp.devices().end());
      raw->got_list = true;
      if (observer_) observer_(resource, raw->devices);
      if (first) ++registrations_[resource];
      first = false;
      cv_.SignalAll();
    }
    (void)reader->Finish();
  });
}

void KubeletStandIn::WatcherLoop() {
  while (!stop_.load()) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      struct stat st;
      if (::lstat(e.path().c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
        continue;
      }
      std::string key = sk::StrCat(st.st_ino, ":", st.st_ctim.tv_nsec);
      {
        absl::MutexLock lock(&mu_);
        if (seen_sockets_[e.path().string()] == key) continue;
        seen_sockets_[e.path().string()] = key;
      }
      auto ch = grpc::CreateChannel("unix:" + e.path().string(),
                                    grpc::InsecureChannelCredentials());
      auto reg = pluginregistration::Registration::NewStub(ch);
      pluginregistration::InfoRequest ireq;
      pluginregistration::PluginInfo info;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(1));
      // A socket file exists from bind() on, before the plugin listens; like
      // kubelet's reconciler, try again on the next pass.
      if (!reg->GetInfo(&ctx, ireq, &info).ok()) {
        absl::MutexLock lock(&mu_);
        seen_sockets_.erase(e.path().string());
        continue;
      }
      bool ok = info.type() == "DevicePlugin" && accept_.load();
      pluginregistration::RegistrationStatus status;
      status.set_plugin_registered(ok);
      if (!ok) status.set_error("refused by KubeletStandIn");
      pluginregistration::RegistrationStatusResponse sresp;
      grpc::ClientContext nctx;
      nctx.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(1));
      (void)reg->NotifyRegistrationStatus(&nctx, status, &sresp);
      {
        absl::MutexLock lock(&mu_);
        watcher_endpoints_[info.name()] = info.endpoint();
      }
      if (ok) Connect(info.name(), info.endpoint());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::shared_ptr<KubeletStandIn::Endpoint> KubeletStandIn::Find(
    const std::string& resource) const {
  absl::MutexLock lock(&mu_);
  auto it = endpoints_.find(resource);
  return it == endpoints_.end() ? nullptr : it->second;
}

absl::StatusOr<std::vector<v1beta1::Device>> KubeletStandIn::WaitForDevices(
    const std::string& resource, size_t min_devices, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    auto it = endpoints_.find(resource);
    if (it != endpoints_.end() && it->second->got_list &&
        it->second->devices.size() >= min_devices) {
      return it->second->devices;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          sk::StrCat("KubeletStandIn: no device list for ", resource));
    }
    cv_.WaitWithDeadline(&mu_, deadline);
  }
}

void KubeletStandIn::set_list_observer(ListObserver f) {
  absl::MutexLock lock(&mu_);
  observer_ = std::move(f);
}

absl::Status KubeletStandIn::WaitForRegistrations(const std::string& resource,
                                                  int count,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (registrations_[resource] < count) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          sk::StrCat("KubeletStandIn: ", resource, " registered ",
                     registrations_[resource], " times, want ", count));
    }
    cv_.WaitWithDeadline(&mu_, deadline);
  }
  return absl::OkStatus();
}

int KubeletStandIn::registrations(const std::string& resource) const {
  absl::MutexLock lock(&mu_);
  auto it = registrations_.find(resource);
  return it == registrations_.end() ? 0 : it->second;
}

v1beta1::RegisterRequest KubeletStandIn::last_request(
    const std::string& resource) const {
  absl::MutexLock lock(&mu_);
  auto it = requests_.find(resource);
  return it == requests_.end() ? v1beta1::RegisterRequest() : it->second;
}

std::string KubeletStandIn::last_endpoint(const std::string& resource) const {
  absl::MutexLock lock(&mu_);
  auto it = watcher_endpoints_.find(resource);
  return it == watcher_endpoints_.end() ? "" : it->second;
}

absl::StatusOr<v1beta1::AllocateResponse> KubeletStandIn::Allocate(
    const std::string& resource, const std::vector<std::string>& ids) {
  auto ep = Find(resource);
  if (!ep) {
    return absl::NotFoundError(
        sk::StrCat("KubeletStandIn: ", resource, " is not registered"));
  }
  v1beta1::AllocateRequest req;
  auto* c = req.add_container_requests();
  for (const auto& id : ids) c->add_devices_ids(id);
  v1beta1::AllocateResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status st = ep->stub->Allocate(&ctx, req, &resp);
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        st.error_message());
  }
  return resp;
}

absl::StatusOr<v1beta1::DevicePluginOptions> KubeletStandIn::GetOptions(
    const std::string& resource) {
  auto ep = Find(resource);
  if (!ep) return absl::NotFoundError(resource + " is not registered");
  v1beta1::Empty req;
  v1beta1::DevicePluginOptions resp;
  grpc::ClientContext ctx;
  grpc::Status st = ep->stub->GetDevicePluginOptions(&ctx, req, &resp);
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        st.error_message());
  }
  return resp;
}

absl::Status KubeletStandIn::SimulateRestart(bool wipe_sockets) {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (!wipe_sockets && e.path().filename() != "kubelet.sock") continue;
    std::error_code rm;
    std::filesystem::remove(e.path(), rm);
  }
  if (watcher_) return absl::OkStatus();
  return ServeKubeletSock();
}

absl::StatusOr<v1beta1::AllocateResponse> KubeletStandIn::AllocateFor(
    const PodContainer& who, const std::string& resource,
    const std::vector<std::string>& ids) {
  auto resp = Allocate(resource, ids);
  if (!resp.ok()) return resp;
  Allocation a{who, resource, ids, ""};
  if (resp->container_responses_size() > 0) {
    (void)resp->container_responses(0).SerializeToString(&a.container_response);
  }
  absl::MutexLock lock(&mu_);
  allocations_.push_back(std::move(a));
  return resp;
}

absl::StatusOr<KubeletStandIn::CountAllocation> KubeletStandIn::AllocateCount(
    const PodContainer& who, const std::string& resource, size_t size,
    const std::vector<std::string>& must_include) {
  auto ep = Find(resource);
  if (!ep) {
    return absl::NotFoundError(
        sk::StrCat("KubeletStandIn: ", resource, " is not registered"));
  }
  std::vector<std::string> available;
  {
    absl::MutexLock lock(&mu_);
    std::set<std::string> held;
    for (const Allocation& a : allocations_) {
      if (a.resource == resource) held.insert(a.ids.begin(), a.ids.end());
    }
    for (const v1beta1::Device& d : ep->devices) {
      if (d.health() == "Healthy" && held.count(d.id()) == 0) {
        available.push_back(d.id());
      }
    }
  }
  std::sort(available.begin(), available.end());
  if (available.size() < size) {
    return absl::ResourceExhaustedError(
        sk::StrCat("KubeletStandIn: ", resource, ": ", size, " devices asked, ",
                   available.size(), " available"));
  }
  SK_ASSIGN_OR_RETURN(v1beta1::DevicePluginOptions opts, GetOptions(resource));
  CountAllocation out;
  if (opts.get_preferred_allocation_available()) {
    v1beta1::PreferredAllocationRequest req;
    auto* c = req.add_container_requests();
    for (const auto& id : available) c->add_available_deviceids(id);
    for (const auto& id : must_include) c->add_must_include_deviceids(id);
    c->set_allocation_size(static_cast<int32_t>(size));
    v1beta1::PreferredAllocationResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    grpc::Status st = ep->stub->GetPreferredAllocation(&ctx, req, &resp);
    if (!st.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                          st.error_message());
    }
    out.used_preferred = true;
    if (resp.container_responses_size() != 1) {
      return absl::FailedPreconditionError(sk::StrCat(
          "KubeletStandIn: ", resource, ": ", resp.container_responses_size(),
          " preferred answers for 1 container"));
    }
    const auto& ids = resp.container_responses(0).deviceids();
    out.ids.assign(ids.begin(), ids.end());
    std::set<std::string> uniq(out.ids.begin(), out.ids.end());
    std::set<std::string> avail(available.begin(), available.end());
    bool ok = out.ids.size() == size && uniq.size() == size &&
              std::all_of(out.ids.begin(), out.ids.end(),
                          [&](const auto& i) { return avail.count(i) > 0; }) &&
              std::all_of(must_include.begin(), must_include.end(),
                          [&](const auto& i) { return uniq.count(i) > 0; });
    if (!ok) {
      return absl::FailedPreconditionError(sk::StrCat(
          "KubeletStandIn: ", resource, ": preferred allocation is not ", size,
          " distinct available devices with the must-include "
          "ones"));
    }
  } else {
    out.ids = must_include;
    for (const auto& id : available) {
      if (out.ids.size() == size) break;
      if (std::find(out.ids.begin(), out.ids.end(), id) == out.ids.end()) {
        out.ids.push_back(id);
      }
    }
  }
  SK_ASSIGN_OR_RETURN(out.response, AllocateFor(who, resource, out.ids));
  return out;
}

absl::Status KubeletStandIn::ServePodResources(
    const std::filesystem::path& socket) {
  if (pod_resources_server_) {
    return absl::FailedPreconditionError(
        "KubeletStandIn: PodResources already served");
  }
  std::error_code ec;
  std::filesystem::create_directories(socket.parent_path(), ec);
  std::filesystem::remove(socket, ec);
  pod_resources_ = std::make_unique<PodResourcesImpl>(this);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + socket.string(),
                     grpc::InsecureServerCredentials());
  b.RegisterService(pod_resources_.get());
  pod_resources_server_ = b.BuildAndStart();
  if (!pod_resources_server_) {
    return absl::UnavailableError(sk::StrCat("cannot serve ", socket));
  }
  return absl::OkStatus();
}

absl::Status KubeletStandIn::WriteCheckpoint(
    const std::filesystem::path& path) const {
  nlohmann::json entries = nlohmann::json::array();
  nlohmann::json registered = nlohmann::json::object();
  {
    absl::MutexLock lock(&mu_);
    for (const Allocation& a : allocations_) {
      nlohmann::json by_numa = nlohmann::json::object();
      auto ep = endpoints_.find(a.resource);
      for (const auto& id : a.ids) {
        std::string numa = "-1";
        if (ep != endpoints_.end()) {
          for (const auto& d : ep->second->devices) {
            if (d.id() == id && d.has_topology() &&
                d.topology().nodes_size() > 0) {
              numa = std::to_string(d.topology().nodes(0).id());
            }
          }
        }
        by_numa[numa].push_back(id);
      }
      entries.push_back(
          {{"PodUID", a.who.uid},
           {"ContainerName", a.who.container},
           {"ResourceName", a.resource},
           {"DeviceIDs", by_numa},
           {"AllocResp", absl::Base64Escape(a.container_response)}});
    }
    for (const auto& [resource, ep] : endpoints_) {
      nlohmann::json ids = nlohmann::json::array();
      for (const auto& d : ep->devices) ids.push_back(d.id());
      registered[resource] = ids;
    }
  }
  nlohmann::json doc = {
      {"Data",
       {{"PodDeviceEntries", entries}, {"RegisteredDevices", registered}}},
      {"Checksum", 0}};
  return sk::WriteFileAtomic(path, doc.dump(), 0600);
}

}  // namespace sk::deviceplugin
