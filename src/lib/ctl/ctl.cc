#include "lib/ctl/ctl.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ostream>
#include <system_error>

#include <CLI/CLI.hpp>

#include "lib/base/errno_status.h"
#include "lib/base/exit_code.h"
#include "lib/base/strings.h"
#include "lib/version/version.h"

namespace sk::ctl {
namespace {

constexpr char kGlobalGroup[] = "Global options";

struct GlobalFlag {
  const char* name;
  std::string CtlOptions::*field;
  const char* env;
  const char* help;
};

constexpr GlobalFlag kGlobalFlags[] = {
    {"--sysfs-root", &CtlOptions::sysfs_root, "SRIOVKIT_SYSFS_ROOT",
     "Root under which sys/ is read"},
    {"--proc-root", &CtlOptions::proc_root, "SRIOVKIT_PROC_ROOT",
     "Root under which proc/ is read"},
    {"--dev-root", &CtlOptions::dev_root, "SRIOVKIT_DEV_ROOT",
     "Root under which dev/ is read"},
};

// Every app in the tree gets its own copy of each flag, bound to the same
// CtlOptions field. CLI11 runs a parent's option callbacks before its
// subcommands', so a flag given after a subcommand overrides one before it.
// The environment is read once in AddGlobalFlags rather than through
// CLI11's envname: CLI11 would apply it to every copy not given on the
// command line, after the copy that was.
void AddToTree(CLI::App& app, CtlOptions& opts) {
  for (const GlobalFlag& f : kGlobalFlags) {
    app.add_option(f.name, opts.*f.field,
                   sk::StrCat(f.help, " (env ", f.env, "; default /)"))
        ->type_name("DIR")
        ->group(kGlobalGroup);
  }
  app.set_version_flag("--version", sk::version::VersionLine("sriovctl"))
      ->group(kGlobalGroup);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) AddToTree(*sub, opts);
  }
}

std::string CommandPath(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* p = app->get_parent(); p != nullptr;
       p = p->get_parent()) {
    path = sk::StrCat(p->get_name(), " ", path);
  }
  return path;
}

// The message for a command line that stopped at a command needing a
// subcommand (`sriovctl invntory`, `sriovctl kubevirt`, `sriovctl --bogus`),
// or "" when the parse error is about something else.
std::string MissingCommandMessage(CLI::App& app) {
  CLI::App* cur = &app;
  for (std::vector<CLI::App*> parsed = cur->get_subcommands(); !parsed.empty();
       parsed = cur->get_subcommands()) {
    cur = parsed.front();
  }
  std::vector<std::string> names;
  for (CLI::App* sub : cur->get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) names.push_back(sub->get_name());
  }
  if (names.empty()) return "";
  std::string path = CommandPath(cur);
  std::vector<std::string> left = cur->remaining(false);
  if (left.empty()) {
    std::string list;
    for (const std::string& n : names)
      list = list.empty() ? n : sk::StrCat(list, ", ", n);
    return sk::StrCat(path, ": a command is required (one of: ", list, ")");
  }
  if (left.front().empty()) return "";
  if (left.front()[0] == '-') {  // CLI11 would only say a command is missing
    return sk::StrCat(app.get_name(), ": unknown flag \"", left.front(),
                      "\" for \"", path, "\"");
  }
  std::string msg = sk::StrCat(app.get_name(), ": unknown command \"",
                               left.front(), "\" for \"", path, "\"");
  std::string closest = ClosestName(left.front(), names);
  if (!closest.empty()) {
    return sk::StrCat(msg, "; did you mean \"", closest, "\"?");
  }
  std::string list;
  for (const std::string& n : names)
    list = list.empty() ? n : sk::StrCat(list, ", ", n);
  return sk::StrCat(msg, "; commands: ", list);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// Optimal string alignment distance (Levenshtein plus adjacent
// transpositions, as "domian" -> "domain" is one typo, not two).
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

void AddGlobalFlags(CLI::App& app, CtlOptions& opts) {
  for (const GlobalFlag& f : kGlobalFlags) {
    // Read while the CLI is still single-threaded, before parsing.
    const char* v = std::getenv(f.env);  // NOLINT(concurrency-mt-unsafe)
    if (v != nullptr && *v != '\0') opts.*f.field = v;
  }
  AddToTree(app, opts);
}

int ParseAndRun(CLI::App& app, const std::vector<std::string>& args,
                const RunFn& run, const Io& io) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      app.exit(e, *io.out, *io.err);
      return kExitOk;
    }
    if (std::string msg = MissingCommandMessage(app); !msg.empty()) {
      *io.err << msg << "\nRun with --help for more information.\n";
      return kExitUsage;
    }
    app.exit(e, *io.out, *io.err);
    return kExitUsage;
  }
  if (!run) return kExitUsage;
  return run(io);
}

std::string ClosestName(std::string_view word,
                        const std::vector<std::string>& names) {
  const std::string w = Lower(word);
  std::string best;
  size_t best_distance = 3;  // suggest only within distance 2
  for (const std::string& n : names) {
    size_t dist = Distance(w, Lower(n));
    if (dist < best_distance) {
      best = n;
      best_distance = dist;
    }
  }
  if (!best.empty() || w.empty()) return best;
  for (const std::string& n : names) {
    if (Lower(n).rfind(w, 0) == 0) return n;
  }
  return "";
}

absl::Status CheckInputPath(std::string_view flag,
                            const std::filesystem::path& path, PathKind kind) {
  const char* what = kind == PathKind::kFile ? "file" : "directory";
  std::error_code ec;
  std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found ||
      ec.value() == ENOENT || ec.value() == ENOTDIR) {
    return absl::NotFoundError(
        sk::StrCat(flag, " ", path.string(), ": no such ", what));
  }
  if (ec.value() == ELOOP) {
    return absl::NotFoundError(sk::StrCat(flag, " ", path.string(),
                                          ": symlink loop, no ", what,
                                          " at the end of it"));
  }
  if (ec) return ErrnoStatus(ec.value(), flag, " ", path.string());
  const bool is_dir = std::filesystem::is_directory(st);
  if (kind == PathKind::kFile && is_dir) {
    return absl::InvalidArgumentError(sk::StrCat(
        flag, " ", path.string(), ": is a directory, expected a file"));
  }
  if (kind == PathKind::kDirectory && !is_dir) {
    return absl::InvalidArgumentError(
        sk::StrCat(flag, " ", path.string(), ": not a directory"));
  }
  return absl::OkStatus();
}

}  // namespace sk::ctl
