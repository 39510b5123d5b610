// kubelet-stand-in: a command-line KubeletStandIn for the lab (kubelet does
// not run in the lab guest). It serves kubelet.sock (legacy mode) or scans
// plugins_registry (watcher mode), waits for a resource to register with at
// least --expect devices, optionally Allocates --allocate IDs, and prints
// one JSON object: {"devices":[ListAndWatch devices], "allocate":
// AllocateResponse} (protobuf JSON mapping). Exit 0 on success, 69 when the
// plugin does not register in time, 65 when Allocate fails.
#include <iostream>

#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>

#include "lib/base/exit_code.h"
#include "tests/testing/kubelet_stand_in.h"

int main(int argc, char** argv) {
  CLI::App app{"kubelet-stand-in: kubelet's device-manager side, for tests"};
  std::string dir = "/var/lib/kubelet/device-plugins";
  std::string registry;
  std::string resource;
  size_t expect = 1;
  double timeout_s = 10;
  std::vector<std::string> ids;
  app.add_option("--device-plugin-path", dir, "serve <dir>/kubelet.sock");
  app.add_option("--plugins-registry-path", registry,
                 "watcher mode: scan this directory instead");
  app.add_option("--resource", resource, "<prefix>/<name>")->required();
  app.add_option("--expect", expect, "wait for at least N devices");
  app.add_option("--timeout", timeout_s, "seconds");
  app.add_option("--allocate", ids, "device IDs for one container");
  CLI11_PARSE(app, argc, argv);

  using sk::deviceplugin::KubeletStandIn;
  auto k = registry.empty() ? KubeletStandIn::StartLegacy(dir)
                            : KubeletStandIn::StartWatcher(registry);
  if (!k.ok()) {
    std::cerr << k.status() << "\n";
    return sk::kExitUnavailable;
  }
  auto devices =
      (*k)->WaitForDevices(resource, expect, absl::Seconds(timeout_s));
  if (!devices.ok()) {
    std::cerr << devices.status() << "\n";
    return sk::kExitUnavailable;
  }
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  std::string out = "{\"devices\":[";
  for (size_t i = 0; i < devices->size(); ++i) {
    std::string j;
    (void)google::protobuf::util::MessageToJsonString((*devices)[i], &j, opts);
    out += (i ? "," : "") + j;
  }
  out += "]";
  int rc = sk::kExitOk;
  if (!ids.empty()) {
    auto resp = (*k)->Allocate(resource, ids);
    if (resp.ok()) {
      std::string j;
      (void)google::protobuf::util::MessageToJsonString(*resp, &j, opts);
      out += ",\"allocate\":" + j;
    } else {
      std::cerr << resp.status() << "\n";
      rc = sk::kExitDataErr;
    }
  }
  std::cout << out << "}\n";
  return rc;
}
