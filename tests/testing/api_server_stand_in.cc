#include "tests/testing/api_server_stand_in.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/kube/client.h"

namespace sk::testing {
namespace {

using nlohmann::json;

constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kMaxBodyBytes = 8 << 20;

// A parsed REST path: <prefix>/[namespaces/<ns>/]<resource>[/<name>[/<sub>]].
struct Ref {
  std::string prefix;  // "/api/v1" or "/apis/<group>/<version>"
  std::string ns;
  std::string resource;
  std::string name;
  std::string sub;
  bool valid = false;

  std::string ObjectPath() const {
    std::string p = prefix;
    if (!ns.empty()) absl::StrAppend(&p, "/namespaces/", ns);
    absl::StrAppend(&p, "/", resource, "/", name);
    return p;
  }
};

Ref ParseRef(const std::string& path) {
  Ref r;
  std::vector<std::string> seg = absl::StrSplit(path, '/', absl::SkipEmpty());
  size_t i = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    r.prefix = absl::StrCat("/api/", seg[1]);
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    r.prefix = absl::StrCat("/apis/", seg[1], "/", seg[2]);
    i = 3;
  } else {
    return r;
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    r.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return r;
  r.resource = rest[0];
  if (rest.size() >= 2) r.name = rest[1];
  if (rest.size() == 3) r.sub = rest[2];
  r.valid = true;
  return r;
}

std::string KindFor(const std::string& resource) {
  static const std::map<std::string, std::string> kinds = {
      {"pods", "Pod"},
      {"nodes", "Node"},
      {"namespaces", "Namespace"},
      {"configmaps", "ConfigMap"},
      {"secrets", "Secret"},
      {"services", "Service"},
      {"network-attachment-definitions", "NetworkAttachmentDefinition"},
      {"virtualmachineinstances", "VirtualMachineInstance"},
      {"leases", "Lease"},
  };
  auto it = kinds.find(resource);
  return it != kinds.end() ? it->second : "Object";
}

std::string ApiVersionFor(const std::string& prefix) {
  if (prefix.rfind("/api/", 0) == 0) return prefix.substr(5);
  return prefix.substr(6);  // "/apis/" + group/version
}

std::string ReasonFor(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

json StatusBody(int code, const std::string& message,
                const std::string& reason = "") {
  return json{{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", json::object()},
              {"status", "Failure"},
              {"message", message},
              {"reason", reason.empty() ? ReasonFor(code) : reason},
              {"code", code}};
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (absl::SimpleHexAtoi(std::string(s.substr(i + 1, 2)), &v)) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(const std::string& q) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(q, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    out[PercentDecode(p.first)] = PercentDecode(p.second);
  }
  return out;
}

const json* FieldAt(const json& obj, const std::string& dotted) {
  const json* cur = &obj;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(std::string(part));
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

// "a=b,c!=d" over string fields; empty matches all.
bool MatchesFieldSelector(const json& obj, const std::string& selector) {
  for (absl::string_view term :
       absl::StrSplit(selector, ',', absl::SkipEmpty())) {
    bool negate = false;
    std::pair<std::string, std::string> kv;
    if (size_t p = term.find("!="); p != absl::string_view::npos) {
      negate = true;
      kv = {std::string(term.substr(0, p)), std::string(term.substr(p + 2))};
    } else {
      kv = absl::StrSplit(term, absl::MaxSplits(absl::ByAnyChar("="), 1));
      kv.second = std::string(absl::StripPrefix(kv.second, "="));
    }
    const json* f = FieldAt(obj, kv.first);
    std::string v =
        (f != nullptr && f->is_string()) ? f->get<std::string>() : "";
    if ((v == kv.second) == negate) return false;
  }
  return true;
}

bool MatchesLabelSelector(const json& obj, const std::string& selector) {
  for (absl::string_view term :
       absl::StrSplit(selector, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(term, absl::MaxSplits('=', 1));
    const json* labels = FieldAt(obj, "metadata.labels");
    if (labels == nullptr || !labels->is_object()) return false;
    auto it = labels->find(kv.first);
    if (it == labels->end() || !it->is_string() ||
        it->get<std::string>() != kv.second)
      return false;
  }
  return true;
}

// Whether object `o` (at `ref`) is in collection `coll`.
bool InCollection(const Ref& o, const Ref& coll) {
  return o.prefix == coll.prefix && o.resource == coll.resource &&
         (coll.ns.empty() || coll.ns == o.ns);
}

struct Event {
  int64_t rv;
  std::string type;
  Ref ref;
  json object;
};

// One TLS connection's I/O.
class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Conn() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ::close(fd_);
  }
  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads more bytes into buf_; false on EOF/error.
  bool Fill() {
    char tmp[16384];
    int n = SSL_read(ssl_, tmp, sizeof(tmp));
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  // For a streaming response: true when the peer closed or reset the
  // socket, or sent anything (a TLS close_notify; a watching client sends
  // nothing else).
  bool PeerClosed() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
  std::string& buf() { return buf_; }
  SSL* ssl() { return ssl_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL* ssl_;
  std::string buf_;
};

struct HttpRequest {
  std::string method, path, query, body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct HttpResponse {
  int status = 200;
  json body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace

struct ApiServerStandIn::Impl {
  TestPki pki;
  Options options;
  SSL_CTX* ctx = nullptr;
  int listen_fd = -1;
  int wake_pipe[2] = {-1, -1};
  std::thread acceptor;

  mutable std::mutex mu;
  mutable std::condition_variable cv;  // store changes, watch events, stop
  bool stopping = false;
  int64_t rv = 1;
  std::map<std::string, std::pair<Ref, json>> objects;  // by object path
  std::deque<Event> events;                             // the event history
  int64_t compacted_rv = 0;
  GoneMode gone_mode = GoneMode::kErrorEvent;
  uint64_t expire_generation = 0;
  uint64_t bookmark_generation = 0;
  uint64_t close_generation = 0;
  int watches = 0;
  int accepted = 0;  // TLS connections accepted so far
  struct Failure {
    int remaining;
    int status;
    int retry_after;
    std::string path_substr;
    std::string method;
  };
  std::vector<Failure> failures;
  std::map<std::string, int> eviction_refusals;  // pod path -> 429s left
  bool evictions_delete = true;
  std::chrono::milliseconds delay{0};
  std::vector<Request> log;
  std::list<std::thread> threads;
  std::set<int> open_fds;

  ~Impl() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }

  // Listens on 127.0.0.1:`port` (0: any) and starts the acceptor; the port.
  absl::StatusOr<int> Listen(int port);
  void AcceptLoop();
  void Serve(int fd);
  bool ReadRequest(Conn& c, HttpRequest* req, int* error_status);
  std::string Authenticate(Conn& c, const HttpRequest& req);
  void Respond(Conn& c, const HttpResponse& r, bool keep_alive);
  // Returns false when the connection must close after it.
  bool Handle(Conn& c, const HttpRequest& req, Request* logged);
  void LogThenRespond(Conn& c, const HttpResponse& r, bool keep_alive,
                      Request* logged);
  HttpResponse HandleRest(const HttpRequest& req, const Ref& ref,
                          const std::map<std::string, std::string>& q);
  void Watch(Conn& c, const Ref& ref,
             const std::map<std::string, std::string>& q, Request* logged);

  // Under mu.
  int64_t PutLocked(const Ref& ref, json obj, const std::string& type);
  bool DeleteLocked(const std::string& path);
  void EmitLocked(const std::string& type, const Ref& ref, const json& obj) {
    events.push_back({rv, type, ref, obj});
    if (events.size() > 10000) events.pop_front();
    cv.notify_all();
  }
};

int64_t ApiServerStandIn::Impl::PutLocked(const Ref& ref, json obj,
                                          const std::string& type) {
  if (!obj.is_object()) obj = json::object();
  json& md = obj["metadata"];
  if (!md.is_object()) md = json::object();
  md["name"] = ref.name;
  if (!ref.ns.empty()) md["namespace"] = ref.ns;
  if (!md.contains("uid"))
    md["uid"] = absl::StrCat("uid-", rv + 1, "-", ref.name);
  if (!obj.contains("kind")) obj["kind"] = KindFor(ref.resource);
  if (!obj.contains("apiVersion"))
    obj["apiVersion"] = ApiVersionFor(ref.prefix);
  ++rv;
  md["resourceVersion"] = std::to_string(rv);
  std::string path = ref.ObjectPath();
  std::string t = type;
  if (t.empty()) t = objects.count(path) != 0 ? "MODIFIED" : "ADDED";
  objects[path] = {ref, obj};
  EmitLocked(t, ref, obj);
  return rv;
}

bool ApiServerStandIn::Impl::DeleteLocked(const std::string& path) {
  auto it = objects.find(path);
  if (it == objects.end()) return false;
  Ref ref = it->second.first;
  json obj = std::move(it->second.second);
  objects.erase(it);
  ++rv;
  obj["metadata"]["resourceVersion"] = std::to_string(rv);
  EmitLocked("DELETED", ref, obj);
  return true;
}

void ApiServerStandIn::Impl::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> l(mu);
    if (stopping) {
      ::close(fd);
      return;
    }
    open_fds.insert(fd);
    threads.emplace_back([this, fd] { Serve(fd); });
  }
}

bool ApiServerStandIn::Impl::ReadRequest(Conn& c, HttpRequest* req,
                                         int* error_status) {
  *error_status = 0;
  size_t end;
  while ((end = c.buf().find("\r\n\r\n")) == std::string::npos) {
    if (c.buf().size() > kMaxHeaderBytes) {
      *error_status = 431;
      return false;
    }
    if (!c.Fill()) return false;
  }
  std::string head = c.buf().substr(0, end);
  c.buf().erase(0, end + 4);
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  std::vector<std::string> start = absl::StrSplit(lines[0], ' ');
  if (start.size() != 3) {
    *error_status = 400;
    return false;
  }
  req->method = start[0];
  std::pair<std::string, std::string> pq =
      absl::StrSplit(start[1], absl::MaxSplits('?', 1));
  req->path = pq.first;
  req->query = pq.second;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    req->headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  size_t len = 0;
  if (auto it = req->headers.find("content-length"); it != req->headers.end()) {
    if (!absl::SimpleAtoi(it->second, &len) || len > kMaxBodyBytes) {
      *error_status = 413;
      return false;
    }
  }
  while (c.buf().size() < len) {
    if (!c.Fill()) return false;
  }
  req->body = c.buf().substr(0, len);
  c.buf().erase(0, len);
  return true;
}

std::string ApiServerStandIn::Impl::Authenticate(Conn& c,
                                                 const HttpRequest& req) {
  if (auto it = req.headers.find("authorization"); it != req.headers.end()) {
    absl::string_view v = it->second;
    if (absl::ConsumePrefix(&v, "Bearer ")) {
      auto t = options.tokens.find(std::string(v));
      if (t != options.tokens.end()) return t->second;
    }
    return "";  // a wrong token is not rescued by a certificate
  }
  if (!options.accept_client_certs) return "";
  X509* peer = SSL_get1_peer_certificate(c.ssl());
  if (peer == nullptr) return "";
  std::string user;
  if (SSL_get_verify_result(c.ssl()) == X509_V_OK) {
    char cn[256] = {0};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
                                  cn, sizeof(cn)) > 0) {
      user = cn;
    }
  }
  X509_free(peer);
  return user;
}

void ApiServerStandIn::Impl::Respond(Conn& c, const HttpResponse& r,
                                     bool keep_alive) {
  std::string body = r.body.is_null() ? "" : r.body.dump();
  std::string out = absl::StrCat(
      "HTTP/1.1 ", r.status, " ", kube::HttpReasonPhrase(r.status),
      "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
      "\r\n");
  for (const auto& [k, v] : r.headers)
    absl::StrAppend(&out, k, ": ", v, "\r\n");
  if (!keep_alive) out += "Connection: close\r\n";
  absl::StrAppend(&out, "\r\n", body);
  (void)c.WriteAll(out);
}

void ApiServerStandIn::Impl::Serve(int fd) {
  {
    SSL* ssl = SSL_new(ctx);
    Conn c(fd, ssl);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      {
        std::lock_guard<std::mutex> l(mu);
        ++accepted;
      }
      while (true) {
        HttpRequest req;
        int err = 0;
        if (!ReadRequest(c, &req, &err)) {
          if (err != 0) {
            HttpResponse r{err, StatusBody(err, "bad request"), {}};
            Respond(c, r, false);
          }
          break;
        }
        Request logged;
        logged.method = req.method;
        logged.path = req.path;
        logged.query = req.query;
        if (auto it = req.headers.find("content-type");
            it != req.headers.end()) {
          logged.content_type = it->second;
        }
        bool keep = Handle(c, req, &logged);
        if (!logged.method.empty()) {  // a watch logs itself as it starts
          std::lock_guard<std::mutex> l(mu);
          log.push_back(logged);
        }
        if (!keep) break;
      }
      SSL_shutdown(ssl);
    }
    // Forget the fd before ~Conn closes it, so Stop() never shuts down a
    // reused descriptor.
    std::lock_guard<std::mutex> l(mu);
    open_fds.erase(fd);
  }
}

bool ApiServerStandIn::Impl::Handle(Conn& c, const HttpRequest& req,
                                    Request* logged) {
  std::chrono::milliseconds d;
  {
    std::lock_guard<std::mutex> l(mu);
    d = delay;
  }
  if (d.count() > 0) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, d, [&] { return stopping; });
  }
  bool keep_alive = true;
  if (auto it = req.headers.find("connection");
      it != req.headers.end() && absl::AsciiStrToLower(it->second) == "close") {
    keep_alive = false;
  }
  logged->user = Authenticate(c, req);
  if (logged->user.empty()) {
    HttpResponse r{401, StatusBody(401, "Unauthorized"), {}};
    logged->status = 401;
    LogThenRespond(c, r, keep_alive, logged);
    return keep_alive;
  }
  {
    std::lock_guard<std::mutex> l(mu);
    for (auto it = failures.begin(); it != failures.end(); ++it) {
      if (req.path.find(it->path_substr) == std::string::npos) continue;
      if (!it->method.empty() && it->method != req.method) continue;
      if (it->status == 0) {
        if (--it->remaining <= 0) failures.erase(it);
        logged->status = 0;
        log.push_back(*logged);  // mu is held
        logged->method.clear();
        return false;  // close without answering
      }
      HttpResponse r{
          it->status,
          StatusBody(it->status, absl::StrCat("injected failure ", it->status)),
          {}};
      if (it->status == 409) {
        r.body =
            StatusBody(409,
                       "Operation cannot be fulfilled: the object has been "
                       "modified; please apply your changes to the latest "
                       "version and try again");
      }
      if (it->retry_after >= 0) {
        r.headers.emplace_back("Retry-After", std::to_string(it->retry_after));
      }
      if (--it->remaining <= 0) failures.erase(it);
      logged->status = r.status;
      log.push_back(*logged);  // mu is held
      logged->method.clear();
      Respond(c, r, keep_alive);
      return keep_alive;
    }
  }
  Ref ref = ParseRef(req.path);
  std::map<std::string, std::string> q = ParseQuery(req.query);
  if (ref.valid && req.method == "GET" && ref.name.empty() &&
      (q["watch"] == "1" || q["watch"] == "true")) {
    Watch(c, ref, q, logged);
    return false;
  }
  HttpResponse r;
  if (!ref.valid) {
    r = {404,
         StatusBody(404, "the server could not find the requested resource"),
         {}};
  } else {
    r = HandleRest(req, ref, q);
  }
  logged->status = r.status;
  LogThenRespond(c, r, keep_alive, logged);
  return keep_alive;
}

// The request is in the log before the client can see the answer (on a
// kept-alive connection the client's next step may read the log at once).
void ApiServerStandIn::Impl::LogThenRespond(Conn& c, const HttpResponse& r,
                                            bool keep_alive, Request* logged) {
  {
    std::lock_guard<std::mutex> l(mu);
    log.push_back(*logged);
  }
  logged->method.clear();
  Respond(c, r, keep_alive);
}

HttpResponse ApiServerStandIn::Impl::HandleRest(
    const HttpRequest& req, const Ref& ref,
    const std::map<std::string, std::string>& q) {
  auto qget = [&](const std::string& k) {
    auto it = q.find(k);
    return it == q.end() ? std::string() : it->second;
  };
  auto not_found = [&](const std::string& name) {
    HttpResponse r{404,
                   StatusBody(404, absl::StrCat(ref.resource, " \"", name,
                                                "\" not found")),
                   {}};
    r.body["details"] = {{"name", name}, {"kind", ref.resource}};
    return r;
  };
  std::lock_guard<std::mutex> l(mu);
  if (ref.name.empty()) {
    if (req.method == "GET") {
      std::string fs = qget("fieldSelector"), ls = qget("labelSelector");
      size_t limit = 0;
      if (!qget("limit").empty() && !absl::SimpleAtoi(qget("limit"), &limit)) {
        return {400, StatusBody(400, "invalid limit"), {}};
      }
      std::string after;
      int64_t list_rv = rv;
      if (std::string cont = qget("continue"); !cont.empty()) {
        std::pair<std::string, std::string> p =
            absl::StrSplit(cont, absl::MaxSplits('|', 1));
        if (!absl::SimpleAtoi(p.first, &list_rv) || p.second.empty()) {
          return {400, StatusBody(400, "invalid continue token"), {}};
        }
        after = p.second;
      }
      json items = json::array();
      std::string cont, last_key;
      auto it = after.empty() ? objects.begin() : objects.upper_bound(after);
      for (; it != objects.end(); ++it) {
        if (!InCollection(it->second.first, ref)) continue;
        if (!MatchesFieldSelector(it->second.second, fs)) continue;
        if (!MatchesLabelSelector(it->second.second, ls)) continue;
        if (limit > 0 && items.size() == limit) {
          cont = absl::StrCat(list_rv, "|", last_key);
          break;
        }
        items.push_back(it->second.second);
        last_key = it->first;
      }
      // `cont` is set only when a further matching item exists (look-ahead).
      json md = {{"resourceVersion", std::to_string(list_rv)}};
      if (!cont.empty()) md["continue"] = cont;
      return {200,
              {{"kind", KindFor(ref.resource) + "List"},
               {"apiVersion", ApiVersionFor(ref.prefix)},
               {"metadata", md},
               {"items", items}},
              {}};
    }
    if (req.method == "POST") {
      auto body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return {400, StatusBody(400, "request body is not a JSON object"), {}};
      }
      Ref obj_ref = ref;
      if (body.contains("metadata") && body["metadata"].is_object() &&
          body["metadata"].contains("name") &&
          body["metadata"]["name"].is_string()) {
        obj_ref.name = body["metadata"]["name"].get<std::string>();
      }
      if (obj_ref.name.empty())
        return {422, StatusBody(422, "metadata.name: Required value"), {}};
      if (objects.count(obj_ref.ObjectPath()) != 0) {
        return {409,
                StatusBody(409,
                           absl::StrCat(ref.resource, " \"", obj_ref.name,
                                        "\" already exists"),
                           "AlreadyExists"),
                {}};
      }
      if (body["metadata"].is_object())
        body["metadata"].erase("resourceVersion");
      PutLocked(obj_ref, body, "ADDED");
      return {201, objects[obj_ref.ObjectPath()].second, {}};
    }
    return {405, StatusBody(405, "method not allowed on a collection"), {}};
  }
  if (ref.sub == "eviction" && ref.resource == "pods") {
    // policy/v1 Eviction (pods/eviction): 429 while a PodDisruptionBudget
    // would be violated, else the pod is deleted.
    if (req.method != "POST") {
      return {405, StatusBody(405, "method not allowed on pods/eviction"), {}};
    }
    std::string path = ref.ObjectPath();
    if (objects.count(path) == 0) return not_found(ref.name);
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() ||
        body.value("kind", "") != "Eviction") {
      return {400, StatusBody(400, "request body is not an Eviction"), {}};
    }
    if (auto r = eviction_refusals.find(path);
        r != eviction_refusals.end() && r->second > 0) {
      --r->second;
      HttpResponse resp{
          429,
          StatusBody(429,
                     "Cannot evict pod as it would violate the pod's "
                     "disruption budget.",
                     "TooManyRequests"),
          {}};
      resp.body["details"] = {
          {"causes", json::array({{{"reason", "DisruptionBudget"},
                                   {"message",
                                    "The disruption budget pdb needs 1 "
                                    "healthy pods and has 1 currently"}}})}};
      return resp;
    }
    if (evictions_delete) DeleteLocked(path);
    return {201,
            {{"kind", "Status"},
             {"apiVersion", "v1"},
             {"metadata", json::object()},
             {"status", "Success"}},
            {}};
  }
  if (!ref.sub.empty() && ref.sub != "status") {
    return {404,
            StatusBody(404, "the server could not find the requested resource"),
            {}};
  }
  std::string path = ref.ObjectPath();
  auto it = objects.find(path);
  if (it == objects.end()) return not_found(ref.name);
  json current = it->second.second;
  if (req.method == "GET") return {200, current, {}};
  if (req.method == "DELETE") {
    DeleteLocked(path);
    return {200, current, {}};
  }
  json updated;
  if (req.method == "PUT") {
    updated = json::parse(req.body, nullptr, false);
    if (updated.is_discarded() || !updated.is_object()) {
      return {400, StatusBody(400, "request body is not a JSON object"), {}};
    }
    const json* want = FieldAt(updated, "metadata.resourceVersion");
    if (want != nullptr && want->is_string() &&
        !want->get<std::string>().empty() &&
        want->get<std::string>() != current["metadata"]["resourceVersion"]) {
      return {409,
              StatusBody(
                  409, absl::StrCat("Operation cannot be fulfilled on ",
                                    ref.resource, " \"", ref.name,
                                    "\": the object has been modified; please "
                                    "apply your changes to the latest version "
                                    "and try again")),
              {}};
    }
  } else if (req.method == "PATCH") {
    std::string ct;
    if (auto h = req.headers.find("content-type"); h != req.headers.end())
      ct = h->second;
    json patch = json::parse(req.body, nullptr, false);
    if (patch.is_discarded())
      return {400, StatusBody(400, "patch is not JSON"), {}};
    updated = current;
    if (ct == "application/merge-patch+json" ||
        ct == "application/strategic-merge-patch+json") {
      updated.merge_patch(patch);
    } else if (ct == "application/json-patch+json") {
      try {
        updated = current.patch(patch);
      } catch (const std::exception& e) {
        return {422,
                StatusBody(422, absl::StrCat("JSON patch failed: ", e.what())),
                {}};
      }
    } else {
      return {415,
              StatusBody(
                  415, absl::StrCat("the body of the request was in an unknown "
                                    "format - accepted media types include: "
                                    "application/json-patch+json, "
                                    "application/merge-patch+json, "
                                    "application/strategic-merge-patch+json")),
              {}};
    }
  } else {
    return {405, StatusBody(405, "method not allowed"), {}};
  }
  if (ref.sub == "status") {
    // The status subresource never changes spec.
    if (current.contains("spec")) {
      updated["spec"] = current["spec"];
    } else {
      updated.erase("spec");
    }
  }
  PutLocked(ref, updated, "MODIFIED");
  return {200, objects[path].second, {}};
}

void ApiServerStandIn::Impl::Watch(Conn& c, const Ref& ref,
                                   const std::map<std::string, std::string>& q,
                                   Request* logged) {
  auto qget = [&](const std::string& k) {
    auto it = q.find(k);
    return it == q.end() ? std::string() : it->second;
  };
  bool bookmarks = qget("allowWatchBookmarks") == "true" ||
                   qget("allowWatchBookmarks") == "1";
  std::string fs = qget("fieldSelector"), ls = qget("labelSelector");
  int64_t from = 0;
  if (!qget("resourceVersion").empty() &&
      !absl::SimpleAtoi(qget("resourceVersion"), &from)) {
    HttpResponse r{400, StatusBody(400, "invalid resourceVersion"), {}};
    logged->status = 400;
    Respond(c, r, false);
    return;
  }
  int timeout_s = 0;
  if (!qget("timeoutSeconds").empty())
    (void)absl::SimpleAtoi(qget("timeoutSeconds"), &timeout_s);
  auto deadline = std::chrono::steady_clock::now() +
                  (timeout_s > 0 ? std::chrono::seconds(timeout_s)
                                 : std::chrono::hours(24));

  std::unique_lock<std::mutex> l(mu);
  bool too_old = from > 0 && from < compacted_rv;
  if (too_old && gone_mode == GoneMode::kHttpStatus) {
    HttpResponse r{410,
                   StatusBody(410, absl::StrCat("too old resource version: ",
                                                from, " (", compacted_rv, ")")),
                   {}};
    logged->status = 410;
    log.push_back(*logged);
    logged->method.clear();
    l.unlock();
    Respond(c, r, false);
    return;
  }
  logged->status = 200;
  log.push_back(*logged);
  logged->method.clear();
  // Knob generations are taken as the watch opens, so a knob used after
  // WaitForWatches() always reaches this watch.
  uint64_t expire_gen = expire_generation, bookmark_gen = bookmark_generation;
  uint64_t close_gen = close_generation;
  ++watches;
  cv.notify_all();
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  auto send_line = [&](const json& ev) {
    std::string line = ev.dump() + "\n";
    std::string chunk =
        absl::StrCat(absl::Hex(line.size()), "\r\n", line, "\r\n");
    l.unlock();
    bool ok = c.WriteAll(chunk);
    l.lock();
    return ok;
  };
  auto matches = [&](const Event& e) {
    return InCollection(e.ref, ref) && MatchesFieldSelector(e.object, fs) &&
           MatchesLabelSelector(e.object, ls);
  };
  l.unlock();
  bool ok = c.WriteAll(head);
  l.lock();
  int64_t cursor = from;
  if (ok && too_old) {
    json ev = {{"type", "ERROR"},
               {"object",
                StatusBody(410, absl::StrCat("too old resource version: ", from,
                                             " (", compacted_rv, ")"))}};
    (void)send_line(ev);
    ok = false;
  }
  if (ok && from == 0) {
    // No resourceVersion: the current state first, as synthetic ADDED events.
    std::vector<json> initial;
    for (const auto& [p, entry] : objects) {
      Event e{0, "ADDED", entry.first, entry.second};
      if (matches(e)) initial.push_back(entry.second);
    }
    cursor = rv;
    for (const json& o : initial) {
      if (!(ok = send_line({{"type", "ADDED"}, {"object", o}}))) break;
    }
  }
  while (ok && !stopping) {
    // Everything after the cursor, in order.
    std::vector<Event> pending;
    for (const Event& e : events) {
      if (e.rv > cursor && matches(e)) pending.push_back(e);
    }
    for (const Event& e : events) cursor = std::max(cursor, e.rv);
    for (const Event& e : pending) {
      if (!(ok = send_line({{"type", e.type}, {"object", e.object}}))) break;
    }
    if (!ok) break;
    if (expire_generation != expire_gen) {
      (void)send_line(
          {{"type", "ERROR"},
           {"object", StatusBody(410, "too old resource version", "Expired")}});
      break;
    }
    if (close_generation != close_gen) break;
    if (bookmark_generation != bookmark_gen) {
      bookmark_gen = bookmark_generation;
      if (bookmarks) {
        json obj = {{"kind", KindFor(ref.resource)},
                    {"apiVersion", ApiVersionFor(ref.prefix)},
                    {"metadata", {{"resourceVersion", std::to_string(rv)}}}};
        cursor = std::max(cursor, rv);
        if (!(ok = send_line({{"type", "BOOKMARK"}, {"object", obj}}))) break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    int64_t seen_rv = rv;
    cv.wait_for(l, std::chrono::milliseconds(50), [&] {
      return stopping || rv != seen_rv || expire_generation != expire_gen ||
             close_generation != close_gen ||
             bookmark_generation != bookmark_gen;
    });
    if (!stopping && rv == seen_rv) {
      l.unlock();
      bool closed = c.PeerClosed();
      l.lock();
      if (closed) break;
    }
  }
  if (!stopping) {
    l.unlock();
    (void)c.WriteAll("0\r\n\r\n");
    l.lock();
  }
  --watches;
  cv.notify_all();
}

ApiServerStandIn::ApiServerStandIn(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<ApiServerStandIn>> ApiServerStandIn::Start(
    const TestPki& pki, Options options) {
  // A client that hangs up mid-response must not kill the test process.
  ::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->pki = pki;
  impl->options = std::move(options);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr)
    return absl::InternalError("api-server stand-in: SSL_CTX_new failed");
  impl->ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  {
    BIO* b = BIO_new_mem_buf(pki.server().cert_pem.data(),
                             static_cast<int>(pki.server().cert_pem.size()));
    X509* cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(pki.server().key_pem.data(),
                        static_cast<int>(pki.server().key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    bool ok = cert != nullptr && key != nullptr &&
              SSL_CTX_use_certificate(ctx, cert) == 1 &&
              SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok)
      return absl::InternalError(
          "api-server stand-in: loading the server key failed");
    b = BIO_new_mem_buf(pki.ca_pem().data(),
                        static_cast<int>(pki.ca_pem().size()));
    X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    if (ca == nullptr)
      return absl::InternalError("api-server stand-in: bad CA PEM");
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
    X509_free(ca);
    // Ask for a client certificate but do not require one (tokens also work);
    // Authenticate checks the verification result.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER,
                       [](int, X509_STORE_CTX*) { return 1; });
  }
  // Clients resume TLS sessions on new connections (libcurl does, as Go's
  // client does); with peer verification on, OpenSSL refuses a resumption
  // (alert "internal error") unless the session id context is set.
  static const unsigned char kSessionContext[] = "sk-api-server-stand-in";
  SSL_CTX_set_session_id_context(ctx, kSessionContext,
                                 sizeof(kSessionContext) - 1);
  auto server =
      std::unique_ptr<ApiServerStandIn>(new ApiServerStandIn(std::move(impl)));
  absl::StatusOr<int> port = server->impl_->Listen(0);
  if (!port.ok()) return port.status();
  server->port_ = *port;
  return server;
}

absl::StatusOr<int> ApiServerStandIn::Impl::Listen(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("api-server stand-in: socket failed");
  // The connections a Stop() closed linger in TIME_WAIT on this port.
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(fd);
    return absl::InternalError(
        absl::StrCat("api-server stand-in: bind/listen on 127.0.0.1:", port,
                     " failed: ", std::strerror(err)));
  }
  {
    std::lock_guard<std::mutex> l(mu);
    listen_fd = fd;
    stopping = false;
  }
  acceptor = std::thread([this] { AcceptLoop(); });
  return static_cast<int>(ntohs(addr.sin_port));
}

absl::Status ApiServerStandIn::Restart() {
  Stop();
  absl::StatusOr<int> port = impl_->Listen(port_);
  if (!port.ok()) return port.status();
  return absl::OkStatus();
}

ApiServerStandIn::~ApiServerStandIn() { Stop(); }

void ApiServerStandIn::Stop() {
  Impl& d = *impl_;
  {
    std::lock_guard<std::mutex> l(d.mu);
    if (d.stopping && d.listen_fd < 0) return;
    d.stopping = true;
    for (int fd : d.open_fds) ::shutdown(fd, SHUT_RDWR);
    d.cv.notify_all();
  }
  if (d.wake_pipe[1] >= 0) (void)!::write(d.wake_pipe[1], "x", 1);
  if (d.acceptor.joinable()) d.acceptor.join();
  std::list<std::thread> threads;
  {
    std::lock_guard<std::mutex> l(d.mu);
    threads.swap(d.threads);
  }
  for (std::thread& t : threads) t.join();
  if (d.listen_fd >= 0) ::close(d.listen_fd);
  d.listen_fd = -1;
  for (int& p : d.wake_pipe) {
    if (p >= 0) ::close(p);
    p = -1;
  }
}

std::string ApiServerStandIn::url() const {
  return absl::StrCat("https://127.0.0.1:", port_);
}

int64_t ApiServerStandIn::Put(const std::string& path, nlohmann::json object) {
  Ref ref = ParseRef(path);
  if (!ref.valid || ref.name.empty() || !ref.sub.empty()) return 0;
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->PutLocked(ref, std::move(object), "");
}

bool ApiServerStandIn::Delete(const std::string& path) {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->DeleteLocked(ParseRef(path).ObjectPath());
}

std::optional<nlohmann::json> ApiServerStandIn::Get(
    const std::string& path) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->objects.find(ParseRef(path).ObjectPath());
  if (it == impl_->objects.end()) return std::nullopt;
  return it->second.second;
}

int64_t ApiServerStandIn::resource_version() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->rv;
}

void ApiServerStandIn::FailNext(int count, int http_status,
                                int retry_after_seconds,
                                const std::string& path_substr,
                                const std::string& method) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->failures.push_back(
      {count, http_status, retry_after_seconds, path_substr, method});
}

void ApiServerStandIn::RefuseEvictions(const std::string& pod_path, int count) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->eviction_refusals[ParseRef(pod_path).ObjectPath()] = count;
}

void ApiServerStandIn::SetEvictionDeletesPod(bool deletes) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->evictions_delete = deletes;
}

void ApiServerStandIn::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->delay = delay;
}

void ApiServerStandIn::SetCompactedResourceVersion(int64_t rv, GoneMode mode) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->compacted_rv = rv;
  impl_->gone_mode = mode;
}

void ApiServerStandIn::ExpireWatches() {
  std::lock_guard<std::mutex> l(impl_->mu);
  ++impl_->expire_generation;
  impl_->cv.notify_all();
}

void ApiServerStandIn::CloseWatches() {
  std::lock_guard<std::mutex> l(impl_->mu);
  ++impl_->close_generation;
  impl_->cv.notify_all();
}

void ApiServerStandIn::SendBookmarks() {
  std::lock_guard<std::mutex> l(impl_->mu);
  ++impl_->bookmark_generation;
  impl_->cv.notify_all();
}

int ApiServerStandIn::connections() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->accepted;
}

int ApiServerStandIn::open_watches() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->watches;
}

bool ApiServerStandIn::WaitForWatches(int n,
                                      std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(impl_->mu);
  return impl_->cv.wait_for(l, timeout, [&] { return impl_->watches >= n; });
}

std::vector<ApiServerStandIn::Request> ApiServerStandIn::requests() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->log;
}

void ApiServerStandIn::ClearRequests() {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->log.clear();
}

}  // namespace sk::testing
