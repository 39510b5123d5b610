#pragma once
// `sriovctl explain --config FILE [--json] [--resource-prefix P]
// [--exclude-default-route=false]`: for every PCI network function under
// --sysfs-root, which device-plugin pool and selector take it, or why it is
// left out (sk::deviceplugin::ExplainHost, the same code as
// `sriov-device-plugin --explain`).
//
// Exit codes: 0 printed; 66 the config file or sysfs is missing; 65 the
// config is invalid (the message names the file, the key and the value).
// Errors go to the error stream as "sriovctl explain: <message>".

#include "lib/ctl/ctl.h"

namespace sk::ctl {

void AddExplainCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);

}  // namespace sk::ctl
