#pragma once
// Runs one sriovctl subcommand in-process the way src/cmd/sriovctl/main.cc
// does: the subcommand registered by `add`, then the global flags, then
// ctl::ParseAndRun (--help gives kExitOk, parse errors kExitUsage) with
// captured streams.
//
//   auto r = sk::testing::RunCtl(
//       [](CLI::App& app, const ctl::CtlOptions& o, ctl::RunFn* run) {
//         ctl::AddDoctorCommand(app, o, run);
//       },
//       {"--sysfs-root", root, "doctor", "--json"});
//   EXPECT_EQ(r.code, 0);

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/ctl/ctl.h"

namespace sk::testing {

struct CtlResult {
  int code = -1;
  std::string out;
  std::string err;
};

using CtlAddFn =
    std::function<void(CLI::App&, const ctl::CtlOptions&, ctl::RunFn*)>;

inline CtlResult RunCtl(const CtlAddFn& add, std::vector<std::string> args) {
  CLI::App app{"sriovctl: SR-IOV for VMs on Kubernetes, admin CLI", "sriovctl"};
  app.require_subcommand(1);
  ctl::CtlOptions opts;
  ctl::RunFn run;
  add(app, opts, &run);
  ctl::AddGlobalFlags(app, opts);
  std::ostringstream out, err;
  CtlResult r;
  r.code = ctl::ParseAndRun(app, args, run, ctl::Io{&out, &err});
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace sk::testing
