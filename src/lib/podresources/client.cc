#include "lib/podresources/client.h"

#include <sys/stat.h>

#include <cctype>
#include <chrono>

#include "podresources/v1/api.grpc.pb.h"
#include <grpcpp/grpcpp.h>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::podresources {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

// "PodResources List on /x/kubelet.sock: deadline exceeded: <detail>".
absl::Status RpcError(const char* rpc, const std::string& path,
                      absl::StatusCode code, const std::string& detail) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) {
    c = c == '_'
            ? ' '
            : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return absl::Status(code, sk::StrCat("PodResources ", rpc, " on ", path, ": ",
                                       name, ": ", detail));
}

absl::Status FromGrpc(const char* rpc, const std::string& path,
                      const grpc::Status& st) {
  auto code = static_cast<absl::StatusCode>(st.error_code());
  // kubelet's Get answers a pod it does not know with a plain Go error,
  // "pod <name> in namespace <ns> not found", which gRPC sends as UNKNOWN
  // (k8s.io/kubernetes pkg/kubelet/apis/podresources/server_v1.go).
  if (code == absl::StatusCode::kUnknown &&
      st.error_message().find("not found") != std::string::npos) {
    code = absl::StatusCode::kNotFound;
  }
  return RpcError(rpc, path, code, st.error_message());
}

PodResources Convert(const v1::PodResources& p) {
  PodResources out;
  out.ns = p.namespace_();
  out.name = p.name();
  for (const auto& c : p.containers()) {
    ContainerResources cr;
    cr.name = c.name();
    for (const auto& d : c.devices()) {
      auto& ids = cr.devices[d.resource_name()];
      ids.insert(ids.end(), d.device_ids().begin(), d.device_ids().end());
    }
    out.containers.push_back(std::move(cr));
  }
  return out;
}

}  // namespace

std::map<std::string, std::vector<std::string>> PodResources::AllDevices()
    const {
  std::map<std::string, std::vector<std::string>> all;
  for (const auto& c : containers) {
    for (const auto& [resource, ids] : c.devices) {
      auto& v = all[resource];
      v.insert(v.end(), ids.begin(), ids.end());
    }
  }
  return all;
}

struct PodResourcesClient::Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::PodResourcesLister::Stub> stub;
  // Set after the first answered call. A call on such a channel that fails
  // UNAVAILABLE ("Broken pipe": the kubelet restarted and gRPC has not yet
  // seen the connection drop) is retried once on a fresh channel.
  std::atomic<bool> served{false};
};

PodResourcesClient::PodResourcesClient(ClientOptions options)
    : options_(std::move(options)) {}

PodResourcesClient::~PodResourcesClient() = default;

absl::StatusOr<std::unique_ptr<PodResourcesClient>> PodResourcesClient::Create(
    ClientOptions options) {
  if (options.socket_path.empty()) {
    return absl::InvalidArgumentError("PodResources: empty socket path");
  }
  if (options.dial_timeout <= absl::ZeroDuration() ||
      options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        sk::StrCat("PodResources: timeouts must be positive (dial ",
                   absl::FormatDuration(options.dial_timeout), ", call ",
                   absl::FormatDuration(options.call_timeout), ")"));
  }
  return std::unique_ptr<PodResourcesClient>(
      new PodResourcesClient(std::move(options)));
}

absl::StatusOr<std::shared_ptr<PodResourcesClient::Channel>>
PodResourcesClient::Connected(const char* rpc) {
  const std::string& path = options_.socket_path;
  // Checked before every dial: gRPC would keep retrying a missing socket
  // until the deadline, and a kubelet that is down should fail fast.
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    // The kubelet is gone: a cached channel is stale whatever state gRPC
    // still reports for it.
    DropChannel();
    return RpcError(rpc, path, absl::StatusCode::kUnavailable,
                    "no socket (kubelet not running?)");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return RpcError(rpc, path, absl::StatusCode::kUnavailable,
                    "not a unix socket");
  }
  // A cached channel in TRANSIENT_FAILURE (the kubelet restarted while we
  // were connected) would wait out gRPC's reconnect backoff, up to 2 min;
  // it is dropped and dialed afresh once.
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<Channel> ch;
    bool fresh = false;
    {
      absl::MutexLock lock(&mu_);
      if (!channel_) {
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(options_.max_receive_bytes);
        auto c = std::make_shared<Channel>();
        c->channel = grpc::CreateCustomChannel(
            "unix:" + path, grpc::InsecureChannelCredentials(), args);
        c->stub = v1::PodResourcesLister::NewStub(c->channel);
        channel_ = std::move(c);
        fresh = true;
      }
      ch = channel_;
    }
    const auto deadline = Deadline(options_.dial_timeout);
    grpc_connectivity_state state = ch->channel->GetState(true);
    while (state != GRPC_CHANNEL_READY) {
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
          state == GRPC_CHANNEL_SHUTDOWN) {
        Forget(ch);
        if (!fresh && attempt == 0) break;
        return RpcError(rpc, path, absl::StatusCode::kUnavailable,
                        "cannot connect");
      }
      if (!ch->channel->WaitForStateChange(state, deadline)) {
        Forget(ch);
        return RpcError(
            rpc, path, absl::StatusCode::kDeadlineExceeded,
            sk::StrCat("not connected after ",
                       absl::FormatDuration(options_.dial_timeout)));
      }
      state = ch->channel->GetState(true);
    }
    if (state == GRPC_CHANNEL_READY) return ch;
  }
}

absl::Status PodResourcesClient::Call(
    const char* rpc, const std::function<grpc::Status(Channel&)>& call) {
  for (int attempt = 0;; ++attempt) {
    SK_ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, Connected(rpc));
    grpc::Status st = call(*ch);
    if (st.ok()) {
      ch->served.store(true);
      return absl::OkStatus();
    }
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
      Forget(ch);
      if (attempt == 0 && ch->served.load()) continue;
    }
    return FromGrpc(rpc, options_.socket_path, st);
  }
}

void PodResourcesClient::DropChannel() {
  absl::MutexLock lock(&mu_);
  channel_.reset();
}

void PodResourcesClient::Forget(const std::shared_ptr<Channel>& ch) {
  absl::MutexLock lock(&mu_);
  if (channel_ == ch) channel_.reset();
}

absl::StatusOr<std::vector<PodResources>> PodResourcesClient::List() {
  v1::ListPodResourcesResponse resp;
  absl::Status st = Call("List", [&](Channel& ch) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(options_.call_timeout));
    v1::ListPodResourcesRequest req;
    resp.Clear();
    return ch.stub->List(&ctx, req, &resp);
  });
  if (!st.ok()) return st;
  std::vector<PodResources> out;
  out.reserve(static_cast<size_t>(resp.pod_resources_size()));
  for (const auto& p : resp.pod_resources()) out.push_back(Convert(p));
  return out;
}

absl::StatusOr<PodResources> PodResourcesClient::GetByList(
    const std::string& ns, const std::string& name) {
  SK_ASSIGN_OR_RETURN(std::vector<PodResources> pods, List());
  for (auto& p : pods) {
    if (p.ns == ns && p.name == name) return std::move(p);
  }
  return RpcError("List", options_.socket_path, absl::StatusCode::kNotFound,
                  sk::StrCat("pod ", ns, "/", name, " not listed"));
}

absl::StatusOr<PodResources> PodResourcesClient::Get(const std::string& ns,
                                                     const std::string& name) {
  if (get_unimplemented_.load()) return GetByList(ns, name);
  v1::GetPodResourcesResponse resp;
  absl::Status st = Call("Get", [&](Channel& ch) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(options_.call_timeout));
    v1::GetPodResourcesRequest req;
    req.set_pod_namespace(ns);
    req.set_pod_name(name);
    resp.Clear();
    return ch.stub->Get(&ctx, req, &resp);
  });
  if (absl::IsUnimplemented(st)) {
    // Kubernetes < 1.27, or the KubeletPodResourcesGet gate off.
    get_unimplemented_.store(true);
    return GetByList(ns, name);
  }
  if (!st.ok()) return st;
  return Convert(resp.pod_resources());
}

}  // namespace sk::podresources
