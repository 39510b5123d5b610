#pragma once
// A Kubernetes REST client over libcurl (HTTPS): GET, LIST, WATCH, PATCH,
// PUT with conflict retry, POST and DELETE on API paths, e.g.
// "/api/v1/namespaces/default/pods/p1" or
// "/apis/k8s.cni.cncf.io/v1/namespaces/ns/network-attachment-definitions/x".
//
//   SK_ASSIGN_OR_RETURN(RestConfig cfg, LoadKubeconfig(path));
//   SK_ASSIGN_OR_RETURN(std::unique_ptr<Client> c, Client::Create(cfg));
//   SK_ASSIGN_OR_RETURN(nlohmann::json pod,
//   c->Get("/api/v1/namespaces/ns/pods/p1")); SK_ASSIGN_OR_RETURN(ListResult
//   pods,
//       c->ListAll("/api/v1/pods", {.field_selector =
//       "spec.nodeName=node-a"}));
//
// Errors map HTTP statuses to absl codes and name the verb, the path, the
// HTTP status and the API Status.message:
//   "GET /api/v1/namespaces/default/pods/x: 404 Not Found: pods \"x\" not
//   found" 400, 422, 415      InvalidArgument 401 / 403 Unauthenticated /
//   PermissionDenied 404                NotFound 409 AlreadyExists when
//   Status.reason is AlreadyExists, else
//                      Aborted (a resourceVersion conflict: re-read and retry)
//   410                OutOfRange: the resourceVersion is too old (compacted);
//                      relist. IsResourceExpired() tests for it. A WATCH
//                      ERROR event with code 410 maps the same way.
//   429, 500, 502, 503, 504  Unavailable (retried first, see ClientOptions)
//   timeouts           DeadlineExceeded (not retried)
//   transport errors   Unavailable (connect failures retried for every verb,
//                      others for GET, PUT and merge PATCH only)
//   TLS verification   FailedPrecondition naming the server (not retried)
// Tokens and keys never appear in an error or a log line.
//
// Thread-safe: each request uses its own curl handle.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/base/clock.h"
#include "lib/kube/kubeconfig.h"

namespace sk::kube {

struct ClientOptions {
  // Sleeps between retries go through this clock (tests use a fake one).
  Clock* clock = &RealClock();
  std::chrono::milliseconds connect_timeout{10000};
  // Whole-request limit for everything but WATCH.
  std::chrono::milliseconds request_timeout{30000};
  // A WATCH that receives nothing for this long is abandoned (the server
  // sends bookmarks about once a minute when asked to).
  std::chrono::seconds watch_idle_timeout{300};
  // Attempts per request for retryable failures (>= 1).
  int max_attempts = 5;
  // Exponential backoff between attempts without a Retry-After.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  // A Retry-After header is honoured up to this many seconds.
  std::chrono::seconds max_retry_after{30};
  // Response size limits (bytes) for objects, lists and one watch event.
  size_t max_object_bytes = size_t{8} << 20;
  size_t max_list_bytes = size_t{256} << 20;
  size_t max_event_bytes = size_t{8} << 20;
  // Refuse a config with insecure_skip_tls_verify unless set.
  bool allow_insecure = false;
  std::string user_agent = "sriovkit";
};

struct ListOptions {
  int64_t limit = 0;  // 0: no limit
  std::string continue_token{};
  std::string field_selector{};
  std::string label_selector{};
  std::string resource_version{};
};

struct ListResult {
  std::vector<nlohmann::json> items;
  std::string resource_version{};
  std::string continue_token;  // empty on the last page
};

struct WatchOptions {
  std::string resource_version{};
  bool allow_bookmarks = true;
  int timeout_seconds =
      0;  // server-side end of the watch; 0: the server's default
  std::string field_selector{};
  std::string label_selector{};
  // When it becomes true the watch ends (checked at least once a second).
  const std::atomic<bool>* cancel = nullptr;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK
  nlohmann::json object;
};

enum class PatchType { kMerge, kStrategicMerge, kJson };

// The standard reason phrase of an HTTP status ("Not Found"), "Error" for
// one this client does not name.
const char* HttpReasonPhrase(long code);

// True for the code a 410 Gone ("resourceVersion too old") maps to.
bool IsResourceExpired(const absl::Status& status);

// The Content-Type for each patch type.
const char* PatchContentType(PatchType type);

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      RestConfig config, ClientOptions options = {});
  ~Client();

  absl::StatusOr<nlohmann::json> Get(const std::string& path);
  // One page.
  absl::StatusOr<ListResult> List(const std::string& path,
                                  const ListOptions& options = {});
  // Every page, following `continue`; the result's resource_version is the
  // first page's (the list snapshot's).
  absl::StatusOr<ListResult> ListAll(const std::string& path,
                                     ListOptions options = {});
  // Streams events to `on_event` as they arrive until the server ends the
  // watch (OK), `on_event` returns false (OK), options.cancel is set (OK),
  // or an error: an HTTP error, an ERROR event (its Status mapped as above,
  // 410 -> OutOfRange), a malformed or oversized event. Not retried.
  // `on_event` may move from the event it is given (nothing reads it after).
  absl::Status Watch(const std::string& path, const WatchOptions& options,
                     const std::function<bool(WatchEvent&)>& on_event);
  absl::StatusOr<nlohmann::json> Patch(const std::string& path, PatchType type,
                                       const nlohmann::json& patch);
  // GET, `mutate`, PUT (carrying the read resourceVersion); again on 409
  // Conflict, at most `max_attempts` times. A mutate error is returned as is.
  absl::StatusOr<nlohmann::json> Update(
      const std::string& path,
      const std::function<absl::Status(nlohmann::json&)>& mutate,
      int max_attempts = 5);
  absl::StatusOr<nlohmann::json> Put(const std::string& path,
                                     const nlohmann::json& object);
  absl::StatusOr<nlohmann::json> Create(const std::string& collection_path,
                                        const nlohmann::json& object);
  absl::Status Delete(const std::string& path);
  // Sets (or, with nullopt, removes) one annotation with a merge patch on
  // `object_path` + "/" + `subresource` (e.g. "status" for pods/status, which
  // is how Multus writes network-status), or on the object itself when
  // `subresource` is empty.
  absl::StatusOr<nlohmann::json> PatchAnnotation(
      const std::string& object_path, const std::string& subresource,
      const std::string& key, const std::optional<std::string>& value);
  // The same without parsing the object the server answers with (a whole
  // pod, for the caller that only needs to know the write was made).
  absl::Status SetAnnotation(const std::string& object_path,
                             const std::string& subresource,
                             const std::string& key,
                             const std::optional<std::string>& value);

  const RestConfig& config() const { return config_; }

  // Idle curl handles: each keeps its connection (and TLS session) open, so
  // requests after the first skip the TCP and TLS handshakes. Internal.
  struct HandlePool;

 private:
  struct Response;
  Client(RestConfig config, ClientOptions options);
  absl::StatusOr<Response> Do(const std::string& verb, const std::string& path,
                              const std::string& query,
                              const std::string& content_type,
                              const std::string& body, size_t max_bytes);
  absl::StatusOr<Response> DoOnce(const std::string& verb,
                                  const std::string& path,
                                  const std::string& query,
                                  const std::string& content_type,
                                  const std::string& body, size_t max_bytes);
  absl::StatusOr<nlohmann::json> DoJson(const std::string& verb,
                                        const std::string& path,
                                        const std::string& query,
                                        const std::string& content_type,
                                        const std::string& body,
                                        size_t max_bytes);

  RestConfig config_;
  ClientOptions options_;
  std::unique_ptr<BearerToken> token_;
  std::unique_ptr<HandlePool> pool_;
};

}  // namespace sk::kube
