#pragma once

// CNI results: parsing an IPAM plugin's output (any supported version) and
// printing ours in the requested version.
//
// Per-version differences handled by ResultToJson:
//   0.3.x / 0.4.0: ips[].version "4"/"6"; no interfaces[].mtu/pciID; routes
//                  only dst/gw.
//   1.0.0:         no ips[].version; interfaces[].mtu (upstream emits it).
//   1.1.0:         interfaces[].pciID; route mtu/advmss/priority/table/scope.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk::cni {

struct ResultInterface {
  std::string name;
  std::string mac;
  std::optional<uint32_t> mtu;
  std::string sandbox;
  std::string pci_id;
};

struct ResultIp {
  std::optional<int> interface;
  std::string address;  // CIDR
  std::string gateway;  // may be empty
};

struct Result {
  std::vector<ResultInterface> interfaces;
  std::vector<ResultIp> ips;
  std::vector<nlohmann::json> routes;  // {"dst":..,"gw":..,...}
  nlohmann::json dns = nlohmann::json::object();
};

// Parses a result object (IPAM output or prevResult) of any supported
// version. Code 6 (decode failure) if it is not a JSON object or a field has
// the wrong type; InvalidArgument-style code 7 for an unparsable address.
absl::StatusOr<Result> ParseResult(const nlohmann::json& j);
absl::StatusOr<Result> ParseResultText(std::string_view text);

// Serializes `r` as `cni_version` with a trailing newline.
std::string ResultToJson(const Result& r, const std::string& cni_version);

}  // namespace sk::cni
