#pragma once

// IPAM delegation: running another CNI plugin (host-local, static, ...)
// found in CNI_PATH with the same environment and the complete stdin config
// (CNI spec §4 "Delegated plugins").

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "lib/cni/env.h"

namespace sk::cni {

// A delegate's stdout (a CNI result or error) larger than this is refused
// with code 7 naming the plugin and the limit; the pipe is closed, so the
// delegate gets EPIPE instead of blocking on a full pipe.
inline constexpr size_t kMaxIpamOutputBytes = size_t{1} << 20;

class IpamDelegate {
 public:
  virtual ~IpamDelegate() = default;
  // Runs plugin `type` for `command` and returns its stdout. A failing
  // plugin's CNI error JSON becomes a Status with the same CNI code and msg
  // (propagated unchanged); a plugin not found in CNI_PATH is code 7
  // naming the type.
  virtual absl::StatusOr<std::string> Run(const std::string& type,
                                          Command command, const CniEnv& env,
                                          std::string_view stdin_data) = 0;
};

// Execs the plugin (sk::RunSubprocess); its stderr is passed through. One
// still running at `timeout` is killed with what it started (code 11,
// try again later), so a hung IPAM plugin cannot hold the VF's lock and the
// runtime's call forever; the ADD then rolls back as for any error.
class ExecIpamDelegate : public IpamDelegate {
 public:
  explicit ExecIpamDelegate(absl::Duration timeout = absl::Minutes(2))
      : timeout_(timeout) {}
  absl::StatusOr<std::string> Run(const std::string& type, Command command,
                                  const CniEnv& env,
                                  std::string_view stdin_data) override;

 private:
  absl::Duration timeout_;
};

}  // namespace sk::cni
