#pragma once
// Bootloader backends for persistent kernel arguments, each found under a
// host root (tests use fixture trees) and each idempotent:
//
//   "rpm-ostree"     <root>/run/ostree-booted exists (as the operator's
//                    bindata/scripts/kargs.sh checks). Next boot:
//                    `rpm-ostree kargs`; edit: `rpm-ostree kargs
//                    --delete=<conflict>... --append=<arg>...`.
//   "bls"            <root>/boot/loader/entries/*.conf (Boot Loader
//                    Specification entries; Fedora, RHEL, CentOS). Next boot:
//                    the `options` line of the default entry (grubenv
//                    saved_entry, else the newest entry; $kernelopts expanded
//                    from grubenv). Edit: `grubby --update-kernel=ALL
//                    --remove-args=... --args=...` when <root>/usr/sbin/grubby
//                    (or usr/bin, sbin) exists, else each entry's `options`
//                    line rewritten.
//   "grub-defaults"  <root>/etc/default/grub (Debian, Ubuntu, SUSE). Next
//                    boot: GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT
//                    as /etc/default/grub then etc/default/grub.d/*.cfg set
//                    them (simple shell assignments, $VAR expanded), and the
//                    default entry of the generated grub.cfg when present.
//                    Edit: a conflicting argument is replaced in the file that
//                    sets it; missing ones go into
//                    etc/default/grub.d/99-sriovkit.cfg when grub.d exists,
//                    else into GRUB_CMDLINE_LINUX of /etc/default/grub; then
//                    `update-grub`, `grub2-mkconfig -o <cfg>` or
//                    `grub-mkconfig -o <cfg>`, whichever exists.
// Detection tries them in that order. Every edited file is first copied to
// "<file>.sriovkit.bak" (once: an existing backup is the pristine one and is
// kept) and then replaced atomically (lib/base/file_util.h; a symlink at the
// file is refused, not followed).

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "lib/nodeconfig/kargs.h"

namespace sk::nodeconfig {

struct CommandResult {
  int exit_code = 0;
  std::string output;  // stdout, bounded
};

// Runs host commands: the seam tests replace to record calls.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv (argv[0] found on PATH) in the host root, waits, returns its
  // exit code and standard output. An error status only when it could not
  // be started (NotFound for a missing program).
  virtual absl::StatusOr<CommandResult> Run(
      const std::vector<std::string>& argv) = 0;
};

// sk::RunSubprocess; with a root other than "/" the command runs under
// `chroot <root>`. Output past 1 MiB, or a command still running at the
// timeout (default 5 minutes: update-grub and dracut are slow), is an error
// and the command's process group is killed.
class ProcessRunner : public CommandRunner {
 public:
  explicit ProcessRunner(std::filesystem::path root = "/",
                         absl::Duration timeout = absl::Minutes(5))
      : root_(std::move(root)), timeout_(timeout) {}
  absl::StatusOr<CommandResult> Run(
      const std::vector<std::string>& argv) override;

 private:
  std::filesystem::path root_;
  absl::Duration timeout_;
};

class Bootloader {
 public:
  virtual ~Bootloader() = default;
  virtual std::string Name() const = 0;  // "bls", "grub-defaults", ...
  // The arguments the next boot gets, as one command-line string.
  virtual absl::StatusOr<std::string> NextBootArgs() = 0;
  // Makes every argument of `want` effective at the next boot, changing
  // only what is needed; appends what it wrote or ran to *steps. Calling it
  // again with the same `want` writes nothing and runs nothing.
  virtual absl::Status Apply(const std::vector<KernelArg>& want,
                             std::vector<std::string>* steps) = 0;
};

// The first backend whose marker exists under `root` (see above).
// FailedPrecondition when none does, naming every path looked at:
//   "no supported bootloader under /x: looked for /x/run/ostree-booted,
//    /x/boot/loader/entries/*.conf, /x/etc/default/grub"
absl::StatusOr<std::unique_ptr<Bootloader>> DetectBootloader(
    const std::filesystem::path& root, CommandRunner& runner);

// Copies `path` to "<path>.sriovkit.bak" unless that exists, then writes
// `contents` atomically, keeping the file's mode. No-op (false) when the
// contents are already equal. FailedPrecondition for a symlink at `path`.
absl::StatusOr<bool> ReplaceFileWithBackup(const std::filesystem::path& path,
                                           std::string_view contents);

}  // namespace sk::nodeconfig
