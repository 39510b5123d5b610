#include "lib/cni/error.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"

#include "lib/base/json.h"
#include "lib/base/strings.h"

namespace sk::cni {
namespace {
constexpr std::string_view kCodeUrl = "type.sriovkit/cni-code";
constexpr std::string_view kDetailsUrl = "type.sriovkit/cni-details";

absl::StatusCode AbslCodeFor(int code) {
  switch (code) {
    case kCniUnknownContainer:
      return absl::StatusCode::kNotFound;
    case kCniIoFailure:
      return absl::StatusCode::kDataLoss;
    case kCniTryAgainLater:
    case kCniStatusUnavailable:
    case 51:
      return absl::StatusCode::kUnavailable;
    case kCniInternal:
      return absl::StatusCode::kInternal;
    default:
      return code < 100 ? absl::StatusCode::kInvalidArgument
                        : absl::StatusCode::kInternal;
  }
}
}  // namespace

absl::Status CniError(int code, std::string_view msg,
                      std::string_view details) {
  absl::Status s(AbslCodeFor(code), ToAbsl(msg));
  s.SetPayload(ToAbsl(kCodeUrl), absl::Cord(std::to_string(code)));
  if (!details.empty())
    s.SetPayload(ToAbsl(kDetailsUrl), absl::Cord(ToAbsl(details)));
  return s;
}

absl::Status WithCniCode(const absl::Status& s, int code) {
  absl::Status out = s;
  out.SetPayload(ToAbsl(kCodeUrl), absl::Cord(std::to_string(code)));
  return out;
}

int CniCodeOf(const absl::Status& s) {
  if (auto p = s.GetPayload(ToAbsl(kCodeUrl))) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*p), &code)) return code;
  }
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return kCniInvalidConfig;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return kCniTryAgainLater;
    default:
      return kCniInternal;
  }
}

std::string CniDetailsOf(const absl::Status& s) {
  if (auto p = s.GetPayload(ToAbsl(kDetailsUrl))) return std::string(*p);
  return "";
}

std::string ErrorJson(const absl::Status& s, std::string_view cni_version) {
  nlohmann::ordered_json j;
  if (!cni_version.empty()) j["cniVersion"] = std::string(cni_version);
  j["code"] = CniCodeOf(s);
  j["msg"] = std::string(s.message());
  std::string details = CniDetailsOf(s);
  if (!details.empty()) j["details"] = details;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::optional<PluginError> ParsePluginError(std::string_view output,
                                            size_t max_bytes) {
  absl::StatusOr<nlohmann::json> j =
      ParseJsonBounded(output, {.max_bytes = max_bytes});
  if (!j.ok() || !j->is_object()) return std::nullopt;
  auto code = j->find("code");
  if (code == j->end() || !code->is_number_integer()) return std::nullopt;
  auto str = [&](const char* k) {
    auto it = j->find(k);
    return it != j->end() && it->is_string() ? it->get<std::string>()
                                             : std::string();
  };
  return PluginError{code->get<int>(), str("msg"), str("details")};
}

}  // namespace sk::cni
