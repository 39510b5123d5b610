#pragma once

// The node daemon's side of the shim protocol (lib/netattach/shim_protocol.h):
// a unix stream socket at <socket_dir>/netattach.sock that answers each
// connection's one CNI request by calling Handler::Handle.
//
//   SK_ASSIGN_OR_RETURN(auto server, SocketServer::Start(opts, handler.get()));
//   ...                 // serving on a background thread
//   server->Stop();     // or let the destructor do it
//
// Start() prepares the socket directory so that only root (the owner) can
// reach the socket, as Multus's thick daemon does for /run/multus:
// - socket_dir is created (parents 0755, itself 0700) when absent; when it
//   exists it must be a real directory (not a symlink) owned by the current
//   uid, and is set to 0700. Otherwise FailedPrecondition naming the path.
// - A socket file left at the socket path by an earlier run is removed; a
//   regular file, directory or symlink there is not touched
//   (FailedPrecondition naming it), nor is a socket another daemon still
//   serves (FailedPrecondition "... another daemon is serving it").
// - The socket is made mode 0600.
// - A socket path over the 107-byte unix limit is InvalidArgument.
// Other errors (mkdir, bind, listen) carry their errno, naming the path.
//
// Serving: one accept thread, one worker thread per connection, at most
// `max_workers` at once (further connections wait in the listen backlog).
// A worker that has answered stays idle for `idle_worker_timeout` and takes
// the next connection, so a steady stream of requests starts no threads.
// Each worker reads the request frame within `read_timeout`, calls
// Handle(), and writes the response within `write_timeout`. A request that
// is malformed (bad frame, bad JSON, unknown version, oversized) is
// answered with exit code 1 and a CNI error of code 7 naming the problem;
// the connection is not simply dropped, so the shim can report why. A
// Handle() that throws is answered with code 999.
//
// Stop() (idempotent; the destructor calls it) stops accepting, interrupts
// workers still reading a request, waits for workers inside Handle() to
// return and write their response (within write_timeout), joins every thread,
// and removes the socket file if it is still the one this server bound.
//
// Thread safety: Stop() may be called from any thread, but not from inside
// Handle(). `handler` is not owned and must outlive the server; it is
// called from several threads at once.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "lib/base/unique_fd.h"
#include "lib/netattach/multus_log.h"
#include "lib/netattach/sources.h"

namespace sk::netattach {

struct SocketServerOptions {
  std::filesystem::path socket_dir = "/run/sriovkit/netattach";
  // Peers are checked with SO_PEERCRED: root, the server's own effective
  // uid (who owns the 0700 socket directory anyway) and these uids are
  // served; any other peer's connection gets a CNI error (code 7) naming
  // its pid and uid (its request frame is read, bounded, but never decoded
  // nor handled), and the refusal is logged at "error".
  std::vector<uid_t> extra_allowed_uids;
  // Multus-style log (multus_log.h): refusals and failed requests at
  // "error", every request and its outcome at "verbose". Not owned; may be
  // null.
  MultusLogger* logger = nullptr;
  size_t max_workers = 64;
  absl::Duration idle_worker_timeout = absl::Seconds(30);
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
};

class SocketServer {
 public:
  static absl::StatusOr<std::unique_ptr<SocketServer>> Start(
      const SocketServerOptions& options, Handler* handler);
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  const std::filesystem::path& socket_path() const { return socket_path_; }

  // Connections being served right now (for tests of the worker bound).
  size_t ActiveWorkersForTest() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SocketServer(SocketServerOptions options, Handler* handler);

  void AcceptLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Serves `conn`, then the connections handed to it while idle.
  void WorkerLoop(uint64_t id, UniqueFd conn) ABSL_LOCKS_EXCLUDED(mu_);
  void Serve(UniqueFd conn);
  // OK, or PermissionDenied naming the peer; logged.
  absl::Status CheckPeer(int fd);
  void Log(LogLevel level, std::string_view msg);
  void ReapFinished() ABSL_LOCKS_EXCLUDED(mu_);

  const SocketServerOptions options_;
  Handler* const handler_;
  std::filesystem::path socket_path_;
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;  // eventfd; readable once Stop() has begun
  std::thread accept_thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t active_ ABSL_GUARDED_BY(mu_) = 0;  // serving or handed over
  // Workers waiting for a connection, minus the connections in handoff_.
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<UniqueFd> handoff_ ABSL_GUARDED_BY(mu_);
  uint64_t next_worker_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::thread> workers_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> finished_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sk::netattach
