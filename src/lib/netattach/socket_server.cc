#include "lib/netattach/socket_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/netattach/shim_client.h"
#include "lib/netattach/shim_protocol.h"

namespace sk::netattach {
namespace {

constexpr int kCniInvalidConfig = 7;
constexpr int kCniInternal = 999;
constexpr int kListenBacklog = 128;

CniResponse ErrorResponse(int code, std::string_view msg) {
  nlohmann::ordered_json j;
  j["cniVersion"] = "1.0.0";
  j["code"] = code;
  j["msg"] = msg;
  return CniResponse{
      .exit_code = 1,
      .stdout_data =
          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
          "\n"};
}

std::string_view KindOf(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISFIFO(mode)) return "a FIFO";
  return "not a socket";
}

std::chrono::steady_clock::time_point After(absl::Duration d) {
  return std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(d);
}

sockaddr_un UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return addr;
}

// The socket directory, created 0700 when absent; an existing one must be a
// real directory owned by us. Returns it open (O_NOFOLLOW), mode 0700.
absl::StatusOr<UniqueFd> PrepareDir(const std::filesystem::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoStatus(errno, "socket dir ", dir.string());
    std::error_code ec;
    if (dir.has_parent_path()) {
      std::filesystem::create_directories(dir.parent_path(), ec);
      if (ec) {
        return absl::UnavailableError(sk::StrCat(
            "create ", dir.parent_path().string(), ": ", ec.message()));
      }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir socket dir ", dir.string());
    }
    if (::lstat(dir.c_str(), &st) != 0) {
      return ErrnoStatus(errno, "socket dir ", dir.string());
    }
  }
  if (S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(sk::StrCat(
        "socket dir ", dir.string(), " is a symlink; refusing to use it"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(sk::StrCat("socket dir ", dir.string(),
                                                    " is ", KindOf(st.st_mode),
                                                    ", not a directory"));
  }
  UniqueFd fd(
      ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return absl::FailedPreconditionError(sk::StrCat(
          "socket dir ", dir.string(), " was replaced while opening it"));
    }
    return ErrnoStatus(errno, "open socket dir ", dir.string());
  }
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoStatus(errno, "stat socket dir ", dir.string());
  }
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(
        sk::StrCat("socket dir ", dir.string(), " is owned by uid ", st.st_uid,
                   ", not by this daemon's uid ", ::geteuid()));
  }
  if ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0) {
    return ErrnoStatus(errno, "chmod 0700 socket dir ", dir.string());
  }
  return fd;
}

// Removes a socket an earlier run left behind; refuses anything else, and
// a socket someone still accepts on.
absl::Status RemoveStale(int dirfd, const std::string& path) {
  struct stat st {};
  if (::fstatat(dirfd, kSocketName, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, "stat ", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        sk::StrCat(path, " exists and is ", KindOf(st.st_mode),
                   ", not a socket; refusing to remove it"));
  }
  UniqueFd probe(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) return ErrnoStatus(errno, "socket");
  sockaddr_un addr = UnixAddress(path);
  int rc = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr),
                     sizeof(addr));
  if (rc == 0 || errno == EAGAIN) {
    return absl::FailedPreconditionError(
        sk::StrCat(path, ": another daemon is serving it"));
  }
  if (::unlinkat(dirfd, kSocketName, 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove stale socket ", path);
  }
  return absl::OkStatus();
}

}  // namespace

SocketServer::SocketServer(SocketServerOptions options, Handler* handler)
    : options_(std::move(options)), handler_(handler) {}

SocketServer::~SocketServer() { Stop(); }

absl::StatusOr<std::unique_ptr<SocketServer>> SocketServer::Start(
    const SocketServerOptions& options, Handler* handler) {
  if (handler == nullptr) {
    return absl::InvalidArgumentError("SocketServer: no handler");
  }
  if (options.max_workers == 0) {
    return absl::InvalidArgumentError("SocketServer: max_workers is 0");
  }
  std::unique_ptr<SocketServer> s(new SocketServer(options, handler));
  s->socket_path_ = options.socket_dir / kSocketName;
  const std::string path = s->socket_path_.string();
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(sk::StrCat(
        "socket path ", path, " is ", path.size(), " bytes, over the ",
        sizeof(sockaddr_un::sun_path) - 1, "-byte unix socket limit"));
  }
  SK_ASSIGN_OR_RETURN(UniqueFd dirfd, PrepareDir(options.socket_dir));
  SK_RETURN_IF_ERROR(RemoveStale(dirfd.get(), path));

  s->listen_fd_.Reset(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s->listen_fd_) return ErrnoStatus(errno, "socket");
  sockaddr_un addr = UnixAddress(path);
  if (::bind(s->listen_fd_.get(), reinterpret_cast<const sockaddr*>(&addr),
             sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind ", path);
  }
  // Recorded first: from here on, a failed Start() leaves no socket behind
  // (the destructor's Stop() removes the file with this identity).
  struct stat st {};
  if (::fstatat(dirfd.get(), kSocketName, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "stat ", path);
  }
  s->socket_dev_ = st.st_dev;
  s->socket_ino_ = st.st_ino;
  // The directory is 0700, so the moment between bind and chmod exposes
  // nothing.
  if (::fchmodat(dirfd.get(), kSocketName, 0600, 0) != 0) {
    return ErrnoStatus(errno, "chmod 0600 ", path);
  }
  if (::listen(s->listen_fd_.get(), kListenBacklog) != 0) {
    return ErrnoStatus(errno, "listen ", path);
  }
  s->stop_fd_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->stop_fd_) return ErrnoStatus(errno, "eventfd");
  s->accept_thread_ = std::thread([srv = s.get()] { srv->AcceptLoop(); });
  return s;
}

void SocketServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (stop_fd_) {
    uint64_t one = 1;
    ssize_t n = ::write(stop_fd_.get(), &one, sizeof(one));
    (void)n;
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::map<uint64_t, std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    // Workers reading or writing see stop_fd_ and give up; those inside
    // Handle() finish it first.
    mu_.Await(absl::Condition(
        +[](size_t* active) { return *active == 0; }, &active_));
    workers.swap(workers_);
    finished_.clear();
  }
  for (auto& [id, t] : workers) t.join();
  listen_fd_.Reset();
  // Only our own socket: a successor may already have bound a new one.
  struct stat st {};
  if (!socket_path_.empty() && ::lstat(socket_path_.c_str(), &st) == 0 &&
      S_ISSOCK(st.st_mode) && st.st_dev == socket_dev_ &&
      st.st_ino == socket_ino_) {
    ::unlink(socket_path_.c_str());
  }
}

size_t SocketServer::ActiveWorkersForTest() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

void SocketServer::ReapFinished() {
  std::vector<std::thread> done;
  {
    absl::MutexLock lock(&mu_);
    for (uint64_t id : finished_) {
      auto it = workers_.find(id);
      if (it == workers_.end()) continue;
      done.push_back(std::move(it->second));
      workers_.erase(it);
    }
    finished_.clear();
  }
  for (auto& t : done) t.join();
}

void SocketServer::AcceptLoop() {
  while (true) {
    ReapFinished();
    {
      absl::MutexLock lock(&mu_);
      // The bound on concurrent workers: further connections wait in the
      // kernel's backlog until one finishes.
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || active_ < options_.max_workers;
      };
      mu_.Await(absl::Condition(&room));
      if (stopping_) return;
    }
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0},
                     {stop_fd_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) continue;  // EINTR
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & POLLIN)) continue;
    UniqueFd conn(::accept4(listen_fd_.get(), nullptr, nullptr,
                            SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning; the
        // connection stays in the backlog.
        pollfd stop = {stop_fd_.get(), POLLIN, 0};
        (void)::poll(&stop, 1, 100);
      }
      continue;
    }
    absl::MutexLock lock(&mu_);
    ++active_;
    if (idle_ > 0) {
      // An idle worker takes it: no thread to start.
      --idle_;
      handoff_.push_back(std::move(conn));
      continue;
    }
    uint64_t id = next_worker_id_++;
    // Created under mu_, so the worker cannot report itself finished before
    // it is in workers_.
    workers_.emplace(id, std::thread([this, id, c = std::move(conn)]() mutable {
                       WorkerLoop(id, std::move(c));
                     }));
  }
}

void SocketServer::WorkerLoop(uint64_t id, UniqueFd conn) {
  while (true) {
    Serve(std::move(conn));
    absl::MutexLock lock(&mu_);
    --active_;
    ++idle_;
    auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || !handoff_.empty();
    };
    mu_.AwaitWithTimeout(absl::Condition(&work), options_.idle_worker_timeout);
    // A connection handed over is served even when stopping (Serve gives
    // up reading at once then); the acceptor took our idle_ slot for it.
    if (!handoff_.empty()) {
      conn = std::move(handoff_.front());
      handoff_.pop_front();
      continue;
    }
    --idle_;
    finished_.push_back(id);
    return;
  }
}

void SocketServer::Log(LogLevel level, std::string_view msg) {
  if (options_.logger != nullptr) options_.logger->Log(level, msg);
}

absl::Status SocketServer::CheckPeer(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return ErrnoStatus(errno, "getsockopt SO_PEERCRED");
  std::vector<uid_t> allowed = {0};
  if (::geteuid() != 0) allowed.push_back(::geteuid());
  allowed.insert(allowed.end(), options_.extra_allowed_uids.begin(),
                 options_.extra_allowed_uids.end());
  std::string names;
  for (uid_t u : allowed) {
    if (u == cred.uid) return absl::OkStatus();
    names += sk::StrCat(names.empty() ? "" : ",", u);
  }
  return absl::PermissionDeniedError(
      sk::StrCat("connection refused: peer pid ", cred.pid, " uid ", cred.uid,
                 " gid ", cred.gid, " is not an allowed uid (", names, ")"));
}

void SocketServer::Serve(UniqueFd conn) {
  const auto started = std::chrono::steady_clock::now();
  CniResponse response;
  // What the handler leaves to do once the shim has its answer.
  DeferredWork later;
  absl::StatusOr<std::string> body =
      ReadFrame(conn.get(), After(options_.read_timeout), stop_fd_.get());
  if (body.status().code() == absl::StatusCode::kCancelled) return;
  // The peer's frame is read (bounded, as any) but a refused peer's is
  // never decoded nor handled; answering before reading would race the
  // shim's write and it would see a reset instead of the reason.
  if (absl::Status peer = CheckPeer(conn.get()); !peer.ok()) {
    Log(LogLevel::kError, sk::StrCat("sriovkit-netattachd: ", peer.message()));
    (void)WriteFrame(conn.get(),
                     EncodeResponse(ErrorResponse(
                         kCniInvalidConfig,
                         sk::StrCat("sriovkit-netattachd: ", peer.message()))),
                     After(options_.write_timeout));
    return;
  }
  absl::StatusOr<CniRequest> request =
      body.ok() ? DecodeRequest(*body)
                : absl::StatusOr<CniRequest>(body.status());
  if (!request.ok()) {
    response = ErrorResponse(
        kCniInvalidConfig,
        sk::StrCat("sriovkit-netattachd: malformed request from the shim: ",
                   request.status().message()));
  } else {
    try {
      response = handler_->HandleDeferring(*request, later);
    } catch (const std::exception& e) {
      response = ErrorResponse(
          kCniInternal,
          sk::StrCat("sriovkit-netattachd: internal error: ", e.what()));
    } catch (...) {
      response =
          ErrorResponse(kCniInternal, "sriovkit-netattachd: internal error");
    }
  }
  // The answer goes out first: the runtime waits for it, not for the log
  // line (whose time is taken here, so it still covers the call's work).
  const auto answered = std::chrono::steady_clock::now();
  // Not cancelled by Stop(): a call that has run (an ADD done) must reach
  // the shim; write_timeout bounds it. The shim may be gone (it timed out);
  // nothing more to do then.
  (void)WriteFrame(conn.get(), EncodeResponse(response),
                   After(options_.write_timeout));
  conn.Reset();
  // After the answer, so outside the handler's try: an exception here is
  // logged, not the end of the daemon.
  absl::Status deferred;
  try {
    deferred = later.Run();
  } catch (const std::exception& e) {
    deferred = absl::InternalError(
        sk::StrCat("internal error in the work after the answer: ", e.what()));
  } catch (...) {
    deferred =
        absl::InternalError("internal error in the work after the answer");
  }
  if (!deferred.ok())
    Log(LogLevel::kError,
        sk::StrCat("sriovkit-netattachd: ", deferred.message()));
  if (options_.logger != nullptr) {
    std::string what = "malformed request";
    if (request.ok()) {
      auto env = [&](const char* k) {
        auto it = request->env.find(k);
        return it == request->env.end() ? std::string() : it->second;
      };
      what = sk::StrCat(
          env("CNI_COMMAND"), " containerID=", env("CNI_CONTAINERID"),
          " netns=", env("CNI_NETNS"), " ifname=", env("CNI_IFNAME"));
    }
    if (response.exit_code == 0) {
      // From the hand-off to this worker to the answer, and the delegates'
      // part.
      auto ms = [](std::chrono::nanoseconds d) {
        return absl::StrFormat("%.2f", static_cast<double>(d.count()) / 1e6);
      };
      Log(LogLevel::kVerbose,
          sk::StrCat(what, ": ok in ", ms(answered - started),
                     " ms (delegates ", ms(response.delegate_time), " ms)"));
    } else {
      Log(LogLevel::kError, sk::StrCat(what, ": ", response.stdout_data));
    }
  }
}

}  // namespace sk::netattach
