#pragma once
// RunShell: runs a /bin/sh command line (as binary tests run our
// executables: env, redirections, `timeout`) with `stdin_text` on its
// standard input, and returns its exit code (-1 when killed by a signal),
// standard output and standard error.
//
//   ShellResult r = RunShell("env -i CNI_COMMAND=VERSION " SK_SRIOV_BINARY,
//                            R"({"cniVersion":"1.0.0"})");

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/testing/temp_dir.h"

namespace sk::testing {

struct ShellResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

inline ShellResult RunShell(const std::string& command,
                            const std::string& stdin_text = "") {
  TempDir tmp;
  std::ofstream(tmp / "in") << stdin_text;
  std::string cmd = "( " + command + " ) < " + (tmp / "in").string() + " 2> " +
                    (tmp / "err").string();
  ShellResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
    r.stdout_text.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(tmp / "err");
  std::stringstream ss;
  ss << err.rdbuf();
  r.stderr_text = ss.str();
  return r;
}

}  // namespace sk::testing
