#include "lib/drain/drain.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::drain {
namespace {

using nlohmann::json;

constexpr char kNetworkStatus[] = "k8s.v1.cni.cncf.io/network-status";
constexpr char kMirrorAnnotation[] = "kubernetes.io/config.mirror";
// Annotations longer than this are not parsed (the API server caps all of
// a pod's annotations at 256 KiB).
constexpr size_t kMaxAnnotationBytes = 256 << 10;

std::optional<PodRef> RefOf(const json& pod) {
  auto md = pod.find("metadata");
  if (md == pod.end() || !md->is_object()) return std::nullopt;
  PodRef r{sk::JsonString(*md, "namespace"), sk::JsonString(*md, "name")};
  if (r.ns.empty() || r.name.empty()) return std::nullopt;
  return r;
}

std::string Annotation(const json& pod, const char* key) {
  auto md = pod.find("metadata");
  if (md == pod.end() || !md->is_object()) return "";
  auto an = md->find("annotations");
  if (an == md->end() || !an->is_object()) return "";
  auto v = an->find(key);
  return v != an->end() && v->is_string() ? v->get<std::string>() : "";
}

bool HasAnnotation(const json& pod, const char* key) {
  auto md = pod.find("metadata");
  if (md == pod.end() || !md->is_object()) return false;
  auto an = md->find("annotations");
  return an != md->end() && an->is_object() && an->contains(key);
}

bool OwnedByDaemonSet(const json& pod) {
  auto md = pod.find("metadata");
  if (md == pod.end() || !md->is_object()) return false;
  auto owners = md->find("ownerReferences");
  if (owners == md->end() || !owners->is_array()) return false;
  for (const json& o : *owners) {
    if (o.is_object() && sk::JsonString(o, "kind") == "DaemonSet" &&
        sk::JsonBool(o, "controller", false)) {
      return true;
    }
  }
  return false;
}

std::string Uid(const json& pod) {
  auto md = pod.find("metadata");
  if (md == pod.end() || !md->is_object()) return "";
  return sk::JsonString(*md, "uid");
}

std::string PodPath(const PodRef& p) {
  return sk::StrCat("/api/v1/namespaces/", p.ns, "/pods/", p.name);
}

}  // namespace

std::string JoinPods(const std::vector<PodRef>& pods) {
  std::string out;
  for (const PodRef& p : pods) {
    if (!out.empty()) out += ", ";
    out += p.ToString();
  }
  return out;
}

std::vector<PodRef> PodsHoldingVfs(const std::vector<json>& pods,
                                   const std::set<std::string>& vf_bdfs,
                                   std::set<std::string>* unmatched) {
  if (unmatched != nullptr) *unmatched = vf_bdfs;
  std::vector<PodRef> out;
  for (const json& pod : pods) {
    std::optional<PodRef> ref = RefOf(pod);
    if (!ref) continue;
    std::string ns_text = Annotation(pod, kNetworkStatus);
    if (ns_text.empty() || ns_text.size() > kMaxAnnotationBytes) continue;
    json status = json::parse(ns_text, nullptr, false);
    if (status.is_discarded() || !status.is_array()) continue;
    bool holds = false;
    for (const json& net : status) {
      if (!net.is_object()) continue;
      auto di = net.find("device-info");
      if (di == net.end() || !di->is_object()) continue;
      auto pci = di->find("pci");
      if (pci == di->end() || !pci->is_object()) continue;
      std::string bdf = sk::JsonString(*pci, "pci-address");
      if (vf_bdfs.count(bdf) == 0) continue;
      holds = true;
      if (unmatched != nullptr) unmatched->erase(bdf);
    }
    if (holds) out.push_back(*ref);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<PodRef> PodsForFullDrain(const std::vector<json>& pods) {
  std::vector<PodRef> out;
  for (const json& pod : pods) {
    std::optional<PodRef> ref = RefOf(pod);
    if (!ref) continue;
    if (OwnedByDaemonSet(pod) || HasAnnotation(pod, kMirrorAnnotation))
      continue;
    std::string phase;
    if (auto st = pod.find("status"); st != pod.end() && st->is_object())
      phase = sk::JsonString(*st, "phase");
    if (phase == "Succeeded" || phase == "Failed") continue;
    out.push_back(*ref);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Drainer::Drainer(kube::Client& client, std::string node_name,
                 DrainOptions options)
    : client_(client), node_(std::move(node_name)), opts_(std::move(options)) {}

void Drainer::Log(std::string_view line) const {
  if (opts_.log) opts_.log(line);
}

absl::StatusOr<std::vector<json>> Drainer::PodsOnNode() {
  kube::ListOptions lo;
  lo.field_selector = "spec.nodeName=" + node_;
  SK_ASSIGN_OR_RETURN(kube::ListResult list,
                      client_.ListAll("/api/v1/pods", lo));
  return std::move(list.items);
}

absl::StatusOr<bool> Drainer::Cordon() {
  SK_ASSIGN_OR_RETURN(json node, client_.Get("/api/v1/nodes/" + node_));
  bool was = false;
  if (auto sp = node.find("spec"); sp != node.end() && sp->is_object())
    was = sk::JsonBool(*sp, "unschedulable", false);
  if (!was) {
    SK_RETURN_IF_ERROR(client_
                           .Patch("/api/v1/nodes/" + node_,
                                  kube::PatchType::kMerge,
                                  {{"spec", {{"unschedulable", true}}}})
                           .status());
    Log(sk::StrCat("node ", node_, " cordoned"));
  }
  return was;
}

absl::Status Drainer::Uncordon() {
  // null removes the field, as `kubectl uncordon` leaves it.
  SK_RETURN_IF_ERROR(client_
                         .Patch("/api/v1/nodes/" + node_,
                                kube::PatchType::kMerge,
                                {{"spec", {{"unschedulable", nullptr}}}})
                         .status());
  Log(sk::StrCat("node ", node_, " uncordoned"));
  return absl::OkStatus();
}

absl::Status Drainer::SetDrainAnnotations(const std::string& desired,
                                          const std::string& current) {
  json an = json::object();
  if (!desired.empty()) an[kDesiredStateAnnotation] = desired;
  if (!current.empty()) an[kCurrentStateAnnotation] = current;
  if (an.empty()) return absl::OkStatus();
  return client_
      .Patch("/api/v1/nodes/" + node_, kube::PatchType::kMerge,
             {{"metadata", {{"annotations", an}}}})
      .status();
}

absl::Status Drainer::Evict(const PodRef& pod) {
  json eviction = {{"apiVersion", "policy/v1"},
                   {"kind", "Eviction"},
                   {"metadata", {{"name", pod.name}, {"namespace", pod.ns}}}};
  Clock::Duration sleep = opts_.backoff.initial;
  absl::Status last;
  for (int i = 0; i < std::max(1, opts_.evict_attempts); ++i) {
    if (i > 0) {
      opts_.clock->SleepFor(sleep);
      sleep = std::min<Clock::Duration>(sleep * 2, opts_.backoff.max);
    }
    absl::StatusOr<json> r =
        client_.Create(PodPath(pod) + "/eviction", eviction);
    if (r.ok() || absl::IsNotFound(r.status())) {
      Log(sk::StrCat("evicted pod ", pod.ToString()));
      return absl::OkStatus();
    }
    last = r.status();
    // 429: a PodDisruptionBudget (or the API's rate limit) says not now.
    if (!absl::IsUnavailable(last)) break;
    Log(sk::StrCat("eviction of pod ", pod.ToString(), " refused (attempt ",
                   i + 1, " of ", opts_.evict_attempts, "): ", last.message()));
  }
  return last;
}

absl::Status Drainer::EvictAndWait(const std::vector<PodRef>& pods) {
  std::map<PodRef, std::string> uids;  // evicted pod -> its uid
  std::vector<std::string> failures;
  for (const PodRef& pod : pods) {
    absl::StatusOr<json> cur = client_.Get(PodPath(pod));
    if (absl::IsNotFound(cur.status())) continue;
    if (!cur.ok()) {
      failures.push_back(
          sk::StrCat(pod.ToString(), ": ", cur.status().message()));
      continue;
    }
    absl::Status s = Evict(pod);
    if (!s.ok()) {
      failures.push_back(sk::StrCat(pod.ToString(), ": ", s.message()));
      continue;
    }
    uids[pod] = Uid(*cur);
  }
  if (!failures.empty()) {
    std::string msg = "evicting pods from node " + node_ + " failed: ";
    for (size_t i = 0; i < failures.size(); ++i)
      msg += (i ? "; " : "") + failures[i];
    return absl::UnavailableError(msg);
  }
  std::vector<PodRef> remaining;
  absl::StatusOr<bool> gone = PollUntil(
      *opts_.clock, opts_.clock->Now() + opts_.wait_gone,
      Backoff{std::chrono::milliseconds(500), std::chrono::seconds(5)},
      [&]() -> absl::StatusOr<bool> {
        remaining.clear();
        for (const auto& [pod, uid] : uids) {
          absl::StatusOr<json> cur = client_.Get(PodPath(pod));
          if (absl::IsNotFound(cur.status())) continue;
          if (!cur.ok()) return cur.status();
          if (!uid.empty() && Uid(*cur) != uid) continue;  // a new pod
          remaining.push_back(pod);
        }
        return remaining.empty();
      });
  if (!gone.ok()) return gone.status();
  if (!*gone) {
    return absl::DeadlineExceededError(
        sk::StrCat("evicted pods still on node ", node_, " after ",
                   opts_.wait_gone.count(), " s: ", JoinPods(remaining)));
  }
  return absl::OkStatus();
}

}  // namespace sk::drain
