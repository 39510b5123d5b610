#include "lib/deviceplugin/validate.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

#include "lib/base/strings.h"

namespace sk::deviceplugin {
namespace {

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

constexpr std::string_view kDnsRule =
    "lower-case letters, digits, '-' and '.'; labels of 1-63 bytes that "
    "start and end with a letter or digit; at most 253 bytes";
constexpr std::string_view kNameRule =
    "1-63 bytes of letters, digits, '-', '_' and '.', starting and ending "
    "with a letter or digit";

// Why `label` (one part of a DNS subdomain) is invalid, or "".
std::string LabelProblem(std::string_view label) {
  if (label.empty()) return "empty label";
  if (label.size() > 63) {
    return sk::StrCat("label ", Bounded(label), " is ", label.size(),
                      " bytes, more than 63");
  }
  for (char c : label) {
    if (!IsLowerAlnum(c) && c != '-') {
      return sk::StrCat("byte ", Bounded(std::string_view(&c, 1)),
                        " not allowed");
    }
  }
  if (label.front() == '-' || label.back() == '-') {
    return sk::StrCat("label ", Bounded(label), " starts or ends with '-'");
  }
  return "";
}

}  // namespace

std::string Bounded(std::string_view v) {
  std::string_view shown = v.substr(0, kMaxQuotedBytes);
  std::string out = sk::StrCat("\"", absl::CEscape(ToAbsl(shown)), "\"");
  if (shown.size() < v.size()) {
    out += sk::StrCat("...(", v.size(), " bytes)");
  }
  return out;
}

absl::Status CheckDnsSubdomain(std::string_view prefix) {
  std::string why;
  if (prefix.empty()) {
    why = "empty";
  } else if (prefix.size() > 253) {
    why = sk::StrCat(prefix.size(), " bytes, more than 253");
  } else {
    for (size_t start = 0; why.empty() && start <= prefix.size();) {
      size_t dot = prefix.find('.', start);
      if (dot == std::string_view::npos) dot = prefix.size();
      why = LabelProblem(prefix.substr(start, dot - start));
      start = dot + 1;
    }
  }
  if (why.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(sk::StrCat(Bounded(prefix),
                                               " is not a DNS subdomain: ", why,
                                               " (RFC 1123: ", kDnsRule, ")"));
}

absl::Status CheckQualifiedNamePart(std::string_view name) {
  std::string why;
  if (name.empty()) {
    why = "empty";
  } else if (name.size() > 63) {
    why = sk::StrCat(name.size(), " bytes, more than 63");
  } else {
    for (char c : name) {
      if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') {
        why = sk::StrCat("byte ", Bounded(std::string_view(&c, 1)),
                         " not allowed");
        break;
      }
    }
    if (why.empty() && (!IsAlnum(name.front()) || !IsAlnum(name.back()))) {
      why = "must start and end with a letter or digit";
    }
  }
  if (why.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      sk::StrCat(Bounded(name), " is not a Kubernetes resource name: ", why,
                 " (", kNameRule, ")"));
}

absl::Status CheckExtendedResourceName(std::string_view prefix,
                                       std::string_view name) {
  std::string full = sk::StrCat(prefix, "/", name);
  std::string why;
  // kubelet's IsExtendedResourceName: names containing "kubernetes.io/" are
  // native resources, "requests.*" is the quota namespace, and the quota
  // form "requests.<prefix>" must itself be a DNS subdomain (<= 253 bytes).
  if (absl::StrContains(full, "kubernetes.io/")) {
    why = "the kubernetes.io namespace is reserved for native resources";
  } else if (absl::StartsWith(full, "requests.")) {
    why = "the \"requests.\" prefix is reserved for quota";
  } else if (prefix.size() + 9 > 253) {
    why = sk::StrCat("prefix is ", prefix.size(),
                     " bytes; kubelet allows at most 244");
  }
  if (why.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      sk::StrCat(Bounded(full), " is not an extended resource name: ", why));
}

}  // namespace sk::deviceplugin
