#include "lib/nodeconfig/bootloader.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/base/subprocess.h"

namespace sk::nodeconfig {
namespace {

namespace fs = std::filesystem;
using doctor::KernelCmdline;
using doctor::KernelParam;

constexpr size_t kMaxConfigFile = 1 << 20;
constexpr size_t kMaxOutput = 1 << 20;
constexpr size_t kMaxEntries = 256;
constexpr char kDropIn[] = "99-sriovkit.cfg";

std::string_view Strip(std::string_view s) {
  return ToStd(absl::StripAsciiWhitespace(ToAbsl(s)));
}

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

// The first of usr/sbin, usr/bin, sbin, bin under root holding `program`.
bool HasProgram(const fs::path& root, std::string_view program) {
  for (const char* dir : {"usr/sbin", "usr/bin", "sbin", "bin"}) {
    if (Exists(root / dir / program)) return true;
  }
  return false;
}

// Files under `dir` ending in `suffix`, sorted by name; bounded.
absl::StatusOr<std::vector<fs::path>> ListFiles(const fs::path& dir,
                                                std::string_view suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return out;
  for (const fs::directory_entry& e : it) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(suffix) || !e.is_regular_file(ec)) continue;
    if (out.size() >= kMaxEntries) {
      return absl::InvalidArgumentError(
          sk::StrCat(dir, ": more than ", kMaxEntries, " *", suffix, " files"));
    }
    out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> ReadConfig(const fs::path& p) {
  return ReadFileBounded(p, kMaxConfigFile);
}

absl::Status CheckRun(CommandRunner& runner,
                      const std::vector<std::string>& argv,
                      std::vector<std::string>* steps) {
  std::string cmd = absl::StrJoin(argv, " ");
  SK_ASSIGN_OR_RETURN(CommandResult r, runner.Run(argv));
  if (r.exit_code != 0) {
    return absl::InternalError(
        sk::StrCat("`", cmd, "` failed with exit status ", r.exit_code));
  }
  steps->push_back(sk::StrCat("ran ", cmd));
  return absl::OkStatus();
}

// The tool-driven edit as two lists: tokens of `current` to remove (by
// name) and tokens to add, so that `current` becomes EditKernelArgs(current).
struct ArgDiff {
  std::vector<std::string> remove_names;
  std::vector<std::string> remove_tokens;  // as written
  std::vector<std::string> add;
};

std::string Token(const KernelParam& p) {
  return p.value.has_value() ? sk::StrCat(p.name, "=", *p.value) : p.name;
}

ArgDiff DiffArgs(std::string_view current, const std::vector<KernelArg>& want) {
  KernelCmdline before = doctor::ParseKernelCmdline(current);
  KernelCmdline after =
      doctor::ParseKernelCmdline(EditKernelArgs(current, want));
  std::vector<std::string> b, a;
  for (const KernelParam& p : before.params) b.push_back(Token(p));
  for (const KernelParam& p : after.params) a.push_back(Token(p));
  ArgDiff d;
  for (const KernelParam& p : before.params) {
    if (std::find(a.begin(), a.end(), Token(p)) != a.end()) continue;
    d.remove_tokens.push_back(Token(p));
    if (std::find(d.remove_names.begin(), d.remove_names.end(), p.name) ==
        d.remove_names.end())
      d.remove_names.push_back(p.name);
  }
  for (const KernelParam& p : after.params) {
    bool is_new = std::find(b.begin(), b.end(), Token(p)) == b.end();
    // A kept token whose name a removal takes away (grubby removes by name).
    bool renamed = std::find(d.remove_names.begin(), d.remove_names.end(),
                             p.name) != d.remove_names.end();
    if (is_new || renamed) d.add.push_back(Token(p));
  }
  return d;
}

// ---------------------------------------------------------------- rpm-ostree

class RpmOstree : public Bootloader {
 public:
  explicit RpmOstree(CommandRunner& runner) : runner_(runner) {}
  std::string Name() const override { return "rpm-ostree"; }
  absl::StatusOr<std::string> NextBootArgs() override {
    SK_ASSIGN_OR_RETURN(CommandResult r, runner_.Run({"rpm-ostree", "kargs"}));
    if (r.exit_code != 0) {
      return absl::InternalError(sk::StrCat(
          "`rpm-ostree kargs` failed with exit status ", r.exit_code));
    }
    return std::string(Strip(r.output));
  }
  absl::Status Apply(const std::vector<KernelArg>& want,
                     std::vector<std::string>* steps) override {
    SK_ASSIGN_OR_RETURN(std::string cur, NextBootArgs());
    ArgDiff d = DiffArgs(cur, want);
    if (d.add.empty() && d.remove_tokens.empty()) return absl::OkStatus();
    std::vector<std::string> argv = {"rpm-ostree", "kargs"};
    for (const std::string& t : d.remove_tokens)
      argv.push_back(sk::StrCat("--delete=", t));
    for (const std::string& t : d.add)
      argv.push_back(sk::StrCat("--append=", t));
    return CheckRun(runner_, argv, steps);
  }

 private:
  CommandRunner& runner_;
};

// ----------------------------------------------------------------------- BLS

// key=value lines of a GRUB environment block (saved_entry, kernelopts).
std::map<std::string, std::string> ReadGrubenv(const fs::path& root) {
  std::map<std::string, std::string> env;
  for (const char* rel : {"boot/grub2/grubenv", "boot/grub/grubenv"}) {
    absl::StatusOr<std::string> text = ReadConfig(root / rel);
    if (!text.ok()) continue;
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      std::pair<std::string, std::string> kv =
          absl::StrSplit(line, absl::MaxSplits('=', 1));
      env.insert(kv);
    }
    break;
  }
  return env;
}

class Bls : public Bootloader {
 public:
  Bls(fs::path root, std::vector<fs::path> entries, CommandRunner& runner)
      : root_(std::move(root)), entries_(std::move(entries)), runner_(runner) {}
  std::string Name() const override { return "bls"; }

  absl::StatusOr<std::string> NextBootArgs() override {
    SK_ASSIGN_OR_RETURN(fs::path entry, DefaultEntry());
    SK_ASSIGN_OR_RETURN(std::string text, ReadConfig(entry));
    std::string opts = OptionsOf(text).value_or("");
    std::map<std::string, std::string> env = ReadGrubenv(root_);
    // RHEL 8 entries say "options $kernelopts" and keep the arguments in
    // grubenv.
    std::string expanded;
    for (absl::string_view tok : absl::StrSplit(opts, ' ', absl::SkipEmpty())) {
      if (!expanded.empty()) expanded += ' ';
      if (tok == "$kernelopts" || tok == "${kernelopts}") {
        expanded += env["kernelopts"];
      } else {
        expanded += std::string(tok);
      }
    }
    return expanded;
  }

  absl::Status Apply(const std::vector<KernelArg>& want,
                     std::vector<std::string>* steps) override {
    if (HasProgram(root_, "grubby")) {
      SK_ASSIGN_OR_RETURN(std::string cur, NextBootArgs());
      ArgDiff d = DiffArgs(cur, want);
      if (d.add.empty() && d.remove_names.empty()) return absl::OkStatus();
      std::vector<std::string> argv = {"grubby", "--update-kernel=ALL"};
      if (!d.remove_names.empty()) {
        argv.push_back(
            sk::StrCat("--remove-args=", absl::StrJoin(d.remove_names, " ")));
      }
      if (!d.add.empty())
        argv.push_back(sk::StrCat("--args=", absl::StrJoin(d.add, " ")));
      return CheckRun(runner_, argv, steps);
    }
    for (const fs::path& entry : entries_) {
      SK_ASSIGN_OR_RETURN(std::string text, ReadConfig(entry));
      SK_ASSIGN_OR_RETURN(bool wrote,
                          ReplaceFileWithBackup(entry, EditEntry(text, want)));
      if (wrote) steps->push_back(sk::StrCat("edited ", entry));
    }
    return absl::OkStatus();
  }

 private:
  static std::optional<std::string> OptionsOf(std::string_view text) {
    std::optional<std::string> out;
    for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n')) {
      absl::string_view l = absl::StripLeadingAsciiWhitespace(line);
      if (absl::ConsumePrefix(&l, "options") &&
          (l.empty() || absl::ascii_isspace(static_cast<unsigned char>(l[0]))))
        out = std::string(absl::StripAsciiWhitespace(l));
    }
    return out;
  }

  // The entry with its `options` line edited (or one added).
  static std::string EditEntry(const std::string& text,
                               const std::vector<KernelArg>& want) {
    std::vector<std::string> lines = absl::StrSplit(text, '\n');
    bool found = false;
    for (std::string& line : lines) {
      absl::string_view l = absl::StripLeadingAsciiWhitespace(line);
      if (!absl::ConsumePrefix(&l, "options") ||
          (!l.empty() &&
           !absl::ascii_isspace(static_cast<unsigned char>(l[0]))))
        continue;
      std::string cur(absl::StripAsciiWhitespace(l));
      std::string edited = EditKernelArgs(cur, want);
      if (edited != cur) line = sk::StrCat("options ", edited);
      found = true;
    }
    if (!found) {
      if (!lines.empty() && lines.back().empty()) lines.pop_back();
      lines.push_back(sk::StrCat("options ", EditKernelArgs("", want)));
      lines.push_back("");
    }
    return absl::StrJoin(lines, "\n");
  }

  // grubenv's saved_entry when it names an entry, else the newest one (the
  // highest version, as GRUB's blscfg sorts).
  absl::StatusOr<fs::path> DefaultEntry() {
    std::map<std::string, std::string> env = ReadGrubenv(root_);
    if (auto it = env.find("saved_entry"); it != env.end()) {
      for (const fs::path& e : entries_)
        if (e.stem().string() == it->second) return e;
    }
    const fs::path* best = nullptr;
    for (const fs::path& e : entries_) {
      if (best == nullptr ||
          strverscmp(e.stem().c_str(), best->stem().c_str()) > 0)
        best = &e;
    }
    if (best == nullptr)
      return absl::NotFoundError("no Boot Loader Specification entry");
    return *best;
  }

  fs::path root_;
  std::vector<fs::path> entries_;
  CommandRunner& runner_;
};

// ------------------------------------------------------------- GRUB defaults

// One `GRUB_CMDLINE_LINUX[_DEFAULT]=...` line: the value with quotes and
// escapes removed but $VARs kept (raw), and expanded.
struct Assignment {
  fs::path file;
  size_t line = 0;
  std::string var;
  std::string raw;
  std::string prefix;  // up to and including '=' ("export GRUB_...=")
  std::string suffix;  // after the value (a comment), kept on rewrite
  std::string Line() const;
};

bool IsCmdlineVar(std::string_view v) {
  return v == "GRUB_CMDLINE_LINUX" || v == "GRUB_CMDLINE_LINUX_DEFAULT";
}

// The shell word after '=': "..." (\\ \" \$ \` escapes), '...', or bare,
// concatenated; stops at unquoted whitespace. nullopt for an unterminated
// quote (a multi-line value, which we do not edit).
std::optional<std::string> ShellWord(std::string_view s,
                                     size_t* consumed = nullptr) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size() &&
            std::string_view("\\\"$`").find(s[j + 1]) != std::string::npos)
          ++j;
        out += s[j];
      }
      if (j >= s.size()) return std::nullopt;
      i = j + 1;
    } else if (c == '\'') {
      size_t j = s.find('\'', i + 1);
      if (j == std::string_view::npos) return std::nullopt;
      out += s.substr(i + 1, j - i - 1);
      i = j + 1;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == ';') {
      break;
    } else {
      out += c;
      ++i;
    }
  }
  if (consumed != nullptr) *consumed = i;
  return out;
}

std::string Expand(std::string_view raw,
                   const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < raw.size();) {
    if (raw[i] != '$') {
      out += raw[i++];
      continue;
    }
    size_t j = i + 1;
    bool braced = j < raw.size() && raw[j] == '{';
    if (braced) ++j;
    size_t start = j;
    while (j < raw.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(raw[j])) ||
            raw[j] == '_'))
      ++j;
    std::string name(raw.substr(start, j - start));
    if (braced && j < raw.size() && raw[j] == '}') ++j;
    if (name.empty()) {
      out += '$';
      i = i + 1;
      continue;
    }
    if (auto it = vars.find(name); it != vars.end()) out += it->second;
    i = j;
  }
  return out;
}

std::string ShellQuote(std::string_view raw) {
  std::string out = "\"";
  for (char c : raw) {
    if (c == '"' || c == '\\' || c == '`') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Assignment::Line() const {
  return sk::StrCat(prefix, ShellQuote(raw), suffix);
}

class GrubDefaults : public Bootloader {
 public:
  GrubDefaults(fs::path root, CommandRunner& runner)
      : root_(std::move(root)), runner_(runner) {}
  std::string Name() const override { return "grub-defaults"; }

  absl::StatusOr<std::string> NextBootArgs() override {
    std::optional<fs::path> cfg = GrubCfg();
    if (cfg.has_value()) {
      SK_ASSIGN_OR_RETURN(std::string text, ReadConfig(*cfg));
      std::optional<std::string> args = DefaultEntryArgs(text);
      if (args.has_value()) return *args;
    }
    return DefaultsArgs();
  }

  absl::Status Apply(const std::vector<KernelArg>& want,
                     std::vector<std::string>* steps) override {
    const size_t steps_before = steps->size();
    SK_ASSIGN_OR_RETURN(std::vector<Assignment> as, Assignments());
    std::map<fs::path, std::map<size_t, std::string>> edits;
    // 1. A conflicting argument is replaced where it is written.
    SK_ASSIGN_OR_RETURN(std::string now, DefaultsArgs());
    KernelCmdline cl = doctor::ParseKernelCmdline(now);
    for (const KernelArg& arg : want) {
      if (ArgEffective(cl, arg)) continue;
      std::vector<std::string> names = ConflictingNames(arg);
      for (Assignment& a : as) {
        KernelCmdline raw = doctor::ParseKernelCmdline(a.raw);
        bool conflict = std::any_of(
            raw.params.begin(), raw.params.end(), [&](const KernelParam& p) {
              return std::any_of(
                  names.begin(), names.end(), [&](const std::string& n) {
                    return doctor::KernelParamNameEquals(p.name, n);
                  });
            });
        if (!conflict) continue;
        a.raw = EditKernelArgs(a.raw, {arg});
        edits[a.file][a.line] = a.Line();
      }
    }
    for (const auto& [file, lines] : edits) {
      SK_RETURN_IF_ERROR(RewriteLines(file, lines, steps));
    }
    // 2. Whatever is still missing is appended: our drop-in, or
    //    GRUB_CMDLINE_LINUX in /etc/default/grub.
    SK_ASSIGN_OR_RETURN(now, DefaultsArgs());
    cl = doctor::ParseKernelCmdline(now);
    std::vector<KernelArg> missing;
    for (const KernelArg& arg : want)
      if (!ArgEffective(cl, arg)) missing.push_back(arg);
    if (!missing.empty()) SK_RETURN_IF_ERROR(Append(missing, steps));
    // 3. grub.cfg regenerated when a file changed or it lags behind.
    SK_ASSIGN_OR_RETURN(std::string next, NextBootArgs());
    KernelCmdline nb = doctor::ParseKernelCmdline(next);
    bool lagging = std::any_of(want.begin(), want.end(), [&](const auto& a) {
      return !ArgEffective(nb, a);
    });
    if (steps->size() == steps_before && !lagging) return absl::OkStatus();
    return Regenerate(steps);
  }

 private:
  fs::path DefaultsFile() const { return root_ / "etc/default/grub"; }
  fs::path DropInDir() const { return root_ / "etc/default/grub.d"; }

  absl::StatusOr<std::vector<fs::path>> Files() const {
    std::vector<fs::path> files = {DefaultsFile()};
    SK_ASSIGN_OR_RETURN(std::vector<fs::path> d,
                        ListFiles(DropInDir(), ".cfg"));
    files.insert(files.end(), d.begin(), d.end());
    return files;
  }

  absl::StatusOr<std::vector<Assignment>> Assignments() const {
    std::vector<Assignment> out;
    SK_ASSIGN_OR_RETURN(std::vector<fs::path> files, Files());
    for (const fs::path& f : files) {
      SK_ASSIGN_OR_RETURN(std::string text, ReadConfig(f));
      size_t n = 0;
      for (absl::string_view line : absl::StrSplit(text, '\n')) {
        ++n;
        absl::string_view l = absl::StripLeadingAsciiWhitespace(line);
        absl::ConsumePrefix(&l, "export ");
        size_t eq = l.find('=');
        if (eq == absl::string_view::npos) continue;
        std::string var(l.substr(0, eq));
        if (!IsCmdlineVar(var)) continue;
        size_t used = 0;
        std::string_view rest = ToStd(l.substr(eq + 1));
        std::optional<std::string> raw = ShellWord(rest, &used);
        if (!raw.has_value()) {
          return absl::InvalidArgumentError(
              sk::StrCat(f, ":", n, ": ", var,
                         ": unterminated quote (multi-line values are not "
                         "supported)"));
        }
        size_t indent = line.size() - l.size();
        out.push_back({f, n, var, *raw,
                       std::string(line.substr(0, indent + eq + 1)),
                       std::string(rest.substr(used))});
      }
    }
    return out;
  }

  // GRUB_CMDLINE_LINUX then GRUB_CMDLINE_LINUX_DEFAULT, as grub-mkconfig's
  // 10_linux puts them on the default entry's `linux` line.
  absl::StatusOr<std::string> DefaultsArgs() const {
    SK_ASSIGN_OR_RETURN(std::vector<Assignment> as, Assignments());
    std::map<std::string, std::string> vars;
    for (const Assignment& a : as) vars[a.var] = Expand(a.raw, vars);
    std::string out = vars["GRUB_CMDLINE_LINUX"];
    const std::string& def = vars["GRUB_CMDLINE_LINUX_DEFAULT"];
    if (!def.empty()) out = out.empty() ? def : sk::StrCat(out, " ", def);
    return out;
  }

  absl::Status RewriteLines(const fs::path& file,
                            const std::map<size_t, std::string>& lines,
                            std::vector<std::string>* steps) {
    SK_ASSIGN_OR_RETURN(std::string text, ReadConfig(file));
    std::vector<std::string> ls = absl::StrSplit(text, '\n');
    for (const auto& [n, content] : lines) {
      if (n - 1 < ls.size()) ls[n - 1] = content;
    }
    SK_ASSIGN_OR_RETURN(bool wrote,
                        ReplaceFileWithBackup(file, absl::StrJoin(ls, "\n")));
    if (wrote) steps->push_back(sk::StrCat("edited ", file));
    return absl::OkStatus();
  }

  absl::Status Append(const std::vector<KernelArg>& missing,
                      std::vector<std::string>* steps) {
    std::error_code ec;
    if (fs::is_directory(DropInDir(), ec)) {
      fs::path p = DropInDir() / kDropIn;
      std::string raw = "$GRUB_CMDLINE_LINUX";
      SK_ASSIGN_OR_RETURN(std::vector<Assignment> as, Assignments());
      for (const Assignment& a : as)
        if (a.file == p && a.var == "GRUB_CMDLINE_LINUX") raw = a.raw;
      std::string contents = sk::StrCat(
          "# Written by sriovkit (sriovctl apply --kernel): kernel arguments "
          "for SR-IOV VFs on vfio-pci.\n",
          "GRUB_CMDLINE_LINUX=", ShellQuote(EditKernelArgs(raw, missing)),
          "\n");
      SK_ASSIGN_OR_RETURN(bool wrote, ReplaceFileWithBackup(p, contents));
      if (wrote) steps->push_back(sk::StrCat("wrote ", p));
      return absl::OkStatus();
    }
    SK_ASSIGN_OR_RETURN(std::string text, ReadConfig(DefaultsFile()));
    SK_ASSIGN_OR_RETURN(std::vector<Assignment> as, Assignments());
    std::optional<Assignment> last;
    for (const Assignment& a : as)
      if (a.file == DefaultsFile() && a.var == "GRUB_CMDLINE_LINUX") last = a;
    if (last.has_value()) {
      last->raw = EditKernelArgs(last->raw, missing);
      return RewriteLines(DefaultsFile(), {{last->line, last->Line()}}, steps);
    }
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += sk::StrCat(
        "GRUB_CMDLINE_LINUX=", ShellQuote(EditKernelArgs("", missing)), "\n");
    SK_ASSIGN_OR_RETURN(bool wrote,
                        ReplaceFileWithBackup(DefaultsFile(), text));
    if (wrote) steps->push_back(sk::StrCat("edited ", DefaultsFile()));
    return absl::OkStatus();
  }

  std::optional<fs::path> GrubCfg() const {
    for (const char* rel : {"boot/grub/grub.cfg", "boot/grub2/grub.cfg"})
      if (Exists(root_ / rel)) return root_ / rel;
    return std::nullopt;
  }

  absl::Status Regenerate(std::vector<std::string>* steps) {
    if (HasProgram(root_, "update-grub"))
      return CheckRun(runner_, {"update-grub"}, steps);
    std::optional<fs::path> cfg = GrubCfg();
    for (const char* prog : {"grub2-mkconfig", "grub-mkconfig"}) {
      if (!HasProgram(root_, prog)) continue;
      std::string out = std::string(prog) == "grub2-mkconfig"
                            ? "/boot/grub2/grub.cfg"
                            : "/boot/grub/grub.cfg";
      if (cfg.has_value()) {
        out = sk::StrCat("/", fs::relative(*cfg, root_).string());
      }
      return CheckRun(runner_, {prog, "-o", out}, steps);
    }
    return absl::FailedPreconditionError(sk::StrCat(
        "GRUB defaults under ", root_,
        " need grub.cfg regenerated, but none of update-grub, grub2-mkconfig, "
        "grub-mkconfig is in usr/sbin, usr/bin, sbin or bin"));
  }

  // The arguments of the default entry's linux line: `set default=N` (a
  // number, a title or an id; else entry 0) among top-level menuentries.
  static std::optional<std::string> DefaultEntryArgs(std::string_view cfg) {
    std::string def = "0";
    struct Entry {
      std::string title_and_id;
      std::optional<std::string> args;
    };
    std::vector<Entry> entries;
    int depth = 0;
    bool in_entry = false;
    for (absl::string_view line : absl::StrSplit(ToAbsl(cfg), '\n')) {
      absl::string_view l = absl::StripAsciiWhitespace(line);
      if (depth == 0 && absl::ConsumePrefix(&l, "set default=")) {
        std::optional<std::string> v = ShellWord(ToStd(l));
        if (v.has_value() && !v->empty() && (*v)[0] != '$') def = *v;
        continue;
      }
      if (depth == 0 && absl::StartsWith(l, "menuentry ")) {
        entries.push_back({std::string(l), std::nullopt});
        in_entry = true;
      }
      if (in_entry && depth == 1 && !entries.back().args.has_value()) {
        // "linux<TAB>/boot/vmlinuz-6.1 root=... ro quiet" (grub-mkconfig
        // writes a tab; hand-written files often a space).
        size_t end = l.find_first_of(" \t");
        absl::string_view cmd = l.substr(0, end);
        if (end != absl::string_view::npos &&
            (cmd == "linux" || cmd == "linux16" || cmd == "linuxefi")) {
          absl::string_view w =
              absl::StripLeadingAsciiWhitespace(l.substr(end));
          size_t sp = w.find_first_of(" \t");
          entries.back().args =
              sp == absl::string_view::npos
                  ? std::string()
                  : std::string(absl::StripAsciiWhitespace(w.substr(sp)));
        }
      }
      for (char c : l) {
        if (c == '{') ++depth;
        if (c == '}') --depth;
      }
      if (depth <= 0) {
        depth = 0;
        in_entry = false;
      }
    }
    if (entries.empty()) return std::nullopt;
    size_t idx = 0;
    if (std::all_of(def.begin(), def.end(), absl::ascii_isdigit)) {
      idx = static_cast<size_t>(std::stoul(def.substr(0, 6)));
    } else {
      for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].title_and_id.find(sk::StrCat("'", def, "'")) !=
            std::string::npos) {
          idx = i;
          break;
        }
      }
    }
    if (idx >= entries.size()) idx = 0;
    return entries[idx].args;
  }

  fs::path root_;
  CommandRunner& runner_;
};

}  // namespace

absl::StatusOr<CommandResult> ProcessRunner::Run(
    const std::vector<std::string>& argv_in) {
  SubprocessOptions o;
  if (root_ != "/" && !root_.empty()) {
    o.argv = {"chroot", root_.string()};
  }
  o.argv.insert(o.argv.end(), argv_in.begin(), argv_in.end());
  o.timeout = timeout_;
  o.max_output = kMaxOutput;
  SK_ASSIGN_OR_RETURN(SubprocessResult run, RunSubprocess(o));
  CommandResult r;
  r.exit_code = run.exited() ? run.exit_code() : 128 + WTERMSIG(run.status);
  r.output = std::move(run.output);
  return r;
}

absl::StatusOr<bool> ReplaceFileWithBackup(const fs::path& path,
                                           std::string_view contents) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoStatus(errno, "stat ", path);
    SK_RETURN_IF_ERROR(WriteFileAtomic(path, contents));
    return true;
  }
  if (S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(
        sk::StrCat(path, " is a symlink; refusing to follow it"));
  }
  SK_ASSIGN_OR_RETURN(std::string old, ReadConfig(path));
  if (old == contents) return false;
  int mode = static_cast<int>(st.st_mode & 07777);
  fs::path bak = path;
  bak += ".sriovkit.bak";
  if (!Exists(bak)) SK_RETURN_IF_ERROR(WriteFileAtomic(bak, old, mode));
  SK_RETURN_IF_ERROR(WriteFileAtomic(path, contents, mode));
  return true;
}

absl::StatusOr<std::unique_ptr<Bootloader>> DetectBootloader(
    const fs::path& root, CommandRunner& runner) {
  fs::path ostree = root / "run/ostree-booted";
  if (Exists(ostree)) return std::make_unique<RpmOstree>(runner);
  fs::path entries_dir = root / "boot/loader/entries";
  SK_ASSIGN_OR_RETURN(std::vector<fs::path> entries,
                      ListFiles(entries_dir, ".conf"));
  if (!entries.empty())
    return std::make_unique<Bls>(root, std::move(entries), runner);
  fs::path grub = root / "etc/default/grub";
  if (Exists(grub)) return std::make_unique<GrubDefaults>(root, runner);
  return absl::FailedPreconditionError(
      sk::StrCat("no supported bootloader under ", root, ": looked for ",
                 ostree, ", ", entries_dir, "/*.conf, ", grub));
}

}  // namespace sk::nodeconfig
