#include "lib/cni/outcome_log.h"

#include <ctime>
#include <string>

#include "nlohmann/json.hpp"

#include "lib/base/json.h"

namespace sk::cni {

std::optional<OutcomeLog> FormatOutcomeLog(
    std::string_view config, const absl::Status& status,
    const std::vector<std::string>& warnings, const GetEnvFn& getenv,
    std::time_t now) {
  absl::StatusOr<nlohmann::json> parsed = ParseJsonBounded(config);
  nlohmann::json j =
      parsed.ok() ? *std::move(parsed) : nlohmann::json::object();
  if (!j.is_object() || !j.contains("logFile") || !j["logFile"].is_string()) {
    return std::nullopt;
  }
  // Not j.value(): it throws on a non-string logLevel, which the plugin has
  // just refused as a config error that must still be printed and logged.
  std::string level = JsonString(j, "logLevel", "info");
  if (level == "panic" || (level == "error" && status.ok())) {
    return std::nullopt;
  }
  OutcomeLog out;
  out.path = j["logFile"].get<std::string>();
  char ts[32];
  std::tm tm_utc{};
  gmtime_r(&now, &tm_utc);
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  const std::string tail =
      "cniName=sriov-cni command=" + getenv("CNI_COMMAND").value_or("") +
      " containerID=" + getenv("CNI_CONTAINERID").value_or("") +
      " netns=" + getenv("CNI_NETNS").value_or("") +
      " ifname=" + getenv("CNI_IFNAME").value_or("") + "\n";
  auto line = [&](const char* lvl, const std::string& msg) {
    out.text += std::string("time=\"") + ts + "\" level=" + lvl + " msg=" +
                nlohmann::json(msg).dump(
                    -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                " " + tail;
  };
  if (level != "error") {
    for (const std::string& w : warnings) line("warning", w);
  }
  line(status.ok() ? "info" : "error",
       status.ok() ? "done" : std::string(status.message()));
  return out;
}

}  // namespace sk::cni
