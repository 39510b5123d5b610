#pragma once
// `sriovctl doctor [--json]`: runs every sk::doctor check against the roots
// given by the global flags (--sysfs-root, --proc-root, --dev-root) and prints
// one verdict per check with its evidence and fix.
//
// Exit code: 0 all checks pass (or skip), 1 warnings only, 2 any failure
// (lib/base/exit_code.h; docs/exit-codes.md). The report goes to stdout in
// both formats; the exit code is the same for text and --json. Before any
// check, each root must be a directory: 66 (no such directory, or a symlink
// loop) or 65 (not a directory), naming the flag, and no report.
//
// --json prints one object (schema in docs/doctor.md):
//   {"schema": "sriovkit.doctor/v1",
//    "roots": {"sysfs": "/", "proc": "/", "dev": "/"},
//    "checks": [{"name": "iommu-active", "title": "IOMMU active",
//                "verdict": "FAIL", "summary": "...",
//                "evidence": ["..."], "fix": "..."}, ...],
//    "summary": {"pass": 3, "warn": 1, "fail": 4, "skip": 1},
//    "exit_code": 2}

#include <string>
#include <vector>

#include "lib/ctl/ctl.h"
#include "lib/doctor/doctor.h"

namespace sk::ctl {

void AddDoctorCommand(CLI::App& app, const CtlOptions& opts, RunFn* run);

// The two renderings, exposed for tests.
std::string FormatDoctorText(const doctor::Roots& roots,
                             const std::vector<doctor::Check>& checks);
std::string FormatDoctorJson(const doctor::Roots& roots,
                             const std::vector<doctor::Check>& checks);

}  // namespace sk::ctl
