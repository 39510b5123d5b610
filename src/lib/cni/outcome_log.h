#pragma once

// The `sriov` plugin's log: one structured line per invocation (after one
// warning line per best-effort failure, e.g. a GARP not sent), in upstream
// sriov-cni's logrus key=value shape, to the network config's logFile.
// Upstream logs to stderr when logFile is unset; we stay quiet then.
// logLevel "error" logs failures only (and no warnings); "panic" nothing.
//
//   std::optional<OutcomeLog> log =
//       FormatOutcomeLog(config, status, warnings, getenv, std::time(nullptr));
//   if (log) ...append log->text to log->path (O_APPEND, O_CLOEXEC)...
//
// A line:
//   time="2026-12-01T06:52:00Z" level=info msg="done" cniName=sriov-cni
//   command=ADD containerID=c1 netns=/proc/1/ns/net ifname=net1

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

#include "lib/cni/env.h"

namespace sk::cni {

struct OutcomeLog {
  std::string path;  // the config's logFile
  std::string text;  // whole lines, each ending in '\n'
};

// What to append for a run on network config `config` that ended in
// `status`, with the plugin's `warnings`, at `now`; the command, container
// id, netns and ifname are CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS and
// CNI_IFNAME from `getenv` ("" when unset). nullopt when nothing is logged:
// `config` is not a JSON object with a string logFile, or logLevel is
// "panic", or it is "error" and `status` is OK. A logLevel that is not a
// string (which the plugin refuses as a config error) reads as the default,
// "info". Never throws.
std::optional<OutcomeLog> FormatOutcomeLog(
    std::string_view config, const absl::Status& status,
    const std::vector<std::string>& warnings, const GetEnvFn& getenv,
    std::time_t now);

}  // namespace sk::cni
