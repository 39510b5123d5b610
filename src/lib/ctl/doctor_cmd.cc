#include "lib/ctl/doctor_cmd.h"

#include <map>
#include <memory>
#include <ostream>

#include "absl/strings/str_split.h"
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lib/base/exit_code.h"
#include "lib/base/strings.h"

namespace sk::ctl {
namespace {

using doctor::Check;
using doctor::Verdict;

constexpr size_t kWidth = 100;

// Appends `text` word-wrapped at kWidth, the first line after `first`, the
// rest indented like it. Long words (paths) are never split.
void AppendWrapped(std::string& out, std::string_view first,
                   std::string_view text) {
  std::string indent(first.size(), ' ');
  std::string line(first);
  bool empty = true;
  for (absl::string_view w :
       absl::StrSplit(ToAbsl(text), ' ', absl::SkipEmpty())) {
    if (!empty && line.size() + 1 + w.size() > kWidth) {
      out += line + "\n";
      line = indent;
      empty = true;
    }
    if (!empty) line += ' ';
    line.append(w.data(), w.size());
    empty = false;
  }
  out += line + "\n";
}

std::map<Verdict, int> Count(const std::vector<Check>& checks) {
  std::map<Verdict, int> n{{Verdict::kPass, 0},
                           {Verdict::kWarn, 0},
                           {Verdict::kFail, 0},
                           {Verdict::kSkip, 0}};
  for (const Check& c : checks) ++n[c.verdict];
  return n;
}

}  // namespace

std::string FormatDoctorText(const doctor::Roots& roots,
                             const std::vector<Check>& checks) {
  std::string out =
      sk::StrCat("sriovctl doctor: sysfs root ", roots.sysfs, ", proc root ",
                 roots.proc, ", dev root ", roots.dev, "\n\n");
  for (const Check& c : checks) {
    AppendWrapped(out, sk::StrCat(doctor::VerdictName(c.verdict), "  "),
                  sk::StrCat(c.title, " [", c.name, "]: ", c.summary));
    for (const std::string& e : c.evidence)
      AppendWrapped(out, "      evidence: ", e);
    if (!c.fix.empty()) AppendWrapped(out, "      fix: ", c.fix);
  }
  std::map<Verdict, int> n = Count(checks);
  int code = doctor::ExitCodeFor(checks);
  out += sk::StrCat("\n", n[Verdict::kPass], " passed, ", n[Verdict::kWarn],
                    " warnings, ", n[Verdict::kFail], " failed, ",
                    n[Verdict::kSkip], " skipped: ",
                    code == 0   ? "ready for VM passthrough"
                    : code == 1 ? "usable, see warnings"
                                : "not ready for VM passthrough",
                    " (exit ", code, ")\n");
  return out;
}

std::string FormatDoctorJson(const doctor::Roots& roots,
                             const std::vector<Check>& checks) {
  nlohmann::ordered_json j;
  j["schema"] = "sriovkit.doctor/v1";
  j["roots"] = {{"sysfs", roots.sysfs.string()},
                {"proc", roots.proc.string()},
                {"dev", roots.dev.string()}};
  j["checks"] = nlohmann::ordered_json::array();
  for (const Check& c : checks) {
    j["checks"].push_back({{"name", c.name},
                           {"title", c.title},
                           {"verdict", doctor::VerdictName(c.verdict)},
                           {"summary", c.summary},
                           {"evidence", c.evidence},
                           {"fix", c.fix}});
  }
  std::map<Verdict, int> n = Count(checks);
  j["summary"] = {{"pass", n[Verdict::kPass]},
                  {"warn", n[Verdict::kWarn]},
                  {"fail", n[Verdict::kFail]},
                  {"skip", n[Verdict::kSkip]}};
  j["exit_code"] = doctor::ExitCodeFor(checks);
  // Invalid UTF-8 read from a file must not abort the dump.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AddDoctorCommand(CLI::App& app, const CtlOptions& opts, RunFn* run) {
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Check this host for VM passthrough: CPU virtualization, IOMMU, "
      "interrupt remapping, vfio-pci, SR-IOV NICs and VFs. Exit code 0 all "
      "pass, 1 warnings, 2 failures.");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->callback([json, &opts, run]() {
    *run = [json, &opts](const Io& io) {
      // A mistyped root would otherwise read as a host with nothing on it.
      for (const auto& [flag, root] :
           {std::pair{"--sysfs-root", &opts.sysfs_root},
            std::pair{"--proc-root", &opts.proc_root},
            std::pair{"--dev-root", &opts.dev_root}}) {
        if (absl::Status s = CheckInputPath(flag, *root, PathKind::kDirectory);
            !s.ok()) {
          *io.err << "sriovctl doctor: " << s.message() << "\n";
          return ExitCodeForStatus(s);
        }
      }
      doctor::Roots roots{opts.sysfs_root, opts.proc_root, opts.dev_root};
      std::vector<Check> checks = doctor::RunAllChecks(roots);
      *io.out << (*json ? FormatDoctorJson(roots, checks)
                        : FormatDoctorText(roots, checks));
      io.out->flush();
      return doctor::ExitCodeFor(checks);
    };
  });
}

}  // namespace sk::ctl
