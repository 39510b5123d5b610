// kubelet-stand-in: a command-line KubeletStandIn for the lab (kubelet does
// not run in the lab guest). It serves kubelet.sock (legacy mode) or scans
// plugins_registry (watcher mode), waits for a resource to register with at
// least --expect devices, optionally Allocates --allocate IDs (or, with
// --allocate-count N, N of the advertised Healthy devices as kubelet's device
// manager picks them without a preferred allocation; the first N by ID here,
// so runs are reproducible), and prints
// one JSON object: {"devices":[ListAndWatch devices], "allocate":
// AllocateResponse} (protobuf JSON mapping). Exit 0 on success, 69 when the
// plugin does not register in time, 65 when Allocate fails, 64 on bad usage.
// --resource may be repeated (a pod asking for devices of several pools):
// --expect and --allocate-count then apply to each resource, all allocations
// go to the same container, "devices"/"allocate" are the first resource's,
// and "allocations" lists every resource's
// {"resource","devices","allocate"} in order.
//
// The allocation is recorded for --pod NS/NAME (--pod-uid, --container);
// with --pod-resources-socket the PodResources v1 API serves it, with
// --checkpoint it is written in kubelet's checkpoint format, and --linger
// keeps serving for N seconds after printing (-1: until SIGTERM or SIGINT).
// --watch-log FILE appends one JSON line per ListAndWatch list received
// (from registration until exit), for timing live updates:
//   {"t_ms":<unix time,
//   ms>,"resource":"intel.com/x","devices":{"ID":"Healthy",...}}
#include <signal.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>

#include "lib/base/exit_code.h"
#include "lib/base/strings.h"
#include "tests/testing/kubelet_stand_in.h"

int main(int argc, char** argv) {
  CLI::App app{"kubelet-stand-in: kubelet's device-manager side, for tests"};
  std::string dir = "/var/lib/kubelet/device-plugins";
  std::string registry;
  std::vector<std::string> resources;
  size_t expect = 1;
  double timeout_s = 10;
  std::vector<std::string> ids;
  size_t allocate_count = 0;
  std::string pod = "default/stand-in-pod";
  std::string pod_uid = "stand-in-pod-uid";
  std::string container = "compute";
  std::string pod_resources_socket;
  bool get_unimplemented = false;
  std::string checkpoint;
  double linger_s = 0;
  std::string watch_log;
  app.add_option("--device-plugin-path", dir, "serve <dir>/kubelet.sock");
  app.add_option("--plugins-registry-path", registry,
                 "watcher mode: scan this directory instead");
  app.add_option("--resource", resources,
                 "<prefix>/<name> (repeatable: one container's pools)")
      ->required();
  app.add_option("--expect", expect, "wait for at least N devices");
  app.add_option("--timeout", timeout_s, "seconds");
  CLI::Option* allocate_opt =
      app.add_option("--allocate", ids, "device IDs for one container");
  app.add_option("--allocate-count", allocate_count,
                 "allocate this many Healthy devices (first by ID)")
      ->excludes(allocate_opt);
  app.add_option("--pod", pod, "NAMESPACE/NAME the allocation is for");
  app.add_option("--pod-uid", pod_uid, "UID of --pod (checkpoint key)");
  app.add_option("--container", container, "container of --pod");
  app.add_option("--pod-resources-socket", pod_resources_socket,
                 "serve v1.PodResourcesLister on this unix socket");
  app.add_flag("--get-unimplemented", get_unimplemented,
               "PodResources Get answers UNIMPLEMENTED (kubelet < 1.27)");
  app.add_option("--checkpoint", checkpoint,
                 "write kubelet's device-manager checkpoint here");
  app.add_option("--linger", linger_s,
                 "keep serving N seconds after printing (-1: until signalled)");
  app.add_option("--watch-log", watch_log,
                 "append every ListAndWatch list to FILE (JSON lines)");
  CLI11_PARSE(app, argc, argv);
  const size_t slash = pod.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == pod.size()) {
    std::cerr << "--pod " << pod << ": want NAMESPACE/NAME\n";
    return sk::kExitUsage;
  }
  if (resources.size() > 1 && !ids.empty()) {
    std::cerr << "--allocate names the devices of one --resource; with "
              << resources.size() << " resources use --allocate-count\n";
    return sk::kExitUsage;
  }
  // Blocked before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (linger_s < 0) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  using sk::deviceplugin::KubeletStandIn;
  auto k = registry.empty() ? KubeletStandIn::StartLegacy(dir)
                            : KubeletStandIn::StartWatcher(registry);
  if (!k.ok()) {
    std::cerr << k.status() << "\n";
    return sk::kExitUnavailable;
  }
  (*k)->set_get_unimplemented(get_unimplemented);
  if (!watch_log.empty()) {
    auto log = std::make_shared<std::ofstream>(watch_log, std::ios::app);
    if (!*log) {
      std::cerr << "--watch-log " << watch_log << ": cannot open\n";
      return sk::kExitUsage;
    }
    (*k)->set_list_observer([log](const std::string& res,
                                  const std::vector<v1beta1::Device>& devs) {
      *log << "{\"t_ms\":" << absl::ToUnixMillis(absl::Now())
           << ",\"resource\":\"" << res << "\",\"devices\":{";
      for (size_t i = 0; i < devs.size(); ++i) {
        *log << (i ? "," : "") << '"' << devs[i].id() << "\":\""
             << devs[i].health() << '"';
      }
      *log << "}}" << std::endl;
    });
  }
  if (!pod_resources_socket.empty()) {
    if (auto s = (*k)->ServePodResources(pod_resources_socket); !s.ok()) {
      std::cerr << s << "\n";
      return sk::kExitUnavailable;
    }
  }
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  KubeletStandIn::PodContainer who{pod.substr(0, slash), pod.substr(slash + 1),
                                   pod_uid, container};
  int rc = sk::kExitOk;
  std::string first;  // "devices":[...][,"allocate":{...}] of resources[0]
  std::string all;    // the "allocations" elements
  for (size_t r = 0; r < resources.size() && rc == sk::kExitOk; ++r) {
    const std::string& resource = resources[r];
    auto devices =
        (*k)->WaitForDevices(resource, expect, absl::Seconds(timeout_s));
    if (!devices.ok()) {
      std::cerr << resource << ": " << devices.status() << "\n";
      return sk::kExitUnavailable;
    }
    std::string out = "\"devices\":[";
    for (size_t i = 0; i < devices->size(); ++i) {
      std::string j;
      (void)google::protobuf::util::MessageToJsonString((*devices)[i], &j,
                                                        opts);
      out += (i ? "," : "") + j;
    }
    out += "]";
    std::vector<std::string> want = ids;
    if (allocate_count > 0) {
      std::vector<std::string> healthy;
      for (const auto& d : *devices) {
        if (d.health() == "Healthy") healthy.push_back(d.id());
      }
      std::sort(healthy.begin(), healthy.end());
      if (healthy.size() < allocate_count) {
        std::cerr << "--allocate-count " << allocate_count << ": " << resource
                  << " has only " << healthy.size() << " Healthy devices\n";
        return sk::kExitDataErr;
      }
      want.assign(
          healthy.begin(),
          healthy.begin() + static_cast<std::ptrdiff_t>(allocate_count));
    }
    if (!want.empty()) {
      auto resp = (*k)->AllocateFor(who, resource, want);
      if (resp.ok()) {
        std::string j;
        (void)google::protobuf::util::MessageToJsonString(*resp, &j, opts);
        out += ",\"allocate\":" + j;
      } else {
        std::cerr << resource << ": " << resp.status() << "\n";
        rc = sk::kExitDataErr;
      }
    }
    if (r == 0) first = out;
    all +=
        sk::StrCat(r ? "," : "", "{\"resource\":\"", resource, "\",", out, "}");
  }
  std::string out = sk::StrCat("{", first, ",\"allocations\":[", all, "]");
  if (!checkpoint.empty()) {
    if (auto s = (*k)->WriteCheckpoint(checkpoint); !s.ok()) {
      std::cerr << s << "\n";
      rc = sk::ExitCodeForStatus(s);
    }
  }
  std::cout << out << "}" << std::endl;
  if (linger_s < 0) {
    int sig = 0;
    sigwait(&stop_signals, &sig);
  } else if (linger_s > 0) {
    absl::SleepFor(absl::Seconds(linger_s));
  }
  return rc;
}
