#include "lib/cni/state.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cni/error.h"

namespace sk::cni {
namespace {
using nlohmann::json;

absl::StatusOr<std::optional<std::string>> ReadNoFollow(
    const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno == ELOOP)
      return absl::FailedPreconditionError(
          p.string() + " is a symlink; refusing to follow it");
    return ErrnoStatus(errno, "open ", p.string());
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read ", p.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

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

// temp file + fsync + rename, O_NOFOLLOW/O_EXCL on the temp file. Unlike
// base's WriteFileAtomic there is no directory fsync: the rename only has to
// be atomic with respect to a crashed plugin process, and after a power loss
// the node reboots with fresh VFs anyway (a missing cache then means "DEL
// succeeds", sriov-cni #178). Saves two fsyncs per ADD.
absl::Status WriteStateFile(const std::filesystem::path& path,
                            std::string_view data) {
  return WriteFileAtomic(path, data, 0600, /*sync_dir=*/false);
}

absl::Status Unlink(const std::filesystem::path& p) {
  if (::unlink(p.c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, "remove ", p.string());
  return absl::OkStatus();
}
}  // namespace

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

absl::Status StateDir::EnsureDir(const std::filesystem::path& d) const {
  SK_RETURN_IF_ERROR(MakeDirs(d));
  ::chmod(d.c_str(), 0700);
  return absl::OkStatus();
}

std::filesystem::path StateDir::CachePath(const std::string& cid,
                                          const std::string& ifname) const {
  return dir_ / (cid + "-" + ifname);
}

absl::Status StateDir::SaveCache(const CacheEntry& e) const {
  SK_RETURN_IF_ERROR(EnsureDir(dir_));
  absl::Status s =
      WriteStateFile(CachePath(e.container_id, e.ifname), EncodeCache(e));
  if (!s.ok()) return Annotate(s, "error saving NetConf");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CacheEntry>> StateDir::LoadCache(
    const std::string& cid, const std::string& ifname) const {
  SK_ASSIGN_OR_RETURN(auto text, ReadNoFollow(CachePath(cid, ifname)));
  if (!text) return std::optional<CacheEntry>();
  SK_ASSIGN_OR_RETURN(CacheEntry e, DecodeCache(*text));
  if (e.container_id.empty()) e.container_id = cid;
  if (e.ifname.empty()) e.ifname = ifname;
  return std::optional<CacheEntry>(std::move(e));
}

absl::Status StateDir::RemoveCache(const std::string& cid,
                                   const std::string& ifname) const {
  return Unlink(CachePath(cid, ifname));
}

absl::Status StateDir::RemoveCacheFile(const std::string& name) const {
  return Unlink(dir_ / name);
}

absl::StatusOr<std::vector<std::pair<std::string, CacheEntry>>>
StateDir::ListCaches() const {
  std::vector<std::pair<std::string, CacheEntry>> out;
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
    auto text = ReadNoFollow(dir_ / n);
    if (!text.ok() || !text->has_value()) continue;
    auto entry = DecodeCache(**text);
    if (!entry.ok()) continue;
    out.emplace_back(n, std::move(*entry));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> StateDir::ReadAllocation(
    const std::string& pci) const {
  return ReadNoFollow(dir_ / "pci" / pci);
}

absl::Status StateDir::WriteAllocation(const std::string& pci,
                                       const std::string& netns) const {
  SK_RETURN_IF_ERROR(EnsureDir(dir_ / "pci"));
  return WriteStateFile(dir_ / "pci" / pci, netns);
}

absl::Status StateDir::RemoveAllocation(const std::string& pci) const {
  return Unlink(dir_ / "pci" / pci);
}

absl::StatusOr<VfLock> StateDir::LockVf(
    const std::string& pci, std::chrono::milliseconds timeout) const {
  std::filesystem::path d = dir_ / "pci" / "vf_lock";
  SK_RETURN_IF_ERROR(EnsureDir(d));
  std::filesystem::path p = d / (pci + ".lock");
  UniqueFd fd(
      ::open(p.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return ErrnoStatus(errno, "open ", p.string());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return VfLock(std::move(fd));
    if (errno != EWOULDBLOCK && errno != EINTR)
      return ErrnoStatus(errno, "flock ", p.string());
    if (std::chrono::steady_clock::now() >= deadline)
      return CniError(kCniTryAgainLater,
                      "time out while waiting to acquire exclusive lock on [" +
                          p.string() + "]");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace sk::cni
