#pragma once
// Bounded reading and parsing of the KubeVirt glue's inputs (VMI/VM, NADs,
// Pods with network-status), which come from users and the API server and are
// never trusted.
//
// Every YAML entry point goes through LoadYamlDocument(s); yaml-cpp 0.7 alone
// can be made to loop or recurse without bound by a few bytes:
//   - a stray token no document can start with (e.g. a line holding just ",")
//     is never consumed, so YAML::LoadAll returns the same empty document
//     forever and grows until memory runs out (a 20-byte NAD reached 11 GB);
//   - anchors and aliases let a few bytes stand for an exponentially large
//     tree; Kubernetes objects never need them (the API server's JSON has
//     none), so they are refused;
//   - nesting is refused past `max_depth` (64; a VMI is about 10 deep).
// A document whose first non-space character is '{' or '[' is JSON and is
// parsed by sk::ParseJsonBounded, never by yaml-cpp.
//
//   SK_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path));
//   SK_ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, LoadYamlDocuments(text));
//
// All errors are InvalidArgument and name the limit or the line and column
// (1-based), e.g. "not valid YAML or JSON at line 2, column 1: no document
// can start with ','". Thread-safe; never throws.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace sk::kubevirt {

// Largest VMI, NAD, Pod, network-status or network-info file read. An API
// object is at most ~1.5 MiB in etcd; 4 MiB leaves room for YAML formatting.
inline constexpr size_t kMaxInputFileBytes = size_t{4} << 20;

struct YamlLimits {
  size_t max_bytes = kMaxInputFileBytes;
  size_t max_depth = 64;  // maps and sequences inside each other
};

// ReadFileBounded(path, kMaxInputFileBytes): NotFound when missing,
// InvalidArgument "<path>: larger than the 4194304-byte limit".
absl::StatusOr<std::string> ReadInputFile(const std::filesystem::path& path);

// The first document of `text` (a Null node when there is none); only that
// document is checked and loaded, as YAML::Load does.
absl::StatusOr<YAML::Node> LoadYamlDocument(std::string_view text,
                                            const YamlLimits& limits = {});

// Every document of a multi-document stream ("---"), as YAML::LoadAll.
absl::StatusOr<std::vector<YAML::Node>> LoadYamlDocuments(
    std::string_view text, const YamlLimits& limits = {});

}  // namespace sk::kubevirt
