#include "lib/cni/state.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cni/error.h"

namespace sk::cni {
namespace {
using nlohmann::json;

uint32_t U32(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_number_unsigned() ? it->get<uint32_t>() : 0;
}
std::string S(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}
bool B(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}

// Every state file and subdirectory is resolved one name at a time from a
// directory fd, never following a symlink (a planted pci/ or pci/vf_lock/
// symlink must not redirect writes or chmods outside the state dir). Writes
// are temp file + rename, with no fsync of the file or the directory: the
// rename only has to be atomic with respect to a crashed plugin process
// (which cannot lose what it wrote before the rename), and after a power
// loss the node reboots with fresh VFs and no old netns, so a cache that is
// missing ("DEL succeeds", sriov-cni #178) or that a power loss left empty
// or partial (DEL warns, removes it and succeeds, as upstream's cmdDel
// returns success when LoadConfFromCache fails) has nothing to restore.
// Upstream sriov-cni does not fsync its cache either (os.WriteFile).
constexpr int kDirMode = 0700;
constexpr int kFileMode = 0600;

absl::Status Unlink(int dirfd, const std::string& name,
                    const std::string& display) {
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, "remove ", display);
  return absl::OkStatus();
}
}  // namespace

OrigVfState OrigVfStateFromVf(const net::VfInfo& vf) {
  OrigVfState o;
  o.spoofchk = vf.spoofchk;
  o.trust = vf.trust;
  o.admin_mac = net::MacToString(vf.mac);
  o.vlan = vf.vlan;
  o.vlan_qos = vf.qos;
  o.vlan_proto = vf.vlan_proto;
  o.min_tx_rate = vf.min_tx_rate;
  o.max_tx_rate = vf.max_tx_rate;
  o.link_state = vf.link_state;
  return o;
}

net::VfInfo VfInfoFromOrigVfState(const OrigVfState& orig, uint32_t vf_id) {
  net::VfInfo v;
  v.id = vf_id;
  if (auto mac = net::ParseMac(orig.admin_mac); mac.ok()) v.mac = *mac;
  v.vlan = orig.vlan;
  v.qos = orig.vlan_qos;
  v.vlan_proto =
      static_cast<uint16_t>(orig.vlan_proto == 0 ? 0x8100 : orig.vlan_proto);
  v.spoofchk = orig.spoofchk;
  v.trust = orig.trust;
  v.min_tx_rate = orig.min_tx_rate;
  v.max_tx_rate = orig.max_tx_rate;
  v.link_state = orig.link_state;
  return v;
}

std::string EncodeCache(const CacheEntry& e) {
  json j = e.conf.raw.is_object() ? e.conf.raw : json::object();
  const OrigVfState& o = e.orig;
  j["OrigVfState"] = {{"HostIFName", o.host_ifname},
                      {"SpoofChk", o.spoofchk},
                      {"Trust", o.trust},
                      {"AdminMAC", o.admin_mac},
                      {"EffectiveMAC", o.effective_mac},
                      {"Vlan", o.vlan},
                      {"VlanQoS", o.vlan_qos},
                      {"VlanProto", o.vlan_proto},
                      {"MinTxRate", o.min_tx_rate},
                      {"MaxTxRate", o.max_tx_rate},
                      {"LinkState", o.link_state},
                      {"MTU", o.mtu}};
  j["Master"] = e.master;
  j["MAC"] = e.mac;
  j["MTU"] = e.mtu;
  j["VFID"] = e.vf_id;
  j["deviceID"] = e.conf.device_id;
  // The Go struct serializes absent optional fields as null.
  for (const char* k : {"vlan", "vlanQoS", "min_tx_rate", "max_tx_rate"})
    if (!j.contains(k)) j[k] = nullptr;
  j["sriovkit"] = {
      {"version", 1},
      {"mode", e.mode == VfMode::kNetdevice ? "netdevice" : "userspace"},
      {"phase", e.phase == Phase::kAdding ? "adding" : "ready"},
      {"containerID", e.container_id},
      {"ifname", e.ifname},
      {"netns", e.netns}};
  // netns/ifname come from the environment and may not be UTF-8; never throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<CacheEntry> DecodeCache(std::string_view text) {
  absl::StatusOr<json> parsed = ParseJsonBounded(text);
  if (!parsed.ok()) {
    return CniError(kCniDecodeFailure,
                    sk::StrCat("error reading cached NetConf: ",
                               parsed.status().message()));
  }
  json& j = *parsed;
  if (!j.is_object())
    return CniError(kCniDecodeFailure,
                    "error reading cached NetConf: not a JSON object");
  CacheEntry e;
  json conf_json = j;
  conf_json.erase("sriovkit");
  SK_ASSIGN_OR_RETURN(e.conf, NetConfFromJson(conf_json, Strictness::kLenient));
  e.conf.raw.erase("OrigVfState");
  for (const char* k : {"Master", "MAC", "MTU", "VFID"}) e.conf.raw.erase(k);
  if (auto it = j.find("OrigVfState"); it != j.end() && it->is_object()) {
    const json& o = *it;
    e.orig.host_ifname = S(o, "HostIFName");
    e.orig.spoofchk = B(o, "SpoofChk");
    e.orig.trust = B(o, "Trust");
    e.orig.admin_mac = S(o, "AdminMAC");
    e.orig.effective_mac = S(o, "EffectiveMAC");
    e.orig.vlan = U32(o, "Vlan");
    e.orig.vlan_qos = U32(o, "VlanQoS");
    e.orig.vlan_proto = U32(o, "VlanProto");
    e.orig.min_tx_rate = U32(o, "MinTxRate");
    e.orig.max_tx_rate = U32(o, "MaxTxRate");
    e.orig.link_state = U32(o, "LinkState");
    e.orig.mtu = U32(o, "MTU");
  }
  e.master = S(j, "Master");
  e.mac = S(j, "MAC");
  e.mtu = U32(j, "MTU");
  e.vf_id = U32(j, "VFID");
  if (auto it = j.find("sriovkit"); it != j.end() && it->is_object()) {
    e.has_ext = true;
    e.mode =
        S(*it, "mode") == "userspace" ? VfMode::kUserspace : VfMode::kNetdevice;
    e.phase = S(*it, "phase") == "adding" ? Phase::kAdding : Phase::kReady;
    e.container_id = S(*it, "containerID");
    e.ifname = S(*it, "ifname");
    e.netns = S(*it, "netns");
  } else {
    e.mode =
        e.orig.host_ifname.empty() ? VfMode::kUserspace : VfMode::kNetdevice;
  }
  return e;
}

absl::StatusOr<int> StateDir::OpenTop(bool create) const {
  if (top_) return top_.get();
  if (create) {
    SK_RETURN_IF_ERROR(MakeDirs(dir_));
    ::chmod(dir_.c_str(), kDirMode);
  }
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT && !create) return -1;
    return ErrnoStatus(errno, "open ", dir_.string());
  }
  top_ = std::move(fd);
  return top_.get();
}

absl::StatusOr<int> StateDir::OpenPciDir(bool create, bool lock_dir) const {
  if (!pci_) {
    SK_ASSIGN_OR_RETURN(int top, OpenTop(create));
    if (top < 0) return -1;
    auto pci = OpenDirAt(top, "pci", create, kDirMode, (dir_ / "pci").string());
    if (!pci.ok()) {
      if (!create && absl::IsNotFound(pci.status())) return -1;
      return pci.status();
    }
    pci_ = std::move(*pci);
  }
  if (!lock_dir) return pci_.get();
  if (!lock_dir_) {
    auto lock = OpenDirAt(pci_.get(), "vf_lock", create, kDirMode,
                          (dir_ / "pci" / "vf_lock").string());
    if (!lock.ok()) {
      if (!create && absl::IsNotFound(lock.status())) return -1;
      return lock.status();
    }
    lock_dir_ = std::move(*lock);
  }
  return lock_dir_.get();
}

std::filesystem::path StateDir::CachePath(const std::string& cid,
                                          const std::string& ifname) const {
  return dir_ / (cid + "-" + ifname);
}

absl::Status StateDir::SaveCache(const CacheEntry& e) const {
  SK_ASSIGN_OR_RETURN(int top, OpenTop(true));
  std::string name = e.container_id + "-" + e.ifname;
  absl::Status s = WriteFileAtomicAt(top, name, EncodeCache(e), kFileMode,
                                     /*sync_dir=*/false, (dir_ / name).string(),
                                     /*sync_file=*/false);
  if (!s.ok()) return Annotate(s, "error saving NetConf");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CacheEntry>> StateDir::LoadCache(
    const std::string& cid, const std::string& ifname) const {
  SK_ASSIGN_OR_RETURN(int top, OpenTop(false));
  if (top < 0) return std::optional<CacheEntry>();
  std::string name = cid + "-" + ifname;
  SK_ASSIGN_OR_RETURN(auto text, ReadFileAt(top, name, (dir_ / name).string()));
  if (!text) return std::optional<CacheEntry>();
  SK_ASSIGN_OR_RETURN(CacheEntry e, DecodeCache(*text));
  if (e.container_id.empty()) e.container_id = cid;
  if (e.ifname.empty()) e.ifname = ifname;
  return std::optional<CacheEntry>(std::move(e));
}

absl::Status StateDir::RemoveCache(const std::string& cid,
                                   const std::string& ifname) const {
  return RemoveCacheFile(cid + "-" + ifname);
}

absl::Status StateDir::RemoveCacheFile(const std::string& name) const {
  SK_ASSIGN_OR_RETURN(int top, OpenTop(false));
  if (top < 0) return absl::OkStatus();
  return Unlink(top, name, (dir_ / name).string());
}

absl::StatusOr<std::vector<std::pair<std::string, CacheEntry>>>
StateDir::ListCaches() const {
  std::vector<std::pair<std::string, CacheEntry>> out;
  SK_ASSIGN_OR_RETURN(int top, OpenTop(false));
  if (top < 0) return out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec.value() == ENOENT) return out;
    return ErrnoStatus(ec.value(), "list ", dir_.string());
  }
  std::vector<std::string> names;
  for (const auto& e : it) {
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    std::string n = e.path().filename().string();
    if (n.find(".tmp.") != std::string::npos) continue;
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto text = ReadFileAt(top, n, (dir_ / n).string());
    if (!text.ok() || !text->has_value()) continue;
    auto entry = DecodeCache(**text);
    if (!entry.ok()) continue;
    out.emplace_back(n, std::move(*entry));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> StateDir::ReadAllocation(
    const std::string& pci) const {
  SK_ASSIGN_OR_RETURN(int d, OpenPciDir(false, false));
  if (d < 0) return std::optional<std::string>();
  return ReadFileAt(d, pci, (dir_ / "pci" / pci).string());
}

absl::Status StateDir::WriteAllocation(const std::string& pci,
                                       const std::string& netns) const {
  SK_ASSIGN_OR_RETURN(int d, OpenPciDir(true, false));
  // No fsync (see above): the allocation only matters while the node stays
  // up. After a power loss whatever the file holds (nothing, the old or new
  // netns path, an empty or partial one) names no live netns: ADD takes the
  // VF (ours and the Go plugin's IsAllocated alike) and a restore finds
  // nothing to keep.
  return WriteFileAtomicAt(d, pci, netns, kFileMode, /*sync_dir=*/false,
                           (dir_ / "pci" / pci).string(),
                           /*sync_file=*/false);
}

absl::Status StateDir::RemoveAllocation(const std::string& pci) const {
  SK_ASSIGN_OR_RETURN(int d, OpenPciDir(false, false));
  if (d < 0) return absl::OkStatus();
  return Unlink(d, pci, (dir_ / "pci" / pci).string());
}

absl::StatusOr<VfLock> StateDir::LockVf(
    const std::string& pci, std::chrono::milliseconds timeout) const {
  SK_ASSIGN_OR_RETURN(int d, OpenPciDir(true, true));
  std::string name = pci + ".lock";
  std::filesystem::path p = dir_ / "pci" / "vf_lock" / name;
  UniqueFd fd(::openat(d, name.c_str(),
                       O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, kFileMode));
  if (!fd) {
    if (errno == ELOOP)
      return absl::FailedPreconditionError(
          p.string() + " is a symlink; refusing to follow it");
    return ErrnoStatus(errno, "open ", p.string());
  }
  constexpr auto kPoll = std::chrono::milliseconds(5);
  SK_ASSIGN_OR_RETURN(
      bool locked,
      PollUntil(*clock_, clock_->Now() + timeout, Backoff{kPoll, kPoll},
                [&]() -> absl::StatusOr<bool> {
                  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return true;
                  if (errno != EWOULDBLOCK && errno != EINTR)
                    return ErrnoStatus(errno, "flock ", p.string());
                  return false;
                }));
  if (!locked)
    return CniError(kCniTryAgainLater,
                    "time out while waiting to acquire exclusive lock on [" +
                        p.string() + "]");
  return VfLock(std::move(fd));
}

}  // namespace sk::cni
