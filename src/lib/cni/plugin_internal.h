#pragma once

// Helpers shared by the plugin's ADD (plugin.cc) and restore (restore.cc)
// halves. Not part of the plugin's API.

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/cni/config.h"

namespace sk::cni::internal {

// Keeps the first error, still running later steps (best-effort restore).
inline void Keep(absl::Status& first, absl::Status s) {
  if (first.ok() && !s.ok()) first = std::move(s);
}

// A host-unique temporary name for a netdev in transit (IFNAMSIZ-safe):
// "sk" and the last 13 hex digits of the PCI address, so a rename never
// collides with a pod interface of the host name.
inline std::string TransitName(const std::string& pci) {
  std::string n = "sk";
  for (char c : pci)
    if (std::isxdigit(static_cast<unsigned char>(c))) n += c;
  return n.substr(0, 2) + n.substr(n.size() > 13 ? n.size() - 13 : 2);
}

// The config of a command that needs cniVersion >= `min` (CHECK 0.4.0,
// STATUS and GC 1.1.0): CNI code 2 "config version does not allow <verb>"
// for an older one.
absl::StatusOr<NetConf> ParseConfFor(std::string_view stdin_data,
                                     Strictness strictness,
                                     std::string_view min,
                                     std::string_view verb);

}  // namespace sk::cni::internal
