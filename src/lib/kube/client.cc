#include "lib/kube/client.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include <curl/curl.h>

#include "lib/base/json.h"
#include "lib/base/status_macros.h"

namespace sk::kube {

using nlohmann::json;

struct Client::Response {
  long status = 0;
  std::string body;
  int retry_after = -1;  // seconds; -1 when absent
};

const char* HttpReasonPhrase(long code) {
  switch (code) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool Retryable(long code) {
  return code == 429 || code == 500 || code == 502 || code == 503 ||
         code == 504;
}

absl::StatusCode CodeFor(long http, const std::string& reason) {
  switch (http) {
    case 400:
    case 415:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists
                                       : absl::StatusCode::kAborted;
    case 410:
      return absl::StatusCode::kOutOfRange;
    case 413:
      return absl::StatusCode::kResourceExhausted;
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      return http >= 500 ? absl::StatusCode::kUnavailable
                         : absl::StatusCode::kUnknown;
  }
}

// "<VERB> <path>: <code> <phrase>[: <Status.message>]" from a Status object.
absl::Status StatusFromApiStatus(const std::string& verb,
                                 const std::string& path, long http,
                                 const json& status) {
  std::string message, reason;
  if (status.is_object()) {
    if (auto it = status.find("message");
        it != status.end() && it->is_string()) {
      message = it->get<std::string>();
    }
    if (auto it = status.find("reason");
        it != status.end() && it->is_string()) {
      reason = it->get<std::string>();
    }
  }
  std::string text =
      absl::StrCat(verb, " ", path, ": ", http, " ", HttpReasonPhrase(http));
  if (!message.empty()) absl::StrAppend(&text, ": ", message);
  return absl::Status(CodeFor(http, reason), text);
}

absl::Status HttpError(const std::string& verb, const std::string& path,
                       long http, const std::string& body) {
  absl::StatusOr<json> status =
      ParseJsonBounded(body, {.max_depth = 16, .max_bytes = 1 << 20});
  return StatusFromApiStatus(verb, path, http, status.ok() ? *status : json());
}

std::string Escape(CURL* curl, const std::string& s) {
  char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

}  // namespace

// At most kMaxIdle handles are kept; a request takes one (or makes one) and
// gives it back reset (options cleared, connection cache kept: see
// curl_easy_reset(3)), so requests from several threads never share one.
struct Client::HandlePool {
  static constexpr size_t kMaxIdle = 4;
  std::mutex mu;
  std::vector<CURL*> idle;
  ~HandlePool() {
    for (CURL* c : idle) curl_easy_cleanup(c);
  }
  CURL* Take() {
    {
      std::lock_guard<std::mutex> l(mu);
      if (!idle.empty()) {
        CURL* c = idle.back();
        idle.pop_back();
        return c;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* c) {
    curl_easy_reset(c);
    {
      std::lock_guard<std::mutex> l(mu);
      if (idle.size() < kMaxIdle) {
        idle.push_back(c);
        return;
      }
    }
    curl_easy_cleanup(c);
  }
};

namespace {

// Per-transfer state shared with curl's callbacks.
struct Transfer {
  CURL* curl = nullptr;
  std::string body;
  size_t max_bytes = 0;
  bool too_large = false;
  int retry_after = -1;
  // Watch mode.
  bool watch = false;
  std::string line;
  size_t max_event_bytes = 0;
  const std::function<bool(WatchEvent&)>* on_event = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool stopped = false;  // the callback or cancel ended the watch
  absl::Status watch_error;
  std::string path;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * n);
  if (line.size() > 12 &&
      absl::EqualsIgnoreCase(line.substr(0, 12), "Retry-After:")) {
    int secs = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(12)), &secs) &&
        secs >= 0) {
      t->retry_after = secs;
    }
  }
  return size * n;
}

bool DispatchLine(Transfer* t, std::string_view line) {
  if (absl::StripAsciiWhitespace(absl::string_view(line.data(), line.size()))
          .empty()) {
    return true;
  }
  absl::StatusOr<json> ev = ParseJsonBounded(
      line, {.max_depth = 64, .max_bytes = t->max_event_bytes});
  if (!ev.ok()) {
    t->watch_error = absl::InvalidArgumentError(absl::StrCat(
        "WATCH ", t->path, ": bad event: ", ev.status().message()));
    return false;
  }
  if (!ev->is_object() || !(*ev)["type"].is_string() ||
      !(*ev)["object"].is_object()) {
    t->watch_error = absl::InvalidArgumentError(absl::StrCat(
        "WATCH ", t->path, ": event without a string type and an object"));
    return false;
  }
  WatchEvent event{(*ev)["type"].get<std::string>(),
                   std::move((*ev)["object"])};
  if (event.type == "ERROR") {
    long code = 500;
    if (auto it = event.object.find("code");
        it != event.object.end() && it->is_number_integer()) {
      code = it->get<long>();
    }
    t->watch_error = StatusFromApiStatus("WATCH", t->path, code, event.object);
    return false;
  }
  if (!(*t->on_event)(event)) {
    t->stopped = true;
    return false;
  }
  return true;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  long http = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &http);
  if (!t->watch || http != 200) {
    if (t->body.size() + len > t->max_bytes) {
      t->too_large = true;
      return 0;
    }
    t->body.append(data, len);
    return len;
  }
  std::string_view chunk(data, len);
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    std::string_view part = chunk.substr(0, nl);
    if (t->line.size() + part.size() > t->max_event_bytes) {
      t->watch_error = absl::ResourceExhaustedError(
          absl::StrCat("WATCH ", t->path, ": an event is larger than ",
                       t->max_event_bytes, " bytes"));
      return 0;
    }
    t->line.append(part);
    if (nl == std::string_view::npos) break;
    std::string line = std::move(t->line);
    t->line.clear();
    if (!DispatchLine(t, line)) return 0;
    chunk.remove_prefix(nl + 1);
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->load()) {
    t->stopped = true;
    return 1;
  }
  return 0;
}

bool IsTlsError(CURLcode c) {
  return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CONNECT_ERROR ||
         c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CACERT_BADFILE ||
         c == CURLE_SSL_CIPHER || c == CURLE_SSL_ISSUER_ERROR ||
         c == CURLE_SSL_PINNEDPUBKEYNOTMATCH || c == CURLE_SSL_CLIENTCERT;
}

}  // namespace

bool IsResourceExpired(const absl::Status& status) {
  return status.code() == absl::StatusCode::kOutOfRange;
}

const char* PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

Client::Client(RestConfig config, ClientOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  token_ = std::make_unique<BearerToken>(config_.token, config_.token_file,
                                         *options_.clock);
  pool_ = std::make_unique<HandlePool>();
}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Create(RestConfig config,
                                                       ClientOptions options) {
  GlobalInit();
  if (config.server.empty())
    return absl::InvalidArgumentError("kube client: server: missing");
  if (config.insecure_skip_tls_verify && !options.allow_insecure) {
    return absl::FailedPreconditionError(
        "kube client: insecure_skip_tls_verify is refused unless "
        "allow_insecure is set");
  }
  if (options.clock == nullptr) options.clock = &RealClock();
  options.max_attempts = std::max(1, options.max_attempts);
  return std::unique_ptr<Client>(
      new Client(std::move(config), std::move(options)));
}

// One HTTP exchange (or one watch stream when `watch` is set in `t`).
static absl::Status Perform(Client::HandlePool& pool, const RestConfig& cfg,
                            const ClientOptions& opts, BearerToken& token,
                            const std::string& verb, const std::string& path,
                            const std::string& query,
                            const std::string& content_type,
                            const std::string& body, Transfer* t, long* http) {
  struct Lease {
    Client::HandlePool& pool;
    CURL* c;
    ~Lease() {
      if (c != nullptr) pool.Give(c);
    }
  } lease{pool, pool.Take()};
  if (lease.c == nullptr) return absl::InternalError("curl_easy_init failed");
  CURL* c = lease.c;
  t->curl = c;
  t->path = path;
  std::string url = cfg.server + path;
  if (!query.empty()) absl::StrAppend(&url, "?", query);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(c, CURLOPT_USERAGENT, opts.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(opts.connect_timeout.count()));
  if (t->watch) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(opts.watch_idle_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(opts.request_timeout.count()));
  }
  if (!cfg.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(cfg.ca_pem.data()), cfg.ca_pem.size(),
                 CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (cfg.insecure_skip_tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!cfg.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(cfg.client_cert_pem.data()),
                   cfg.client_cert_pem.size(), CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(cfg.client_key_pem.data()),
                  cfg.client_key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_slist* raw_headers =
      curl_slist_append(nullptr, "Accept: application/json");
  std::unique_ptr<curl_slist, CurlDeleter> headers(raw_headers);
  if (!content_type.empty()) {
    headers.reset(curl_slist_append(
        headers.release(),
        absl::StrCat("Content-Type: ", content_type).c_str()));
  }
  {
    absl::StatusOr<std::string> bearer = token.Get();
    if (!bearer.ok()) return bearer.status();
    if (!bearer->empty()) {
      std::string h = absl::StrCat("Authorization: Bearer ", *bearer);
      headers.reset(curl_slist_append(headers.release(), h.c_str()));
      std::fill(h.begin(), h.end(), '\0');
    }
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (verb == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, verb.c_str());
  }
  if (!body.empty() || verb == "POST" || verb == "PUT" || verb == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  if (t->cancel != nullptr) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
  if (rc == CURLE_OK) return absl::OkStatus();
  if (t->too_large) {
    return absl::ResourceExhaustedError(absl::StrCat(
        verb, " ", path, ": response larger than ", t->max_bytes, " bytes"));
  }
  if (t->watch &&
      (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK)) {
    if (!t->watch_error.ok()) return t->watch_error;
    if (t->stopped) return absl::OkStatus();
  }
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(absl::StrCat(
        verb, " ", path, ": timed out talking to ", cfg.server, ": ", detail));
  }
  if (IsTlsError(rc)) {
    return absl::FailedPreconditionError(absl::StrCat(
        verb, " ", path, ": TLS with ", cfg.server, " failed: ", detail));
  }
  std::string what =
      rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST
          ? "cannot connect to "
          : "transport error with ";
  absl::Status s = absl::UnavailableError(
      absl::StrCat(verb, " ", path, ": ", what, cfg.server, ": ", detail));
  s.SetPayload("sk.kube.curl",
               absl::Cord(std::to_string(static_cast<int>(rc))));
  return s;
}

absl::StatusOr<Client::Response> Client::DoOnce(const std::string& verb,
                                                const std::string& path,
                                                const std::string& query,
                                                const std::string& content_type,
                                                const std::string& body,
                                                size_t max_bytes) {
  Transfer t;
  t.max_bytes = max_bytes;
  long http = 0;
  SK_RETURN_IF_ERROR(Perform(*pool_, config_, options_, *token_, verb, path,
                             query, content_type, body, &t, &http));
  Response r;
  r.status = http;
  r.body = std::move(t.body);
  r.retry_after = t.retry_after;
  return r;
}

absl::StatusOr<Client::Response> Client::Do(const std::string& verb,
                                            const std::string& path,
                                            const std::string& query,
                                            const std::string& content_type,
                                            const std::string& body,
                                            size_t max_bytes) {
  Clock& clock = *options_.clock;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<Response> r =
        DoOnce(verb, path, query, content_type, body, max_bytes);
    bool last = attempt >= options_.max_attempts;
    std::chrono::milliseconds wait = backoff;
    if (r.ok()) {
      if (!Retryable(r->status) || last) return r;
      if (r->retry_after >= 0) {
        wait = std::min<std::chrono::milliseconds>(
            std::chrono::seconds(r->retry_after), options_.max_retry_after);
      }
    } else {
      if (last || r.status().code() != absl::StatusCode::kUnavailable) return r;
      auto payload = r.status().GetPayload("sk.kube.curl");
      int rc = 0;
      if (payload.has_value())
        (void)absl::SimpleAtoi(std::string(*payload), &rc);
      bool not_sent =
          rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
      // A request that may have reached the server is repeated only when
      // repeating it is harmless: GET, PUT (carries its resourceVersion)
      // and a JSON merge patch (RFC 7386: applying it twice is applying it
      // once; e.g. PatchAnnotation's network-status write).
      const bool idempotent =
          verb == "GET" || verb == "PUT" ||
          (verb == "PATCH" && content_type == "application/merge-patch+json");
      if (!not_sent && !idempotent) return r;
    }
    clock.SleepFor(wait);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<json> Client::DoJson(const std::string& verb,
                                    const std::string& path,
                                    const std::string& query,
                                    const std::string& content_type,
                                    const std::string& body, size_t max_bytes) {
  SK_ASSIGN_OR_RETURN(Response r,
                      Do(verb, path, query, content_type, body, max_bytes));
  if (r.status < 200 || r.status >= 300)
    return HttpError(verb, path, r.status, r.body);
  absl::StatusOr<json> j =
      ParseJsonBounded(r.body, {.max_depth = 64, .max_bytes = max_bytes});
  if (!j.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        verb, " ", path, ": bad response: ", j.status().message()));
  }
  return j;
}

absl::StatusOr<json> Client::Get(const std::string& path) {
  return DoJson("GET", path, "", "", "", options_.max_object_bytes);
}

namespace {
std::string ListQuery(CURL* esc, const ListOptions& o) {
  std::vector<std::string> parts;
  if (o.limit > 0) parts.push_back(absl::StrCat("limit=", o.limit));
  if (!o.continue_token.empty())
    parts.push_back("continue=" + Escape(esc, o.continue_token));
  if (!o.field_selector.empty())
    parts.push_back("fieldSelector=" + Escape(esc, o.field_selector));
  if (!o.label_selector.empty())
    parts.push_back("labelSelector=" + Escape(esc, o.label_selector));
  if (!o.resource_version.empty()) {
    parts.push_back("resourceVersion=" + Escape(esc, o.resource_version));
  }
  std::string q;
  for (const std::string& p : parts)
    absl::StrAppend(&q, q.empty() ? "" : "&", p);
  return q;
}
}  // namespace

absl::StatusOr<ListResult> Client::List(const std::string& path,
                                        const ListOptions& options) {
  std::unique_ptr<CURL, CurlDeleter> esc(curl_easy_init());
  SK_ASSIGN_OR_RETURN(json list,
                      DoJson("GET", path, ListQuery(esc.get(), options), "", "",
                             options_.max_list_bytes));
  ListResult out;
  if (!list.is_object() ||
      !(list["items"].is_array() || list["items"].is_null())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LIST ", path, ": the response is not a list (no items array)"));
  }
  if (list["items"].is_array()) {
    out.items.reserve(list["items"].size());
    for (json& item : list["items"]) out.items.push_back(std::move(item));
  }
  const json& md = list["metadata"];
  if (md.is_object()) {
    if (md.contains("resourceVersion") && md["resourceVersion"].is_string()) {
      out.resource_version = md["resourceVersion"].get<std::string>();
    }
    if (md.contains("continue") && md["continue"].is_string()) {
      out.continue_token = md["continue"].get<std::string>();
    }
  }
  return out;
}

absl::StatusOr<ListResult> Client::ListAll(const std::string& path,
                                           ListOptions options) {
  ListResult all;
  constexpr int kMaxPages = 100000;
  for (int page = 0; page < kMaxPages; ++page) {
    SK_ASSIGN_OR_RETURN(ListResult r, List(path, options));
    if (page == 0) all.resource_version = r.resource_version;
    for (json& item : r.items) all.items.push_back(std::move(item));
    if (r.continue_token.empty()) return all;
    options.continue_token = r.continue_token;
    options.resource_version.clear();  // the token pins the snapshot
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("LIST ", path, ": more than ", kMaxPages, " pages"));
}

absl::Status Client::Watch(const std::string& path, const WatchOptions& options,
                           const std::function<bool(WatchEvent&)>& on_event) {
  std::unique_ptr<CURL, CurlDeleter> esc(curl_easy_init());
  std::string q = "watch=1";
  if (!options.resource_version.empty()) {
    absl::StrAppend(
        &q, "&resourceVersion=", Escape(esc.get(), options.resource_version));
  }
  if (options.allow_bookmarks) absl::StrAppend(&q, "&allowWatchBookmarks=true");
  if (options.timeout_seconds > 0)
    absl::StrAppend(&q, "&timeoutSeconds=", options.timeout_seconds);
  if (!options.field_selector.empty()) {
    absl::StrAppend(
        &q, "&fieldSelector=", Escape(esc.get(), options.field_selector));
  }
  if (!options.label_selector.empty()) {
    absl::StrAppend(
        &q, "&labelSelector=", Escape(esc.get(), options.label_selector));
  }
  Transfer t;
  t.watch = true;
  t.max_bytes = size_t{1} << 20;  // an error body
  t.max_event_bytes = options_.max_event_bytes;
  t.on_event = &on_event;
  t.cancel = options.cancel;
  long http = 0;
  SK_RETURN_IF_ERROR(Perform(*pool_, config_, options_, *token_, "GET", path, q,
                             "", "", &t, &http));
  if (http != 200) return HttpError("WATCH", path, http, t.body);
  if (!t.watch_error.ok()) return t.watch_error;
  if (!t.stopped && !t.line.empty()) {
    // A last event without its newline.
    std::string line = std::move(t.line);
    t.line.clear();
    if (!DispatchLine(&t, line) && !t.stopped) return t.watch_error;
  }
  return absl::OkStatus();
}

absl::StatusOr<json> Client::Patch(const std::string& path, PatchType type,
                                   const json& patch) {
  return DoJson("PATCH", path, "", PatchContentType(type), patch.dump(),
                options_.max_object_bytes);
}

absl::StatusOr<json> Client::Put(const std::string& path, const json& object) {
  return DoJson("PUT", path, "", "application/json", object.dump(),
                options_.max_object_bytes);
}

absl::StatusOr<json> Client::Create(const std::string& collection_path,
                                    const json& object) {
  return DoJson("POST", collection_path, "", "application/json", object.dump(),
                options_.max_object_bytes);
}

absl::Status Client::Delete(const std::string& path) {
  return DoJson("DELETE", path, "", "", "", options_.max_object_bytes).status();
}

absl::StatusOr<json> Client::Update(
    const std::string& path, const std::function<absl::Status(json&)>& mutate,
    int max_attempts) {
  max_attempts = std::max(1, max_attempts);
  absl::Status last;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    SK_ASSIGN_OR_RETURN(json obj, Get(path));
    SK_RETURN_IF_ERROR(mutate(obj));
    absl::StatusOr<json> put = Put(path, obj);
    if (put.ok() || put.status().code() != absl::StatusCode::kAborted)
      return put;
    last = put.status();
  }
  return absl::AbortedError(absl::StrCat(last.message(), " (gave up after ",
                                         max_attempts,
                                         " conflicting updates)"));
}

namespace {
json AnnotationPatch(const std::string& key,
                     const std::optional<std::string>& value) {
  json v = value.has_value() ? json(*value) : json(nullptr);
  return {{"metadata", {{"annotations", {{key, v}}}}}};
}
std::string WithSubresource(const std::string& object_path,
                            const std::string& subresource) {
  return subresource.empty() ? object_path : object_path + "/" + subresource;
}
}  // namespace

absl::StatusOr<json> Client::PatchAnnotation(
    const std::string& object_path, const std::string& subresource,
    const std::string& key, const std::optional<std::string>& value) {
  return Patch(WithSubresource(object_path, subresource), PatchType::kMerge,
               AnnotationPatch(key, value));
}

absl::Status Client::SetAnnotation(const std::string& object_path,
                                   const std::string& subresource,
                                   const std::string& key,
                                   const std::optional<std::string>& value) {
  const std::string path = WithSubresource(object_path, subresource);
  SK_ASSIGN_OR_RETURN(
      Response r,
      Do("PATCH", path, "", PatchContentType(PatchType::kMerge),
         AnnotationPatch(key, value).dump(), options_.max_object_bytes));
  if (r.status < 200 || r.status >= 300)
    return HttpError("PATCH", path, r.status, r.body);
  return absl::OkStatus();
}

}  // namespace sk::kube
