#pragma once

// FakePfNetlink: a small model of the kernel's PF-side rtnetlink for tests,
// installed as the handler of a FakeNetlinkSocket.
//
//   RTM_GETLINK (by name or index, with or without RTEXT_FILTER_VF) answers
//   the PF as the kernel encodes it (net::EncodeLink); RTM_SETLINK with one
//   IFLA_VF_INFO field updates the VF and appends a line to calls();
//   RTM_SETLINK with ifi_change IFF_UP and no attributes sets or clears
//   IFF_UP ("SetUp <pf> up|down" in calls()); anything else fails with
//   EOPNOTSUPP. Unknown links fail with ENODEV.
//
// FailOnce(field, errno, text) makes the next set of that field fail with
// the errno and extended-ACK text, as a refusing driver would.
//
// With a state file the PF state is loaded before and saved after every
// request, so forked children (crash tests) and the parent share it; calls
// are appended to "<state file>.calls" as lines like
//   "SetVf enp1s0f0 vf 2 vlan 100 0 0x8100".
//
// Header-only; tests that include it link sk::net.

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

#include "lib/net/link_ops.h"
#include "tests/testing/fake_netlink_socket.h"

namespace sk::testing {

class FakePfNetlink {
 public:
  explicit FakePfNetlink(std::filesystem::path state_file = {})
      : state_file_(std::move(state_file)) {}

  // Adds a PF with `num_vfs` VFs in the default state (zero MAC, spoofchk
  // on, no VLAN).
  void AddPf(const std::string& name, int index, int num_vfs,
             uint32_t mtu = 1500) {
    Load();
    net::LinkInfo pf;
    pf.name = name;
    pf.index = index;
    pf.mtu = mtu;
    pf.num_vf = static_cast<uint32_t>(num_vfs);
    for (int i = 0; i < num_vfs; ++i) {
      net::VfInfo v;
      v.id = static_cast<uint32_t>(i);
      v.spoofchk = true;
      pf.vfs.push_back(v);
    }
    pfs_[name] = pf;
    Save();
  }

  void Install(FakeNetlinkSocket& sock) {
    sock.set_handler([this](const netlink::Message& m) { return Handle(m); });
  }

  net::VfInfo Vf(const std::string& pf, uint32_t id) {
    Load();
    return pfs_.at(pf).vfs.at(id);
  }
  void SetVfState(const std::string& pf, const net::VfInfo& v) {
    Load();
    pfs_.at(pf).vfs.at(v.id) = v;
    Save();
  }
  // The PF's IFF_* flags (0 after AddPf: link down).
  void SetFlags(const std::string& pf, uint32_t flags) {
    Load();
    pfs_.at(pf).flags = flags;
    Save();
  }
  uint32_t Flags(const std::string& pf) {
    Load();
    return pfs_.at(pf).flags;
  }
  // The next RTM_SETLINK IFF_UP fails with `errnum` and `text`.
  void FailSetUpOnce(int errnum, const std::string& text) {
    fail_up_ = {errnum, text};
  }
  void FailOnce(net::VfField f, int errnum, const std::string& text) {
    FailTimes(f, 1, errnum, text);
  }
  // The next `times` sets of `f` fail.
  void FailTimes(net::VfField f, int times, int errnum,
                 const std::string& text) {
    fail_[f] = {times, {errnum, text}};
  }
  void FailAlways(net::VfField f, int errnum, const std::string& text) {
    fail_always_[f] = {errnum, text};
  }
  std::vector<std::string> calls() {
    if (state_file_.empty()) return calls_;
    std::vector<std::string> out;
    std::ifstream in(state_file_.string() + ".calls");
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void ClearCalls() {
    calls_.clear();
    if (!state_file_.empty())
      std::filesystem::remove(state_file_.string() + ".calls");
  }

  // An rtnetlink-style error Status (errno payload + ext-ack text).
  static absl::Status KernelError(int errnum, const std::string& text) {
    netlink::MessageBuilder b(NLMSG_ERROR, NLM_F_ACK_TLVS | NLM_F_CAPPED);
    nlmsgerr e{};
    e.error = -errnum;
    b.PutHeader(e);
    if (!text.empty()) b.PutString(NLMSGERR_ATTR_MSG, text);
    return netlink::ErrorFromMessage(std::move(b).Build());
  }

 private:
  FakeNetlinkSocket::Reply Handle(const netlink::Message& m) {
    // Processes sharing the state file (forked children, concurrent
    // delegate runs) take turns: an flock on "<state file>.lock" around the
    // load, the request and the save.
    int lock = -1;
    if (!state_file_.empty()) {
      lock = ::open((state_file_.string() + ".lock").c_str(),
                    O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (lock >= 0) ::flock(lock, LOCK_EX);
    }
    Load();
    FakeNetlinkSocket::Reply r = HandleLoaded(m);
    Save();
    if (lock >= 0) ::close(lock);
    return r;
  }

  FakeNetlinkSocket::Reply HandleLoaded(const netlink::Message& m) {
    if (m.type() == RTM_GETLINK) {
      auto ifi = m.Header<ifinfomsg>();
      auto attrs = m.Attributes(sizeof(ifinfomsg));
      if (!ifi.ok() || !attrs.ok()) return KernelError(EINVAL, "bad request");
      std::string name;
      if (const auto* a = attrs->Find(IFLA_IFNAME)) name = a->AsString();
      bool vfs = false;
      if (const auto* a = attrs->Find(IFLA_EXT_MASK)) {
        auto v = a->AsU32();
        vfs = v.ok() && (*v & RTEXT_FILTER_VF);
      }
      for (auto& [n, pf] : pfs_) {
        if ((!name.empty() && n == name) ||
            (name.empty() && pf.index == ifi->ifi_index))
          return std::vector<netlink::Message>{net::EncodeLink(pf, vfs)};
      }
      return KernelError(ENODEV, "");
    }
    if (m.type() == RTM_SETLINK) {
      auto ifi = m.Header<ifinfomsg>();
      auto attrs = m.Attributes(sizeof(ifinfomsg));
      if (ifi.ok() && attrs.ok() && ifi->ifi_change == IFF_UP &&
          attrs->Find(IFLA_VFINFO_LIST) == nullptr) {
        for (auto& [n, p] : pfs_) {
          if (p.index != ifi->ifi_index) continue;
          bool up = (ifi->ifi_flags & IFF_UP) != 0;
          std::string line = absl::StrCat("SetUp ", n, up ? " up" : " down");
          if (fail_up_) {
            auto f = *fail_up_;
            fail_up_.reset();
            AppendCall(line + " -> errno " + std::to_string(f.first));
            return KernelError(f.first, f.second);
          }
          p.flags = up ? (p.flags | IFF_UP) : (p.flags & ~uint32_t{IFF_UP});
          AppendCall(line);
          return std::vector<netlink::Message>{};
        }
        return KernelError(ENODEV, "");
      }
    }
    auto req = net::ParseSetVfs(m);
    if (!req.ok())
      return KernelError(EOPNOTSUPP, "fake PF: unsupported request");
    net::LinkInfo* pf = nullptr;
    for (auto& [n, p] : pfs_)
      if (p.index == req->pf_index) pf = &p;
    if (pf == nullptr) return KernelError(ENODEV, "");
    if (req->values.id >= pf->vfs.size())
      return KernelError(EINVAL, "vf id out of range");
    net::VfInfo& v = pf->vfs[req->values.id];
    const net::VfInfo& n = req->values;
    for (net::VfField f : net::kKernelVfApplyOrder) {
      if (std::find(req->fields.begin(), req->fields.end(), f) ==
          req->fields.end())
        continue;
      std::optional<std::pair<int, std::string>> refuse;
      if (auto it = fail_.find(f); it != fail_.end()) {
        refuse = it->second.second;
        if (--it->second.first == 0) fail_.erase(it);
      } else if (auto a = fail_always_.find(f); a != fail_always_.end()) {
        refuse = a->second;
      }
      if (refuse) {
        std::string at = req->fields.size() > 1 ? " at " + net::VfFieldName(f)
                                                : std::string();
        Log(*pf, *req, " -> errno " + std::to_string(refuse->first) + at);
        return KernelError(refuse->first, refuse->second);
      }
      switch (f) {
        case net::VfField::kVlan:
          v.vlan = n.vlan;
          v.qos = n.qos;
          v.vlan_proto = n.vlan_proto;
          break;
        case net::VfField::kMac:
          v.mac = n.mac;
          break;
        case net::VfField::kRate:
          v.min_tx_rate = n.min_tx_rate;
          v.max_tx_rate = n.max_tx_rate;
          break;
        case net::VfField::kSpoofchk:
          v.spoofchk = n.spoofchk;
          break;
        case net::VfField::kTrust:
          v.trust = n.trust;
          break;
        case net::VfField::kLinkState:
          v.link_state = n.link_state;
          break;
      }
    }
    Log(*pf, *req, "");
    return std::vector<netlink::Message>{};
  }

  void Log(const net::LinkInfo& pf, const net::SetVfsRequest& r,
           const std::string& suffix) {
    const net::VfInfo& n = r.values;
    std::string line = absl::StrCat(r.fields.size() > 1 ? "SetVfs " : "SetVf ",
                                    pf.name, " vf ", n.id, " ");
    bool first = true;
    for (net::VfField f : r.fields) {
      if (!first) line += ", ";
      first = false;
      absl::StrAppend(&line, net::VfFieldName(f), " ");
      switch (f) {
        case net::VfField::kVlan:
          absl::StrAppend(&line, n.vlan, " ", n.qos,
                          absl::StrFormat(" 0x%04x", n.vlan_proto));
          break;
        case net::VfField::kMac:
          absl::StrAppend(&line, net::MacToString(n.mac));
          break;
        case net::VfField::kRate:
          absl::StrAppend(&line, n.min_tx_rate, " ", n.max_tx_rate);
          break;
        case net::VfField::kSpoofchk:
          absl::StrAppend(&line, n.spoofchk ? "on" : "off");
          break;
        case net::VfField::kTrust:
          absl::StrAppend(&line, n.trust ? "on" : "off");
          break;
        case net::VfField::kLinkState:
          absl::StrAppend(&line, n.link_state);
          break;
      }
    }
    line += suffix;
    AppendCall(line);
  }

  void AppendCall(const std::string& line) {
    if (state_file_.empty()) {
      calls_.push_back(line);
    } else {
      std::ofstream(state_file_.string() + ".calls", std::ios::app)
          << line << "\n";
    }
  }

  void Load() {
    if (state_file_.empty() || !std::filesystem::exists(state_file_)) return;
    std::ifstream in(state_file_);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object()) return;
    pfs_.clear();
    for (auto& [name, p] : j.items()) {
      net::LinkInfo pf;
      pf.name = name;
      pf.index = p["index"];
      pf.mtu = p["mtu"];
      pf.flags = p.value("flags", 0u);
      pf.num_vf = p["num_vf"].get<uint32_t>();
      for (auto& v : p["vfs"]) {
        net::VfInfo vf;
        vf.id = v["id"];
        auto mac = net::ParseMac(v["mac"].get<std::string>());
        if (mac.ok()) vf.mac = *mac;
        vf.vlan = v["vlan"];
        vf.qos = v["qos"];
        vf.vlan_proto = v["proto"];
        vf.min_tx_rate = v["min"];
        vf.max_tx_rate = v["max"];
        vf.spoofchk = v["spoofchk"];
        vf.trust = v["trust"];
        vf.link_state = v["state"];
        pf.vfs.push_back(vf);
      }
      pfs_[name] = pf;
    }
  }

  void Save() {
    if (state_file_.empty()) return;
    nlohmann::json j = nlohmann::json::object();
    for (auto& [name, pf] : pfs_) {
      nlohmann::json vfs = nlohmann::json::array();
      for (const auto& v : pf.vfs) {
        vfs.push_back({{"id", v.id},
                       {"mac", net::MacToString(v.mac)},
                       {"vlan", v.vlan},
                       {"qos", v.qos},
                       {"proto", v.vlan_proto},
                       {"min", v.min_tx_rate},
                       {"max", v.max_tx_rate},
                       {"spoofchk", v.spoofchk},
                       {"trust", v.trust},
                       {"state", v.link_state}});
      }
      j[name] = {{"index", pf.index},
                 {"mtu", pf.mtu},
                 {"flags", pf.flags},
                 {"num_vf", pf.num_vf.value_or(0)},
                 {"vfs", vfs}};
    }
    std::string tmp = state_file_.string() + ".tmp";
    std::ofstream(tmp) << j.dump();
    std::filesystem::rename(tmp, state_file_);
  }

  std::filesystem::path state_file_;
  std::map<std::string, net::LinkInfo> pfs_;
  // field -> (sets left to fail, (errno, text))
  std::map<net::VfField, std::pair<int, std::pair<int, std::string>>> fail_;
  std::map<net::VfField, std::pair<int, std::string>> fail_always_;
  std::vector<std::string> calls_;
  std::optional<std::pair<int, std::string>> fail_up_;
};

}  // namespace sk::testing
