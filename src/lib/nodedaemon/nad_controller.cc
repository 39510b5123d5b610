#include "lib/nodedaemon/nad_controller.h"

#include <map>
#include <set>
#include <thread>
#include <utility>

#include "lib/base/strings.h"
#include "lib/kube/informer.h"

namespace sk::nodedaemon {
namespace {

using nlohmann::json;

std::string StringAt(const json& j, const char* a, const char* b) {
  auto x = j.find(a);
  if (x == j.end() || !x->is_object()) return "";
  auto y = x->find(b);
  return y != x->end() && y->is_string() ? y->get<std::string>() : "";
}

std::string Annotation(const json& obj, const std::string& key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto a = m->find("annotations");
  if (a == m->end() || !a->is_object()) return "";
  auto v = a->find(key);
  return v != a->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string NadPath(const std::string& ns, const std::string& name = "") {
  std::string p =
      sk::StrCat(kNadGroupVersionPath, "/namespaces/", ns, "/", kNadResource);
  return name.empty() ? p : sk::StrCat(p, "/", name);
}

// What a pass compares: the config and the two annotations we render.
bool SameRendering(const json& have, const json& want) {
  constexpr const char* kKeys[] = {"k8s.v1.cni.cncf.io/resourceName",
                                   kOwnerRefAnnotation};
  for (const char* k : kKeys)
    if (Annotation(have, k) != Annotation(want, k)) return false;
  return StringAt(have, "spec", "config") == StringAt(want, "spec", "config");
}

// API object names go into request paths: RFC 1123 subdomains only (the
// API server's rule for NADs and namespaces' labels are stricter still).
bool IsObjectName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

NadController::NadController(kube::Client& client, NadControllerOptions options)
    : client_(client), opts_(std::move(options)) {}

std::string NadController::NetworkCollection() const {
  return sk::StrCat(kGroupVersionPath, "/namespaces/", opts_.namespace_name,
                    "/", kSriovNetworkResource);
}

void NadController::Log(std::string_view line) const {
  if (opts_.log) opts_.log(line);
}

NadReconcileResult NadController::Reconcile(const std::vector<json>& networks) {
  ++passes_;
  NadReconcileResult r;
  auto fail = [&](const absl::Status& s) {
    if (r.status.ok()) r.status = s;
  };
  const std::string owner_prefix =
      sk::StrCat(kOwnerRefKindPrefix, opts_.namespace_name, "/");
  // "ns/name" of the NAD -> the rendered object.
  std::map<std::string, json> want;
  // Owner-refs whose SriovNetwork exists but is invalid: their NADs stay.
  std::set<std::string> keep_owners;
  for (const json& obj : networks) {
    std::string name = StringAt(obj, "metadata", "name");
    std::string ns = StringAt(obj, "metadata", "namespace");
    if (ns.empty()) ns = opts_.namespace_name;
    std::string who = sk::StrCat("SriovNetwork ", ns, "/", name);
    absl::StatusOr<nodeconfig::SriovNetwork> net =
        nodeconfig::ParseSriovNetworkObject(obj, sk::StrCat(ns, "/", name));
    if (!net.ok()) {
      keep_owners.insert(sk::StrCat(kOwnerRefKindPrefix, ns, "/", name));
      r.errors.push_back(std::string(net.status().message()));
      continue;
    }
    json nad = nodeconfig::RenderNad(*net, opts_.nad);
    std::string target = StringAt(nad, "metadata", "namespace");
    if (!IsObjectName(name) || !IsObjectName(target)) {
      keep_owners.insert(sk::StrCat(kOwnerRefKindPrefix, ns, "/", name));
      r.errors.push_back(sk::StrCat(
          who, ": ",
          IsObjectName(name) ? "spec.networkNamespace" : "metadata.name",
          ": \"", IsObjectName(name) ? target : name,
          "\" is not a valid object name (RFC 1123 subdomain)"));
      continue;
    }
    std::string key = sk::StrCat(StringAt(nad, "metadata", "namespace"), "/",
                                 StringAt(nad, "metadata", "name"));
    if (auto [it, fresh] = want.emplace(key, nad); !fresh) {
      r.errors.push_back(
          sk::StrCat(who, ": NAD ", key, " is also rendered from ",
                     Annotation(it->second, kOwnerRefAnnotation), "; skipped"));
    }
  }
  absl::StatusOr<kube::ListResult> nads =
      client_.ListAll(sk::StrCat(kNadGroupVersionPath, "/", kNadResource));
  if (!nads.ok()) {
    r.status = nads.status();
    return r;
  }
  std::map<std::string, json> have;
  for (json& n : nads->items) {
    std::string key = sk::StrCat(StringAt(n, "metadata", "namespace"), "/",
                                 StringAt(n, "metadata", "name"));
    have.emplace(std::move(key), std::move(n));
  }
  auto lost = [&]() {
    if (Leading()) return false;
    fail(absl::AbortedError("leadership lost during the pass; stopped"));
    return true;
  };
  for (const auto& [key, nad] : want) {
    std::string ns = StringAt(nad, "metadata", "namespace");
    std::string name = StringAt(nad, "metadata", "name");
    std::string owner = Annotation(nad, kOwnerRefAnnotation);
    auto h = have.find(key);
    if (h != have.end()) {
      std::string their = Annotation(h->second, kOwnerRefAnnotation);
      if (their != owner) {
        r.errors.push_back(sk::StrCat(
            owner.substr(std::string_view(kOwnerRefKindPrefix).size()),
            ": NAD ", key, " exists and is not ours (", kOwnerRefAnnotation,
            " \"", their, "\"); left alone"));
        continue;
      }
      if (SameRendering(h->second, nad)) {
        ++r.unchanged;
        continue;
      }
      if (lost()) return r;
      // Named references: lambdas cannot capture structured bindings before
      // C++20 as clang 14 implements it.
      const std::string& nad_key = key;
      const json& rendered = nad;
      absl::StatusOr<json> u =
          client_.Update(NadPath(ns, name), [&](json& cur) -> absl::Status {
            if (Annotation(cur, kOwnerRefAnnotation) != owner) {
              return absl::AbortedError(
                  sk::StrCat("NAD ", nad_key, " changed owner; left alone"));
            }
            cur["spec"] = rendered["spec"];
            for (auto& [k, v] : rendered["metadata"]["annotations"].items())
              cur["metadata"]["annotations"][k] = v;
            return absl::OkStatus();
          });
      if (!u.ok()) {
        r.errors.push_back(
            sk::StrCat("update NAD ", key, ": ", u.status().message()));
        fail(u.status());
        continue;
      }
      r.updated.push_back(key);
      continue;
    }
    if (lost()) return r;
    absl::StatusOr<json> c = client_.Create(NadPath(ns), nad);
    if (!c.ok()) {
      // A missing namespace is retried on the next pass, as the operator
      // requeues until it appears.
      r.errors.push_back(
          sk::StrCat("create NAD ", key, ": ", c.status().message()));
      fail(c.status());
      continue;
    }
    r.created.push_back(key);
  }
  for (const auto& [key, nad] : have) {
    std::string owner = Annotation(nad, kOwnerRefAnnotation);
    if (owner.rfind(owner_prefix, 0) != 0) continue;  // not ours
    if (keep_owners.count(owner)) continue;
    if (auto w = want.find(key);
        w != want.end() && Annotation(w->second, kOwnerRefAnnotation) == owner)
      continue;
    if (lost()) return r;
    absl::Status s =
        client_.Delete(NadPath(StringAt(nad, "metadata", "namespace"),
                               StringAt(nad, "metadata", "name")));
    if (!s.ok() && !absl::IsNotFound(s)) {
      r.errors.push_back(sk::StrCat("delete NAD ", key, ": ", s.message()));
      fail(s);
      continue;
    }
    r.deleted.push_back(key);
  }
  return r;
}

NadReconcileResult NadController::ReconcileFromApi() {
  absl::StatusOr<kube::ListResult> nets = client_.ListAll(NetworkCollection());
  if (!nets.ok()) {
    NadReconcileResult r;
    r.status = nets.status();
    return r;
  }
  return Reconcile(nets->items);
}

void NadController::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  stop_ = true;
  cv_.notify_all();
}

void NadController::Kick() {
  std::lock_guard<std::mutex> l(mu_);
  dirty_ = true;
  cv_.notify_all();
}

absl::Status NadController::Run() {
  kube::InformerOptions io;
  io.path = NetworkCollection();
  io.on_event = [this](const kube::WatchEvent&) { Kick(); };
  io.on_error = [this](const absl::Status& s) {
    Log(sk::StrCat("SriovNetwork watch: ", s.message()));
  };
  kube::Informer informer(client_, io);
  informer.Start();
  while (!informer.WaitForSync(std::chrono::seconds(1))) {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return absl::OkStatus();
  }
  Kick();
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (!dirty_) {
      cv_.wait_for(l, opts_.resync, [this] { return stop_ || dirty_; });
      if (stop_) break;
    }
    cv_.wait_for(l, opts_.debounce, [this] { return stop_; });
    if (stop_) break;
    dirty_ = false;
    // A standby replica keeps its cache warm and waits for Kick().
    if (!Leading()) continue;
    l.unlock();
    NadReconcileResult r = Reconcile(informer.List());
    for (const std::string& e : r.errors) Log(e);
    Log(sk::StrCat("pass ", pass_count(), ": ", r.created.size(), " created, ",
                   r.updated.size(), " updated, ", r.deleted.size(),
                   " deleted, ", r.unchanged, " unchanged",
                   r.status.ok() ? "" : sk::StrCat("; ", r.status.message())));
    l.lock();
  }
  l.unlock();
  informer.Stop();
  return absl::OkStatus();
}

kube::LeaderElectionOptions ElectedNadController::Defaults(
    kube::LeaderElectionOptions e, const NadControllerOptions& o) {
  if (e.lease.ns.empty()) e.lease.ns = o.namespace_name;
  if (e.lease.name.empty()) e.lease.name = kNadControllerLease;
  if (!e.log) e.log = o.log;
  return e;
}

ElectedNadController::ElectedNadController(kube::Client& client,
                                           NadControllerOptions options,
                                           kube::LeaderElectionOptions election)
    : elector_(client, Defaults(std::move(election), options)),
      controller_(client, [&] {
        options.leading = [this] { return elector_.IsLeader(); };
        return std::move(options);
      }()) {
  elector_.set_on_started_leading([this] { controller_.Kick(); });
}

absl::Status ElectedNadController::Run() {
  absl::Status election;
  std::thread t([&] {
    election = elector_.Run();
    // An elector that cannot run (bad options) ends the controller too.
    if (!election.ok()) controller_.Stop();
  });
  absl::Status s = controller_.Run();
  elector_.Stop();
  t.join();
  return election.ok() ? s : election;
}

void ElectedNadController::Stop() {
  controller_.Stop();
  elector_.Stop();
}

}  // namespace sk::nodedaemon
