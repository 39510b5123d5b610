#pragma once
// Checks for values that come from outside the plugin: the resource names a
// config gives a pool (they become socket and file names and kubelet
// resource names), and the device IDs kubelet sends in requests (they end up
// in error messages and logs).
//
//   SK_RETURN_IF_ERROR(CheckDnsSubdomain(prefix));
//   // InvalidArgument: "\"../x\" is not a DNS subdomain (RFC 1123: ...)"
//   spdlog::error("unknown device ID {}", Bounded(id));
//   // "\"0000:01:00.1\"", or "\"aaaa...\"...(3145728 bytes)" when long
//
// The name rules are Kubernetes' own, so a name accepted here is also one
// kubelet accepts at registration:
// - prefix: a DNS subdomain (k8s.io/apimachinery/pkg/util/validation,
//   IsDNS1123Subdomain), with RFC 1123's 63-byte label limit on top;
// - name: the name part of a qualified name (IsQualifiedName);
// - "<prefix>/<name>": an extended resource name
//   (k8s.io/kubernetes/pkg/apis/core/v1/helper, IsExtendedResourceName:
//   not in the kubernetes.io namespace, and "requests.<prefix>/<name>" is
//   still a qualified name).
// None of these accept '/', "." or "..", so a socket name built from
// checked parts is always a plain file name in its directory.
//
// Every error is InvalidArgument and names the value (Bounded) but not the
// field; callers prepend the field ("resourceList[1].resourcePrefix: ").
//
// Thread safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sk::deviceplugin {

// Longest device ID a request may carry: ours are PCI addresses (12 bytes);
// anything longer than this can never name one of our devices.
inline constexpr size_t kMaxDeviceIdBytes = 256;
// How much of an outside value a message or log line quotes.
inline constexpr size_t kMaxQuotedBytes = 64;

// `v` quoted for a message: C-escaped (no control bytes reach the log), cut
// to its first kMaxQuotedBytes bytes plus "...(<N> bytes)" when longer.
std::string Bounded(std::string_view v);

// A DNS subdomain: at most 253 bytes of lower-case letters, digits, '-' and
// '.', in labels of 1-63 bytes that start and end with a letter or digit.
absl::Status CheckDnsSubdomain(std::string_view prefix);

// The name part of a Kubernetes qualified name: 1-63 bytes of letters,
// digits, '-', '_' and '.', starting and ending with a letter or digit.
absl::Status CheckQualifiedNamePart(std::string_view name);

// "<prefix>/<name>" as a kubelet extended resource name; assumes both parts
// passed the checks above.
absl::Status CheckExtendedResourceName(std::string_view prefix,
                                       std::string_view name);

}  // namespace sk::deviceplugin
