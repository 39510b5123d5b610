#pragma once
// In-memory stand-ins for the meta-plugin's cluster seams
// (src/lib/netattach/sources.h), with error injection, and fake CNI
// plugins: small /bin/sh scripts that log every call and answer a result
// derived from their environment.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"

#include "lib/netattach/sources.h"

namespace sk::testing {

class FakePodSource : public netattach::PodSource {
 public:
  void Put(netattach::Pod pod) {
    std::lock_guard<std::mutex> l(mu_);
    pods_[pod.ns + "/" + pod.name] = std::move(pod);
  }
  void Remove(const std::string& ns, const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    pods_.erase(ns + "/" + name);
  }
  void FailWith(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    fail_ = std::move(s);
  }
  absl::StatusOr<netattach::Pod> GetPod(const std::string& ns,
                                        const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    ++calls_;
    if (!fail_.ok()) return fail_;
    auto it = pods_.find(ns + "/" + name);
    if (it == pods_.end())
      return absl::NotFoundError("pods \"" + name + "\" not found");
    return it->second;
  }
  int calls() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, netattach::Pod> pods_;
  absl::Status fail_;
  int calls_ = 0;
};

class FakeNadSource : public netattach::NadSource {
 public:
  // A NAD with `config` as spec.config (omitted when empty) and, when given,
  // the resourceName annotation.
  void Put(const std::string& ns, const std::string& name,
           const std::string& config, const std::string& resource = "") {
    nlohmann::json nad = {{"metadata", {{"namespace", ns}, {"name", name}}},
                          {"spec", nlohmann::json::object()}};
    if (!config.empty()) nad["spec"]["config"] = config;
    if (!resource.empty())
      nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] =
          resource;
    std::lock_guard<std::mutex> l(mu_);
    nads_[ns + "/" + name] = nad;
  }
  // Every later GetNad fails with `s` (OK: answer again).
  void FailWith(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    fail_ = std::move(s);
  }
  absl::StatusOr<nlohmann::json> GetNad(const std::string& ns,
                                        const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!fail_.ok()) return fail_;
    auto it = nads_.find(ns + "/" + name);
    if (it == nads_.end())
      return absl::NotFoundError(
          "network-attachment-definitions.k8s.cni.cncf.io \"" + name +
          "\" not found");
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, nlohmann::json> nads_;
  absl::Status fail_;
};

class FakeDeviceSource : public netattach::DeviceSource {
 public:
  void Set(const std::string& pod_uid,
           std::map<std::string, std::vector<std::string>> devices) {
    std::lock_guard<std::mutex> l(mu_);
    devices_[pod_uid] = std::move(devices);
  }
  void FailWith(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    fail_ = std::move(s);
  }
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> PodDevices(
      const netattach::Pod& pod) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!fail_.ok()) return fail_;
    auto it = devices_.find(pod.uid);
    if (it == devices_.end())
      return std::map<std::string, std::vector<std::string>>{};
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>>
      devices_;
  absl::Status fail_;
};

class FakePodStatusWriter : public netattach::PodStatusWriter {
 public:
  absl::Status SetNetworkStatus(const std::string& ns, const std::string& name,
                                const std::string& json) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!fail_.ok()) return fail_;
    written_[ns + "/" + name] = json;
    ++writes_;
    return absl::OkStatus();
  }
  void FailWith(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    fail_ = std::move(s);
  }
  // The last value written for "ns/name" ("" when none).
  std::string Written(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = written_.find(key);
    return it == written_.end() ? "" : it->second;
  }
  int writes() {
    std::lock_guard<std::mutex> l(mu_);
    return writes_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> written_;
  absl::Status fail_;
  int writes_ = 0;
};

// One logged call of a fake plugin.
struct FakePluginCall {
  std::string command, type, ifname, args, netns, stdin_json;
};

// Writes an executable fake plugin `dir/name`. Every call appends
// "COMMAND|name|IFNAME|ARGS|NETNS|<stdin>" to `log`. On ADD it prints a
// result for CNI_IFNAME in CNI_NETNS (mac 02:00:00:00:00:<NN>, address
// 10.0.<NN>.2/24, gateway 10.0.<NN>.1, a default route) where NN is
// `octet`. `extra` is shell run before answering (e.g. "exit 3").
inline void WriteFakePlugin(const std::filesystem::path& dir,
                            const std::string& name,
                            const std::filesystem::path& log, int octet,
                            const std::string& extra = "") {
  std::string nn = (octet < 10 ? "0" : "") + std::to_string(octet);
  std::string o = std::to_string(octet);
  std::ofstream f(dir / name);
  f << "#!/bin/sh\n"
    << "in=$(cat)\n"
    << "printf '%s|%s|%s|%s|%s|%s\\n' \"$CNI_COMMAND\" " << name
    << " \"$CNI_IFNAME\" \"$CNI_ARGS\" \"$CNI_NETNS\" \"$in\" >> " << log
    << "\n"
    << extra << "\n"
    << "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
    << "printf '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"%s\","
       "\"mac\":\"02:00:00:00:00:"
    << nn
    << "\",\"mtu\":1400,\"sandbox\":\"%s\"}],\"ips\":[{\"address\":\"10.0." << o
    << ".2/24\",\"gateway\":\"10.0." << o
    << ".1\",\"interface\":0}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":"
       "\"10.0."
    << o << ".1\"}],\"dns\":{\"nameservers\":[\"10.0." << o
    << ".53\"]}}' \"$CNI_IFNAME\" \"$CNI_NETNS\"\n";
  f.close();
  ::chmod((dir / name).c_str(), 0755);
}

// A fake plugin that fails every `command` (ADD, DEL, ...) with CNI error
// `code`/`msg`, and otherwise behaves as WriteFakePlugin's.
inline void WriteFailingPlugin(const std::filesystem::path& dir,
                               const std::string& name,
                               const std::filesystem::path& log,
                               const std::string& command, int code,
                               const std::string& msg) {
  WriteFakePlugin(dir, name, log, 99,
                  "[ \"$CNI_COMMAND\" = " + command +
                      " ] && { printf '{\"cniVersion\":\"1.0.0\",\"code\":" +
                      std::to_string(code) + ",\"msg\":\"" + msg +
                      "\",\"details\":\"more\"}'; exit 1; }");
}

inline std::vector<FakePluginCall> ReadFakePluginCalls(
    const std::filesystem::path& log) {
  std::vector<FakePluginCall> calls;
  std::ifstream f(log);
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> p = absl::StrSplit(line, absl::MaxSplits('|', 5));
    if (p.size() != 6) continue;
    calls.push_back({p[0], p[1], p[2], p[3], p[4], p[5]});
  }
  return calls;
}

}  // namespace sk::testing
