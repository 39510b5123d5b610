#pragma once

// The end of a daemon's command-line parse that CLI11 stopped with a
// ParseError, as the binary reports it: `--help` or `--version` (CLI11's
// exit code 0) is the text it prints on stdout before exiting 0; anything
// else is a usage error, the text CLI11 prints on stderr ("... Run with
// --help for more information.", trailing newlines dropped).
//
//   try {
//     app.parse(argc, argv);
//   } catch (const CLI::ParseError& e) {
//     absl::StatusOr<std::string> early = sk::CliEarlyExit(app, e);
//     if (!early.ok()) return early.status();  // exit 64, print it
//     print(*early);                           // exit 0
//   }
//
// Header-only: the callers link CLI11, sk::base does not.

#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <CLI/CLI.hpp>

namespace sk {

// The help or version text, or InvalidArgument with the usage error.
inline absl::StatusOr<std::string> CliEarlyExit(const CLI::App& app,
                                                const CLI::ParseError& e) {
  std::ostringstream stdout_text;
  std::ostringstream stderr_text;
  if (app.exit(e, stdout_text, stderr_text) == 0) return stdout_text.str();
  std::string text = stderr_text.str();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return absl::InvalidArgumentError(text);
}

}  // namespace sk
