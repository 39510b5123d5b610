#include "tests/testing/kubelet_stand_in.h"

#include <sys/stat.h>

#include "pluginregistration/v1/api.grpc.pb.h"

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

}  // namespace sk::deviceplugin
