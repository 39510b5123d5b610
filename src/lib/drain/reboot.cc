#include "lib/drain/reboot.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

#include "lib/base/errno_status.h"
#include "lib/base/field_reader.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::drain {
namespace {

using nlohmann::json;

constexpr char kMarkerName[] = "reboot-state.json";
constexpr char kPoolConfigs[] =
    "/apis/sriovnetwork.openshift.io/v1/namespaces/";
constexpr int kMaxRebootsWithForce = 2;

std::map<std::string, std::string> Labels(const json& obj) {
  std::map<std::string, std::string> out;
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return out;
  auto l = md->find("labels");
  if (l == md->end() || !l->is_object()) return out;
  for (auto& [k, v] : l->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

std::string NameOf(const json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return "";
  return sk::JsonString(*md, "name");
}

class SystemctlRebooter : public Rebooter {
 public:
  absl::Status Reboot(std::string_view) override {
    pid_t pid = ::fork();
    if (pid < 0) return ErrnoStatus(errno, "fork for systemctl reboot");
    if (pid == 0) {
      const char* argv[] = {"systemctl", "reboot", nullptr};
      ::execvp("systemctl", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
      if (errno != EINTR) return ErrnoStatus(errno, "waitpid systemctl");
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      return absl::InternalError(
          sk::StrCat("systemctl reboot failed (exit status ",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1, ")"));
    }
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<Rebooter> NewSystemctlRebooter() {
  return std::make_unique<SystemctlRebooter>();
}

absl::StatusOr<std::string> ReadBootId(const std::filesystem::path& proc_root) {
  std::filesystem::path p = proc_root / "proc/sys/kernel/random/boot_id";
  SK_ASSIGN_OR_RETURN(std::string id, ReadFileBounded(p, 128));
  return std::string(absl::StripAsciiWhitespace(id));
}

const char* RebootPhaseName(RebootPhase p) {
  switch (p) {
    case RebootPhase::kIdle:
      return "Idle";
    case RebootPhase::kWaitingForSlot:
      return "WaitingForSlot";
    case RebootPhase::kDrainFailed:
      return "DrainFailed";
    case RebootPhase::kRebooting:
      return "Rebooting";
    case RebootPhase::kBooted:
      return "Booted";
    case RebootPhase::kFailed:
      return "Failed";
  }
  return "?";
}

namespace {

// A label selector read through FieldReader: errors are "<source>:
// <path>.matchExpressions[0].operator: expected one of ..., got \"Near\"".
absl::StatusOr<bool> SelectorMatchesAt(
    const FieldReader& selector,
    const std::map<std::string, std::string>& labels) {
  if (!selector.present()) return true;
  SK_RETURN_IF_ERROR(selector.AsObject().status());
  if (const FieldReader ml = selector.Child("matchLabels"); ml.present()) {
    SK_ASSIGN_OR_RETURN(auto entries, ml.AsEntries());
    for (const auto& [k, v] : entries) {
      auto it = labels.find(k);
      if (!v.json().is_string() || it == labels.end() ||
          it->second != v.json().get_ref<const std::string&>())
        return false;
    }
  }
  SK_ASSIGN_OR_RETURN(std::vector<FieldReader> exprs,
                      selector.List("matchExpressions"));
  for (const FieldReader& e : exprs) {
    SK_RETURN_IF_ERROR(e.AsObject().status());
    SK_ASSIGN_OR_RETURN(std::string key, e.String("key"));
    const FieldReader op = e.Child("operator");
    SK_ASSIGN_OR_RETURN(
        std::optional<size_t> which,
        e.OptionalEnum("operator", {"In", "NotIn", "Exists", "DoesNotExist"}));
    if (!which) {
      return op.Expected(
          "one of \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
    }
    std::vector<std::string> values;
    if (const FieldReader v = e.Child("values"); v.json().is_array()) {
      for (const json& s : v.json())
        if (s.is_string()) values.push_back(s.get<std::string>());
    }
    auto it = labels.find(key);
    const bool has = it != labels.end();
    const bool in = has && std::find(values.begin(), values.end(),
                                     it->second) != values.end();
    switch (*which) {
      case 0:  // In
        if (!in) return false;
        break;
      case 1:  // NotIn
        if (in) return false;
        break;
      case 2:  // Exists
        if (!has) return false;
        break;
      default:  // DoesNotExist
        if (has) return false;
        break;
    }
  }
  return true;
}

absl::StatusOr<int> ScaledMaxUnavailableAt(const FieldReader& value,
                                           int nodes) {
  if (!value.present()) return 1;
  const json& v = value.json();
  if (v.is_number_integer()) {
    if (absl::StatusOr<int64_t> n = value.AsInt(0, 1000000); n.ok())
      return static_cast<int>(*n);
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    int pct = 0;
    if (s.size() >= 2 && s.back() == '%' &&
        absl::SimpleAtoi(s.substr(0, s.size() - 1), &pct) && pct >= 0 &&
        pct <= 100) {
      return (pct * nodes + 99) / 100;
    }
  }
  return value.Expected("an integer in 0..1000000 or a percentage (\"25%\")");
}

}  // namespace

absl::StatusOr<bool> SelectorMatches(
    const json& selector, const std::map<std::string, std::string>& labels) {
  return SelectorMatchesAt(FieldReader(selector, "nodeSelector"), labels);
}

absl::StatusOr<int> ScaledMaxUnavailable(const json& value, int nodes) {
  return ScaledMaxUnavailableAt(FieldReader(value, "maxUnavailable"), nodes);
}

absl::StatusOr<PoolBudget> ResolveBudget(const std::vector<json>& pools,
                                         const std::vector<json>& nodes,
                                         const std::string& node_name) {
  std::map<std::string, std::string> mine;
  bool found = false;
  for (const json& n : nodes) {
    if (NameOf(n) == node_name) {
      mine = Labels(n);
      found = true;
    }
  }
  if (!found) {
    return absl::NotFoundError(
        sk::StrCat("node ", node_name, " is not in the node list"));
  }
  mine.emplace("kubernetes.io/hostname", node_name);
  std::vector<const json*> matched;
  // A pool's fields: "SriovNetworkPoolConfig <name>: spec.nodeSelector...".
  // A spec that is not an object reads as absent (every node).
  auto selector_of = [](const json& p) {
    return FieldReader(p, sk::StrCat("SriovNetworkPoolConfig ", NameOf(p)))
        .Child("spec")
        .Child("nodeSelector");
  };
  for (const json& p : pools) {
    SK_ASSIGN_OR_RETURN(bool m, SelectorMatchesAt(selector_of(p), mine));
    if (m) matched.push_back(&p);
  }
  PoolBudget b;
  if (matched.empty()) {
    b.slot_prefix = "sriovkit-drain-default";
    b.max_unavailable = 1;
    return b;
  }
  if (matched.size() > 1) {
    std::vector<std::string> names;
    names.reserve(matched.size());
    for (const json* p : matched) names.push_back(NameOf(*p));
    std::sort(names.begin(), names.end());
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    return absl::FailedPreconditionError(
        sk::StrCat("node ", node_name,
                   " is selected by more than one "
                   "SriovNetworkPoolConfig: ",
                   list));
  }
  const json& pool = *matched.front();
  b.pool = NameOf(pool);
  // A pool without a spec object matched as selecting every node.
  const FieldReader sel = selector_of(pool);
  for (const json& n : nodes) {
    std::map<std::string, std::string> l = Labels(n);
    l.emplace("kubernetes.io/hostname", NameOf(n));
    absl::StatusOr<bool> m = SelectorMatchesAt(sel, l);
    if (m.ok() && *m) ++b.nodes;
  }
  SK_ASSIGN_OR_RETURN(
      b.max_unavailable,
      ScaledMaxUnavailableAt(
          FieldReader(pool, sk::StrCat("SriovNetworkPoolConfig ", b.pool))
              .Child("spec")
              .Child("maxUnavailable"),
          b.nodes));
  b.slot_prefix = sk::StrCat("sriovkit-drain-", b.pool);
  return b;
}

RebootOrchestrator::RebootOrchestrator(kube::Client& client, RebootNeed& need,
                                       Rebooter& rebooter,
                                       RebootOptions options)
    : client_(client),
      need_(need),
      rebooter_(rebooter),
      opts_(std::move(options)),
      drainer_(client, opts_.node_name, opts_.drain) {
  if (!opts_.boot_id) {
    std::filesystem::path proc = opts_.proc_root;
    opts_.boot_id = [proc] { return ReadBootId(proc); };
  }
}

std::filesystem::path RebootOrchestrator::MarkerPath() const {
  return opts_.state_dir / kMarkerName;
}

void RebootOrchestrator::Log(std::string_view line) const {
  if (opts_.log) opts_.log(line);
}

absl::StatusOr<std::optional<RebootOrchestrator::Marker>>
RebootOrchestrator::LoadMarker() const {
  SK_RETURN_IF_ERROR(MakeDirs(opts_.state_dir));
  SK_ASSIGN_OR_RETURN(UniqueFd dir,
                      OpenDirAt(AT_FDCWD, opts_.state_dir.string(), false, 0755,
                                opts_.state_dir.string()));
  SK_ASSIGN_OR_RETURN(
      std::optional<std::string> text,
      ReadFileAt(dir.get(), kMarkerName, MarkerPath().string()));
  if (!text) return std::optional<Marker>();
  absl::StatusOr<json> j = ParseJsonBounded(*text, {.max_bytes = 64 << 10});
  if (!j.ok() || !j->is_object()) {
    return absl::InvalidArgumentError(
        sk::StrCat(MarkerPath().string(), ": not a JSON object",
                   j.ok() ? "" : sk::StrCat(": ", j.status().message())));
  }
  Marker m;
  m.phase = sk::JsonString(*j, "phase");
  if (m.phase != "draining" && m.phase != "rebooting" && m.phase != "failed") {
    return absl::InvalidArgumentError(
        sk::StrCat(MarkerPath().string(), ": phase \"", m.phase.substr(0, 32),
                   "\" is not draining, rebooting or failed"));
  }
  m.reason = sk::JsonString(*j, "reason");
  m.boot_id = sk::JsonString(*j, "bootID");
  m.slot_prefix = sk::JsonString(*j, "slotPrefix");
  m.slot_index = static_cast<int>(sk::JsonInt(*j, "slotIndex", -1));
  m.attempts = static_cast<int>(sk::JsonInt(*j, "attempts", 0));
  m.cordoned = sk::JsonBool(*j, "cordoned", false);
  return std::optional<Marker>(m);
}

absl::Status RebootOrchestrator::SaveMarker(const Marker& m) const {
  json j = {{"phase", m.phase},          {"reason", m.reason},
            {"bootID", m.boot_id},       {"slotPrefix", m.slot_prefix},
            {"slotIndex", m.slot_index}, {"attempts", m.attempts},
            {"cordoned", m.cordoned},    {"node", opts_.node_name}};
  SK_RETURN_IF_ERROR(MakeDirs(opts_.state_dir));
  SK_ASSIGN_OR_RETURN(UniqueFd dir,
                      OpenDirAt(AT_FDCWD, opts_.state_dir.string(), false, 0755,
                                opts_.state_dir.string()));
  return WriteFileAtomicAt(dir.get(), kMarkerName, j.dump(2) + "\n", 0644, true,
                           MarkerPath().string());
}

absl::Status RebootOrchestrator::RemoveMarker() const {
  std::error_code ec;
  std::filesystem::remove(MarkerPath(), ec);
  if (ec) {
    return absl::InternalError(
        sk::StrCat("remove ", MarkerPath().string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

kube::LeaseSlots& RebootOrchestrator::Slots(const std::string& prefix) {
  if (!slots_ || slots_prefix_ != prefix) {
    kube::LeaseSlotsOptions o;
    o.ns = opts_.namespace_name;
    o.prefix = prefix;
    o.identity = opts_.node_name;
    o.duration = opts_.slot_duration;
    o.clock = opts_.clock;
    o.wall_now = opts_.wall_now;
    slots_ = std::make_unique<kube::LeaseSlots>(client_, std::move(o));
    slots_prefix_ = prefix;
  }
  return *slots_;
}

absl::StatusOr<kube::LeaseLock*> RebootOrchestrator::SlotLock(const Marker& m) {
  if (m.slot_prefix.empty() || m.slot_index < 0) return nullptr;
  std::string name = sk::StrCat(m.slot_prefix, "-", m.slot_index);
  if (!slot_lock_ || slot_lock_->options().name != name) {
    kube::LeaseOptions o;
    o.ns = opts_.namespace_name;
    o.name = name;
    o.identity = opts_.node_name;
    o.duration = opts_.slot_duration;
    o.clock = opts_.clock;
    o.wall_now = opts_.wall_now;
    slot_lock_ = std::make_unique<kube::LeaseLock>(client_, std::move(o));
  }
  return slot_lock_.get();
}

absl::Status RebootOrchestrator::ReleaseSlot(const Marker& m) {
  slots_.reset();
  SK_ASSIGN_OR_RETURN(kube::LeaseLock * lock, SlotLock(m));
  if (lock == nullptr) return absl::OkStatus();
  return lock->Release();
}

absl::Status RebootOrchestrator::Finish(const Marker& m) {
  // Uncordon before the slot goes: the next node may drain as soon as it
  // is free, and two nodes must never be out at once.
  if (m.cordoned) SK_RETURN_IF_ERROR(drainer_.Uncordon());
  SK_RETURN_IF_ERROR(drainer_.SetDrainAnnotations(kDrainIdle, kDrainIdle));
  return ReleaseSlot(m);
}

absl::StatusOr<RebootStep> RebootOrchestrator::Step() {
  SK_ASSIGN_OR_RETURN(std::optional<Marker> marker, LoadMarker());
  SK_ASSIGN_OR_RETURN(RebootNeedStatus need, need_.Check());
  if (marker && marker->phase == "rebooting") {
    SK_ASSIGN_OR_RETURN(std::string boot, opts_.boot_id());
    if (boot == marker->boot_id) {
      // The reboot is under way (or stuck): keep the slot renewed so nobody
      // takes it over while this node is still down or about to go down.
      SK_ASSIGN_OR_RETURN(kube::LeaseLock * slot, SlotLock(*marker));
      if (slot != nullptr)
        SK_RETURN_IF_ERROR(slot->TryAcquireOrRenew().status());
      return RebootStep{RebootPhase::kRebooting,
                        sk::StrCat("rebooting: ", marker->reason)};
    }
    if (!need.needed) {
      SK_RETURN_IF_ERROR(Finish(*marker));
      SK_RETURN_IF_ERROR(RemoveMarker());
      Log(sk::StrCat("reboot verified (", marker->reason,
                     "): slot released, node uncordoned"));
      return RebootStep{RebootPhase::kBooted,
                        sk::StrCat("reboot verified: ", marker->reason)};
    }
    if (!(opts_.force && marker->attempts < kMaxRebootsWithForce)) {
      Marker failed = *marker;
      failed.phase = "failed";
      failed.reason = need.reason;
      SK_RETURN_IF_ERROR(Finish(*marker));
      failed.slot_prefix.clear();
      failed.cordoned = false;
      SK_RETURN_IF_ERROR(SaveMarker(failed));
      marker = failed;
    }
  }
  if (marker && marker->phase == "failed") {
    if (!need.needed) {
      SK_RETURN_IF_ERROR(RemoveMarker());
      return RebootStep{RebootPhase::kIdle, ""};
    }
    if (!(opts_.force && marker->attempts < kMaxRebootsWithForce)) {
      return RebootStep{
          RebootPhase::kFailed,
          sk::StrCat("the reboot did not take effect: ", need.reason,
                     " (after ", marker->attempts,
                     " reboot(s)); not rebooting again: fix the boot "
                     "configuration, or run sriovkit-node with --force to "
                     "retry once")};
    }
  }
  if (!need.needed && !marker) return RebootStep{RebootPhase::kIdle, ""};
  if (!need.needed) {
    // A drain started for a need that went away: undo it.
    SK_RETURN_IF_ERROR(Finish(*marker));
    SK_RETURN_IF_ERROR(RemoveMarker());
    return RebootStep{RebootPhase::kIdle, ""};
  }
  Marker m;
  if (marker) {
    m = *marker;
    if (m.phase != "draining") ++m.attempts;  // a --force retry
  } else {
    m.attempts = 1;
  }
  m.phase = "draining";
  m.reason = need.reason;
  return Cycle(need, m);
}

absl::StatusOr<RebootStep> RebootOrchestrator::Cycle(
    const RebootNeedStatus& need, Marker m) {
  SK_RETURN_IF_ERROR(drainer_.SetDrainAnnotations(kRebootRequired, ""));
  SK_ASSIGN_OR_RETURN(
      kube::ListResult pools,
      client_.ListAll(sk::StrCat(kPoolConfigs, opts_.namespace_name,
                                 "/sriovnetworkpoolconfigs")));
  SK_ASSIGN_OR_RETURN(kube::ListResult nodes, client_.ListAll("/api/v1/nodes"));
  SK_ASSIGN_OR_RETURN(PoolBudget budget,
                      ResolveBudget(pools.items, nodes.items, opts_.node_name));
  std::string pool_name = budget.pool.empty() ? "(no pool)" : budget.pool;
  if (!m.slot_prefix.empty() && m.slot_prefix != budget.slot_prefix) {
    // The node moved to another pool mid-way: give the old slot back.
    SK_RETURN_IF_ERROR(ReleaseSlot(m));
    m.slot_index = -1;
  }
  if (budget.max_unavailable < 1) {
    return RebootStep{
        RebootPhase::kWaitingForSlot,
        sk::StrCat("reboot needed (", need.reason, "); pool ", pool_name,
                   " allows no unavailable node (maxUnavailable 0)")};
  }
  SK_ASSIGN_OR_RETURN(
      std::optional<int> slot,
      Slots(budget.slot_prefix).TryAcquire(budget.max_unavailable));
  if (!slot) {
    return RebootStep{RebootPhase::kWaitingForSlot,
                      sk::StrCat("reboot needed (", need.reason,
                                 "); waiting for a slot: pool ", pool_name,
                                 " allows ", budget.max_unavailable, " of ",
                                 budget.nodes, " node(s) at once")};
  }
  m.slot_prefix = budget.slot_prefix;
  m.slot_index = *slot;
  SK_RETURN_IF_ERROR(drainer_.SetDrainAnnotations("", kDraining));
  SK_ASSIGN_OR_RETURN(bool was_cordoned, drainer_.Cordon());
  // Our own earlier cordon (a drain resumed after a restart) stays ours.
  m.cordoned = m.cordoned || !was_cordoned;
  SK_RETURN_IF_ERROR(SaveMarker(m));
  Log(sk::StrCat("reboot needed (", need.reason, "): slot ", *slot, " of pool ",
                 pool_name, " taken, draining"));
  SK_ASSIGN_OR_RETURN(std::vector<json> pods, drainer_.PodsOnNode());
  absl::Status drained = drainer_.EvictAndWait(PodsForFullDrain(pods));
  if (!drained.ok()) {
    return RebootStep{RebootPhase::kDrainFailed,
                      sk::StrCat("reboot needed (", need.reason,
                                 "); drain: ", drained.message())};
  }
  SK_RETURN_IF_ERROR(drainer_.SetDrainAnnotations("", kDrainComplete));
  SK_ASSIGN_OR_RETURN(m.boot_id, opts_.boot_id());
  m.phase = "rebooting";
  SK_RETURN_IF_ERROR(SaveMarker(m));
  Log(sk::StrCat("drained; rebooting (", need.reason, ")"));
  absl::Status r = rebooter_.Reboot(need.reason);
  if (!r.ok()) {
    m.phase = "draining";
    SK_RETURN_IF_ERROR(SaveMarker(m));
    return r;
  }
  return RebootStep{RebootPhase::kRebooting,
                    sk::StrCat("rebooting: ", need.reason)};
}

}  // namespace sk::drain
