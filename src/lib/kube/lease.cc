#include "lib/kube/lease.h"

#include <utility>

#include "absl/strings/str_cat.h"

#include "lib/base/status_macros.h"

namespace sk::kube {
namespace {

using nlohmann::json;

constexpr char kLeaseApi[] = "/apis/coordination.k8s.io/v1";

bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

absl::StatusOr<std::string> CollectionPath(const std::string& ns) {
  if (!IsDnsSubdomain(ns) || ns.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease namespace \"", ns, "\" is not a DNS label"));
  }
  return absl::StrCat(kLeaseApi, "/namespaces/", ns, "/leases");
}

absl::StatusOr<int64_t> IntField(const json& spec, const char* field) {
  auto it = spec.find(field);
  if (it == spec.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Lease spec.", field, " is not an integer: ", it->dump()));
  }
  int64_t v = it->get<int64_t>();
  if (v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Lease spec.", field, " is negative: ", v));
  }
  return v;
}

absl::StatusOr<std::optional<absl::Time>> TimeField(const json& spec,
                                                    const char* field) {
  auto it = spec.find(field);
  if (it == spec.end() || it->is_null()) return std::optional<absl::Time>();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Lease spec.", field, " is not a string: ", it->dump()));
  }
  SK_ASSIGN_OR_RETURN(absl::Time t,
                      ParseMicroTime(absl::StrCat("Lease spec.", field),
                                     it->get<std::string>()));
  return std::optional<absl::Time>(t);
}

}  // namespace

std::string FormatMicroTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseMicroTime(const std::string& field,
                                          const std::string& value) {
  absl::Time t;
  std::string err;
  if (value.size() > 64 ||
      !absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", value.substr(0, 64),
                     "\" is not an RFC 3339 time: ", err));
  }
  return t;
}

absl::StatusOr<LeaseRecord> LeaseRecordFromJson(const json& lease) {
  if (!lease.is_object()) {
    return absl::InvalidArgumentError("Lease is not a JSON object");
  }
  LeaseRecord r;
  if (auto md = lease.find("metadata"); md != lease.end() && md->is_object()) {
    if (auto rv = md->find("resourceVersion");
        rv != md->end() && rv->is_string()) {
      r.resource_version = rv->get<std::string>();
    }
  }
  auto sit = lease.find("spec");
  if (sit == lease.end() || sit->is_null()) return r;
  if (!sit->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Lease spec is not an object: ", sit->dump()));
  }
  const json& spec = *sit;
  if (auto h = spec.find("holderIdentity"); h != spec.end() && !h->is_null()) {
    if (!h->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Lease spec.holderIdentity is not a string: ", h->dump()));
    }
    r.holder_identity = h->get<std::string>();
  }
  SK_ASSIGN_OR_RETURN(r.lease_duration_seconds,
                      IntField(spec, "leaseDurationSeconds"));
  SK_ASSIGN_OR_RETURN(r.lease_transitions, IntField(spec, "leaseTransitions"));
  SK_ASSIGN_OR_RETURN(r.acquire_time, TimeField(spec, "acquireTime"));
  SK_ASSIGN_OR_RETURN(r.renew_time, TimeField(spec, "renewTime"));
  return r;
}

json LeaseToJson(const std::string& ns, const std::string& name,
                 const LeaseRecord& record) {
  json spec = json::object();
  // client-go writes holderIdentity "" on release; keep the field.
  spec["holderIdentity"] = record.holder_identity;
  if (record.lease_duration_seconds > 0)
    spec["leaseDurationSeconds"] = record.lease_duration_seconds;
  if (record.acquire_time)
    spec["acquireTime"] = FormatMicroTime(*record.acquire_time);
  if (record.renew_time)
    spec["renewTime"] = FormatMicroTime(*record.renew_time);
  spec["leaseTransitions"] = record.lease_transitions;
  json md = {{"name", name}, {"namespace", ns}};
  if (!record.resource_version.empty())
    md["resourceVersion"] = record.resource_version;
  return json{{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata", md},
              {"spec", spec}};
}

absl::StatusOr<std::string> LeasePath(const std::string& ns,
                                      const std::string& name) {
  SK_ASSIGN_OR_RETURN(std::string coll, CollectionPath(ns));
  if (name.empty()) return coll;
  if (!IsDnsSubdomain(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease name \"", name, "\" is not a DNS subdomain"));
  }
  return absl::StrCat(coll, "/", name);
}

LeaseLock::LeaseLock(Client& client, LeaseOptions options)
    : client_(client), options_(std::move(options)) {}

bool LeaseLock::Held() const {
  return held_since_write_.has_value() &&
         options_.clock->Now() < *held_since_write_ + options_.duration;
}

absl::StatusOr<std::optional<LeaseRecord>> LeaseLock::Observe() {
  if (options_.identity.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease ", options_.name, ": empty holder identity"));
  }
  SK_ASSIGN_OR_RETURN(std::string path, LeasePath(options_.ns, options_.name));
  Clock::TimePoint now = options_.clock->Now();
  absl::StatusOr<json> got = client_.Get(path);
  if (absl::IsNotFound(got.status())) {
    observed_.reset();
    return std::optional<LeaseRecord>();
  }
  if (!got.ok()) return got.status();
  absl::StatusOr<LeaseRecord> rec = LeaseRecordFromJson(*got);
  if (!rec.ok()) {
    return absl::Status(rec.status().code(),
                        absl::StrCat(path, ": ", rec.status().message()));
  }
  if (!observed_ || observed_->resource_version != rec->resource_version ||
      observed_->holder_identity != rec->holder_identity) {
    observed_at_ = now;
  }
  observed_ = *rec;
  if (rec->holder_identity != options_.identity) held_since_write_.reset();
  return std::optional<LeaseRecord>(*std::move(rec));
}

absl::StatusOr<bool> LeaseLock::TryOnce(bool* conflict) {
  *conflict = false;
  if (options_.duration.count() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease ", options_.name, ": duration must be positive"));
  }
  Clock::TimePoint now = options_.clock->Now();
  SK_ASSIGN_OR_RETURN(std::optional<LeaseRecord> cur, Observe());
  SK_ASSIGN_OR_RETURN(std::string path, LeasePath(options_.ns, options_.name));
  LeaseRecord next;
  next.holder_identity = options_.identity;
  next.lease_duration_seconds = options_.duration.count();
  absl::Time wall = options_.wall_now();
  next.renew_time = wall;
  absl::StatusOr<json> written;
  if (!cur) {
    next.acquire_time = wall;
    SK_ASSIGN_OR_RETURN(std::string coll, LeasePath(options_.ns, ""));
    written =
        client_.Create(coll, LeaseToJson(options_.ns, options_.name, next));
    if (absl::IsAlreadyExists(written.status())) {
      *conflict = true;
      return false;
    }
  } else {
    bool ours = cur->holder_identity == options_.identity;
    if (!ours && !cur->holder_identity.empty()) {
      std::chrono::seconds d(cur->lease_duration_seconds > 0
                                 ? cur->lease_duration_seconds
                                 : options_.duration.count());
      if (options_.clock->Now() < observed_at_ + d) return false;
    }
    next.acquire_time = ours && cur->acquire_time ? cur->acquire_time : wall;
    next.lease_transitions =
        ours ? cur->lease_transitions : cur->lease_transitions + 1;
    next.resource_version = cur->resource_version;
    written = client_.Put(path, LeaseToJson(options_.ns, options_.name, next));
    if (absl::IsAborted(written.status())) {
      *conflict = true;
      return false;
    }
  }
  if (!written.ok()) return written.status();
  SK_ASSIGN_OR_RETURN(LeaseRecord rec, LeaseRecordFromJson(*written));
  observed_ = rec;
  observed_at_ = now;
  held_since_write_ = now;
  return true;
}

absl::StatusOr<bool> LeaseLock::TryAcquireOrRenew() {
  for (int i = 0; i < std::max(1, options_.max_conflicts); ++i) {
    bool conflict = false;
    SK_ASSIGN_OR_RETURN(bool held, TryOnce(&conflict));
    if (!conflict) return held;
  }
  held_since_write_.reset();
  return false;
}

absl::Status LeaseLock::Release() {
  held_since_write_.reset();
  SK_ASSIGN_OR_RETURN(std::string path, LeasePath(options_.ns, options_.name));
  for (int i = 0; i < std::max(1, options_.max_conflicts); ++i) {
    SK_ASSIGN_OR_RETURN(std::optional<LeaseRecord> cur, Observe());
    if (!cur || cur->holder_identity != options_.identity) {
      return absl::OkStatus();
    }
    LeaseRecord next = *cur;
    next.holder_identity.clear();
    next.renew_time = options_.wall_now();
    absl::StatusOr<json> written =
        client_.Put(path, LeaseToJson(options_.ns, options_.name, next));
    if (absl::IsAborted(written.status())) continue;
    if (!written.ok()) return written.status();
    absl::StatusOr<LeaseRecord> rec = LeaseRecordFromJson(*written);
    if (rec.ok()) {
      observed_ = *rec;
      observed_at_ = options_.clock->Now();
    }
    return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("release lease ", path,
                                         ": still conflicting after ",
                                         options_.max_conflicts, " attempts"));
}

LeaseSlots::LeaseSlots(Client& client, LeaseSlotsOptions options)
    : client_(client), options_(std::move(options)) {}

LeaseLock& LeaseSlots::Slot(int i) {
  while (static_cast<int>(locks_.size()) <= i) {
    LeaseOptions o;
    o.ns = options_.ns;
    o.name = absl::StrCat(options_.prefix, "-", locks_.size());
    o.identity = options_.identity;
    o.duration = options_.duration;
    o.clock = options_.clock;
    o.wall_now = options_.wall_now;
    locks_.push_back(std::make_unique<LeaseLock>(client_, std::move(o)));
  }
  return *locks_[static_cast<size_t>(i)];
}

absl::StatusOr<std::optional<int>> LeaseSlots::TryAcquire(int n) {
  if (n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease slots ", options_.prefix, ": ", n,
                     " slots (at least 1 is needed)"));
  }
  // Ours already (this process, or before a restart): renew that one only.
  std::optional<int> mine;
  if (held_ && *held_ < n) mine = held_;
  for (int i = 0; !mine && i < n; ++i) {
    SK_ASSIGN_OR_RETURN(std::optional<LeaseRecord> r, Slot(i).Observe());
    if (r && r->holder_identity == options_.identity) mine = i;
  }
  if (mine) {
    SK_ASSIGN_OR_RETURN(bool ok, Slot(*mine).TryAcquireOrRenew());
    if (ok) {
      held_ = mine;
      return mine;
    }
    held_.reset();
  }
  for (int i = 0; i < n; ++i) {
    SK_ASSIGN_OR_RETURN(bool ok, Slot(i).TryAcquireOrRenew());
    if (ok) {
      held_ = i;
      return std::optional<int>(i);
    }
  }
  held_.reset();
  return std::optional<int>();
}

absl::Status LeaseSlots::Release() {
  absl::Status first;
  for (auto& lock : locks_) {
    absl::Status s = lock->Release();
    if (first.ok()) first = s;
  }
  held_.reset();
  return first;
}

std::optional<int> LeaseSlots::held() const {
  if (held_ && locks_[static_cast<size_t>(*held_)]->Held()) return held_;
  return std::nullopt;
}

}  // namespace sk::kube
