#include "lib/deviceplugin/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "pluginregistration/v1/api.grpc.pb.h"
#include "spdlog/spdlog.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/base/unique_fd.h"
#include "lib/deviceplugin/validate.h"

namespace sk::deviceplugin {
namespace {

class RegistrationService final
    : public pluginregistration::Registration::Service {
 public:
  RegistrationService(std::string name, std::string endpoint,
                      std::shared_ptr<std::atomic<bool>> registered,
                      std::shared_ptr<std::atomic<bool>> rejected,
                      std::function<void()> on_status)
      : name_(std::move(name)),
        endpoint_(std::move(endpoint)),
        registered_(std::move(registered)),
        rejected_(std::move(rejected)),
        on_status_(std::move(on_status)) {}

  grpc::Status GetInfo(grpc::ServerContext*,
                       const pluginregistration::InfoRequest*,
                       pluginregistration::PluginInfo* info) override {
    info->set_type("DevicePlugin");
    info->set_name(name_);
    info->set_endpoint(endpoint_);
    info->add_supported_versions("v1alpha1");
    info->add_supported_versions("v1beta1");
    return grpc::Status::OK;
  }

  grpc::Status NotifyRegistrationStatus(
      grpc::ServerContext*, const pluginregistration::RegistrationStatus* st,
      pluginregistration::RegistrationStatusResponse*) override {
    if (st->plugin_registered()) {
      spdlog::info("{}: registered with kubelet (plugin watcher)", name_);
      registered_->store(true);
      rejected_->store(false);
    } else {
      spdlog::error("{}: kubelet refused registration: {}", name_,
                    Bounded(st->error()));
      registered_->store(false);
      rejected_->store(true);
    }
    if (on_status_) on_status_();
    return grpc::Status::OK;
  }

 private:
  std::string name_;
  std::string endpoint_;
  std::shared_ptr<std::atomic<bool>> registered_;
  std::shared_ptr<std::atomic<bool>> rejected_;
  std::function<void()> on_status_;
};

// sockaddr_un.sun_path is 108 bytes including the terminating NUL (unix(7)).
constexpr size_t kMaxSocketPathBytes = sizeof(sockaddr_un::sun_path) - 1;

// Why a unix socket cannot be bound at `path`, found by binding a throw-away
// one there: gRPC's BuildAndStart only says that it failed.
absl::Status ProbeBind(const std::filesystem::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket");
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.string().size());
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr),
             sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind");
  }
  ::unlink(path.c_str());
  return absl::OkStatus();
}

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

}  // namespace

std::string SocketName(const ResourceConfig& r) {
  return sk::StrCat(r.resource_prefix, "_", r.resource_name, ".sock");
}

absl::StatusOr<std::unique_ptr<PluginServer>> PluginServer::Start(
    Pool pool, sysfs::Sysfs fs, const ServerOptions& opts) {
  const std::string resource = pool.config.FullName();
  // The socket's file name comes from the config: only checked parts go
  // into it (ParseConfig checks them too; this keeps any other caller
  // honest).
  for (const absl::Status& st :
       {CheckDnsSubdomain(pool.config.resource_prefix),
        CheckQualifiedNamePart(pool.config.resource_name)}) {
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          sk::StrCat(Bounded(resource), ": ", std::string(st.message())));
    }
  }
  std::filesystem::path dir = opts.mode == RegistrationMode::kWatcher
                                  ? opts.plugins_registry_dir
                                  : opts.device_plugin_dir;
  const std::string name = SocketName(pool.config);
  std::filesystem::path socket_path = dir / name;
  // Checked names have no '/' and are never "." or "..", so the socket is a
  // direct child of `dir`; anything else is a bug in the checks.
  SK_CHECK(name.find('/') == std::string::npos && name != "." && name != ".." &&
           socket_path.filename() == name)
      << "socket " << socket_path << " is not a file in " << dir;
  const size_t path_bytes = socket_path.string().size();
  if (path_bytes > kMaxSocketPathBytes) {
    return absl::InvalidArgumentError(
        sk::StrCat(resource, ": socket path ", socket_path.string(), " is ",
                   path_bytes, " bytes, longer than the ", kMaxSocketPathBytes,
                   "-byte unix socket limit"));
  }
  auto fail = [&](const absl::Status& why) {
    return absl::Status(why.code(),
                        sk::StrCat(resource, ": socket ", socket_path.string(),
                                   ": ", std::string(why.message())));
  };
  if (absl::Status st = MakeDirs(dir); !st.ok()) return fail(st);
  ::unlink(socket_path.c_str());

  std::unique_ptr<PluginServer> s(new PluginServer());
  s->opts_ = opts;
  s->resource_name_ = resource;
  s->socket_path_ = socket_path;
  s->service_ = std::make_unique<DevicePluginService>(
      std::move(pool), std::move(fs), opts.service);
  s->service_->RemoveOutputs();
  if (auto st = s->service_->WriteCdiSpec(); !st.ok()) {
    spdlog::error("{}: CDI spec: {}", s->resource_name_,
                  std::string(st.message()));
  }

  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + s->socket_path_.string(),
                     grpc::InsecureServerCredentials());
  b.RegisterService(s->service_.get());
  if (opts.mode == RegistrationMode::kWatcher) {
    s->registration_ = std::make_unique<RegistrationService>(
        s->resource_name_, s->socket_path_.string(), s->registered_,
        s->rejected_, opts.on_registration_status);
    b.RegisterService(s->registration_.get());
  }
  s->server_ = b.BuildAndStart();
  if (s->server_ == nullptr) {
    absl::Status why = ProbeBind(socket_path);
    if (why.ok()) why = absl::UnavailableError("gRPC cannot listen on it");
    return fail(absl::UnavailableError(why.message()));
  }
  spdlog::info("{}: serving {} devices on {}", s->resource_name_,
               s->service_->pool()->devices.size(), s->socket_path_.string());
  return s;
}

PluginServer::~PluginServer() { Stop(false); }

absl::Status PluginServer::Register(absl::Duration timeout) {
  std::filesystem::path kubelet = opts_.device_plugin_dir / "kubelet.sock";
  auto channel = grpc::CreateChannel("unix:" + kubelet.string(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1beta1::Registration::NewStub(channel);
  v1beta1::RegisterRequest req;
  req.set_version("v1beta1");
  req.set_endpoint(socket_path_.filename().string());
  req.set_resource_name(resource_name_);
  v1beta1::Empty resp;
  struct stat before {};
  if (::stat(kubelet.c_str(), &before) != 0) before = {};
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Status st = stub->Register(&ctx, req, &resp);
  if (!st.ok()) {
    absl::Status s = FromGrpc(st);
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      s = absl::UnavailableError(st.error_message());
    }
    return absl::Status(
        s.code(), sk::StrCat(resource_name_, ": register on ", kubelet.string(),
                             ": ", std::string(s.message())));
  }
  registered_kubelet_ = before;
  registered_->store(true);
  spdlog::info("{}: registered with kubelet ({})", resource_name_,
               kubelet.string());
  return absl::OkStatus();
}

void PluginServer::Stop(bool cleanup) {
  if (stopped_) return;
  stopped_ = true;
  // A server whose Start() failed half way has no gRPC server.
  if (service_ != nullptr) service_->Stop();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(200));
    server_->Wait();
    ::unlink(socket_path_.c_str());
  }
  registered_->store(false);
  if (cleanup) service_->RemoveOutputs();
}

bool PluginServer::RegisteredWithCurrentKubelet() const {
  if (!registered()) return false;
  struct stat now;
  std::filesystem::path kubelet = opts_.device_plugin_dir / "kubelet.sock";
  if (::stat(kubelet.c_str(), &now) != 0) return false;
  const struct stat& was = registered_kubelet_;
  return now.st_dev == was.st_dev && now.st_ino == was.st_ino &&
         now.st_ctim.tv_sec == was.st_ctim.tv_sec &&
         now.st_ctim.tv_nsec == was.st_ctim.tv_nsec;
}

bool PluginServer::SocketExists() const {
  struct stat st;
  return ::lstat(socket_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace sk::deviceplugin
