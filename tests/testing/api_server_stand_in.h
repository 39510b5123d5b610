#pragma once
// ApiServerStandIn: a Kubernetes API server stand-in for tests, benchmarks
// and the lab. It is not kube-apiserver: it speaks the same wire protocol
// (HTTPS with real TLS from tests/testing/test_pki.h, HTTP/1.1, the REST paths,
// Status error bodies, chunked WATCH streams) over an in-memory object store,
// so client code is exercised end to end without a cluster.
//
//   SK_ASSERT_OK_AND_ASSIGN(TestPki pki, TestPki::Create());
//   ApiServerStandIn::Options opts;
//   opts.tokens = {{"s3cret", "alice"}};
//   SK_ASSERT_OK_AND_ASSIGN(auto server, ApiServerStandIn::Start(pki, opts));
//   server->Put("/api/v1/namespaces/default/pods/p1",
//               {{"spec", {{"nodeName", "node-a"}}}});
//   // https://127.0.0.1:<port>: server->url(), trusted via pki.ca_pem()
//
// What it serves (any "/api/v1" or "/apis/<group>/<version>" prefix):
//   GET    <collection>/<name>        404 Status: pods "x" not found
//   GET    <collection>               LIST: kind <Kind>List,
//   metadata.resourceVersion,
//                                     limit + continue, fieldSelector
//                                     (spec.nodeName, metadata.name,
//                                     metadata.namespace), labelSelector k=v
//   GET    <collection>?watch=1       WATCH: chunked {"type","object"} lines
//   from
//                                     resourceVersion (0/absent: ADDED for
//                                     every object first), BOOKMARKs on request
//                                     when allowWatchBookmarks=true,
//                                     timeoutSeconds
//   POST   <collection>               create (409 AlreadyExists)
//   PUT    <collection>/<name>[/status]  409 Conflict on a stale
//                                     resourceVersion
//   PATCH  <collection>/<name>[/status]  merge, strategic (as merge) and
//                                     JSON patch
//   DELETE <collection>/<name>
//   POST   pods/<name>/eviction       policy/v1 Eviction: 201 and the pod
//                                     deleted, or 429 (PodDisruptionBudget)
//                                     as RefuseEvictions says
// Collections are "namespaces/<ns>/<resource>" or, across namespaces,
// "<resource>". A "/status" write changes metadata and status, never spec.
//
// Authentication: a bearer token from Options::tokens, or a client
// certificate verified against the PKI's CA (user = CN, groups = O); else
// 401 with a Status body. The request log records the user, never a token.
//
// Thread-safe. One thread per connection; Stop() (and the destructor) closes
// every connection, watches included, and joins the threads.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "tests/testing/test_pki.h"

namespace sk::testing {

class ApiServerStandIn {
 public:
  struct Options {
    // Bearer token -> user name.
    std::map<std::string, std::string> tokens;
    // Accept client certificates signed by the PKI's CA.
    bool accept_client_certs = true;
  };

  struct Request {
    std::string method;
    std::string path;   // without the query
    std::string query;  // raw, without '?'
    std::string content_type;
    std::string user;  // "" when unauthenticated
    int status = 0;    // HTTP status answered
  };

  // What a too-old watch resourceVersion gets.
  enum class GoneMode {
    kErrorEvent,  // 200, then an ERROR event with a 410 Status (as the real
                  // server)
    kHttpStatus,  // an HTTP 410 Gone answer with a Status body
  };

  static absl::StatusOr<std::unique_ptr<ApiServerStandIn>> Start(
      const TestPki& pki, Options options);
  ~ApiServerStandIn();
  ApiServerStandIn(const ApiServerStandIn&) = delete;
  ApiServerStandIn& operator=(const ApiServerStandIn&) = delete;

  // Closes the listening socket and every connection (watches included)
  // and joins the threads: to clients, the server is gone. The store is
  // kept.
  void Stop();
  // An API server coming back after Stop() (or a crash): listens again on
  // the same port with the same certificate, serving the kept store (as
  // kube-apiserver does from etcd: resourceVersions continue). Stops first
  // when running. Internal when the port cannot be bound again.
  absl::Status Restart();
  int port() const { return port_; }
  // "https://127.0.0.1:<port>"
  std::string url() const;

  // --- object store (each change is a watch event and bumps the global
  // resourceVersion, which the stored object carries) ---

  // Creates or replaces the object at `path` (e.g.
  // "/api/v1/namespaces/ns/pods/p1"); metadata.name/namespace are set from
  // the path, a uid is made up when missing. Returns its new resourceVersion,
  // or 0 (storing nothing) when `path` is not an object path.
  int64_t Put(const std::string& path, nlohmann::json object);
  // Removes the object; false when there was none.
  bool Delete(const std::string& path);
  std::optional<nlohmann::json> Get(const std::string& path) const;
  int64_t resource_version() const;

  // --- knobs ---

  // Answers the next `count` requests whose path contains `path_substr` (and
  // whose method is `method`, when non-empty) with `http_status` and a
  // Status body; `retry_after_seconds` >= 0 adds a Retry-After header.
  // `http_status` 0: the connection is closed once the request is read,
  // without an answer (a server or proxy dropping it).
  void FailNext(int count, int http_status, int retry_after_seconds = -1,
                const std::string& path_substr = "",
                const std::string& method = "");
  // The next `count` evictions of the pod at `pod_path` are refused with
  // 429 "Cannot evict pod as it would violate the pod's disruption budget."
  void RefuseEvictions(const std::string& pod_path, int count);
  // false: an accepted eviction leaves the pod in place (a slow graceful
  // termination or a live migration that has not finished).
  void SetEvictionDeletesPod(bool deletes);
  // Every response waits `delay` before it is written.
  void SetDelay(std::chrono::milliseconds delay);
  // A watch from a resourceVersion below `rv` is "too old" (410).
  void SetCompactedResourceVersion(int64_t rv,
                                   GoneMode mode = GoneMode::kErrorEvent);
  // Ends every open watch with an ERROR event carrying a 410 Status, as the
  // server does when the watch cache has moved past a watcher.
  void ExpireWatches();
  // Ends every open watch cleanly (as when its timeoutSeconds runs out).
  void CloseWatches();
  // Sends a BOOKMARK at the current resourceVersion on every open watch that
  // asked for bookmarks.
  void SendBookmarks();
  // TLS connections accepted since Start (a client that keeps its
  // connections open makes one for many requests).
  int connections() const;
  // Open watch streams right now.
  int open_watches() const;
  // Waits (real time, bounded) until at least `n` watches are open.
  bool WaitForWatches(int n, std::chrono::milliseconds timeout) const;

  std::vector<Request> requests() const;
  void ClearRequests();

 private:
  struct Impl;
  explicit ApiServerStandIn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace sk::testing
