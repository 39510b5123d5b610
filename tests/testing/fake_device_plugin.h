#pragma once
// FakeDevicePlugin: the smallest device plugin that registers with a
// KubeletStandIn (legacy mode), for tests that need the stand-in to allocate
// devices without the real plugin and its sysfs fixture. It serves
// v1beta1.DevicePlugin on <device_plugin_dir>/<endpoint>: a fixed device
// list (one ListAndWatch message, then held open), Allocate answering each
// container with env PCIDEVICE_<NAME>=<ids, comma-separated>.
//
// Header-only; link sk::kubelet_stand_in (for the generated API code).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include <grpcpp/grpcpp.h>

namespace sk::testing {

class FakeDevicePlugin final : public v1beta1::DevicePlugin::Service {
 public:
  // Serves, then registers `resource` with the kubelet.sock in
  // `device_plugin_dir`. `numa` >= 0 gives every device that NUMA node.
  static absl::StatusOr<std::unique_ptr<FakeDevicePlugin>> Start(
      const std::filesystem::path& device_plugin_dir,
      const std::string& endpoint, const std::string& resource,
      std::vector<std::string> ids, int numa = -1) {
    std::unique_ptr<FakeDevicePlugin> p(new FakeDevicePlugin());
    p->resource_ = resource;
    p->ids_ = std::move(ids);
    p->numa_ = numa;
    const std::string sock = (device_plugin_dir / endpoint).string();
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + sock, grpc::InsecureServerCredentials());
    b.RegisterService(p.get());
    p->server_ = b.BuildAndStart();
    if (!p->server_) return absl::UnavailableError("cannot serve " + sock);
    auto ch = grpc::CreateChannel(
        "unix:" + (device_plugin_dir / "kubelet.sock").string(),
        grpc::InsecureChannelCredentials());
    auto reg = v1beta1::Registration::NewStub(ch);
    v1beta1::RegisterRequest req;
    req.set_version("v1beta1");
    req.set_endpoint(endpoint);
    req.set_resource_name(resource);
    v1beta1::Empty resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    // kubelet.sock may exist a moment before the kubelet listens on it.
    ctx.set_wait_for_ready(true);
    grpc::Status st = reg->Register(&ctx, req, &resp);
    if (!st.ok())
      return absl::UnavailableError("Register: " + st.error_message());
    return p;
  }

  ~FakeDevicePlugin() override {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }

  grpc::Status GetDevicePluginOptions(grpc::ServerContext*,
                                      const v1beta1::Empty*,
                                      v1beta1::DevicePluginOptions*) override {
    return grpc::Status::OK;
  }

  grpc::Status ListAndWatch(
      grpc::ServerContext* ctx, const v1beta1::Empty*,
      grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override {
    v1beta1::ListAndWatchResponse resp;
    for (const auto& id : ids_) {
      auto* d = resp.add_devices();
      d->set_id(id);
      d->set_health("Healthy");
      if (numa_ >= 0) d->mutable_topology()->add_nodes()->set_id(numa_);
    }
    if (!writer->Write(resp)) return grpc::Status::OK;
    // Held open as a real plugin does; ends when the stand-in cancels or
    // the server shuts down.
    while (!ctx->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return grpc::Status::OK;
  }

  grpc::Status Allocate(grpc::ServerContext*,
                        const v1beta1::AllocateRequest* req,
                        v1beta1::AllocateResponse* resp) override {
    std::string var = "PCIDEVICE_" + resource_.substr(resource_.find('/') + 1);
    for (const auto& c : req->container_requests()) {
      (*resp->add_container_responses()->mutable_envs())[var] =
          absl::StrJoin(c.devices_ids(), ",");
    }
    return grpc::Status::OK;
  }

 private:
  FakeDevicePlugin() = default;
  std::string resource_;
  std::vector<std::string> ids_;
  int numa_ = -1;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace sk::testing
