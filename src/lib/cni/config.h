#pragma once

// The sriov plugin's network configuration (stdin JSON), field-compatible
// with upstream sriov-cni (k8snetworkplumbingwg/sriov-cni v2.8
// pkg/types/types.go NetConf, pkg/config/config.go LoadConf).
//
// Semantics kept from upstream: `vlan` absent means "leave the VF VLAN
// alone" and `0` clears it; unknown keys are ignored; MAC precedence is
// config `mac` < CNI_ARGS `MAC=` < `runtimeConfig.mac`, lower-cased.
//
// Stricter than upstream (all code 7, the message naming field and value):
// spoofchk/trust accept only "on"/"off"; min_tx_rate <= max_tx_rate when
// max is non-zero; MACs must be unicast and non-zero; deviceID must be a
// PCI address "dddd:bb:dd.f"; wrong JSON types are rejected by field name.
//
// Stdin that is not a JSON object is code 6; a missing/invalid `name` 7; an
// unsupported cniVersion 1 (details list ours).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/cni/env.h"

namespace sk::cni {

// clang-tidy counts the JSON_ASSERT in nlohmann::json's move constructor as
// a throw (bugprone-exception-escape); it asserts, it does not throw.
struct NetConf {  // NOLINT(bugprone-exception-escape)
  std::string cni_version;
  std::string name;
  std::string type;
  std::string device_id;  // canonical BDF
  std::optional<uint32_t> vlan;
  std::optional<uint32_t> vlan_qos;
  std::optional<std::string> vlan_proto;  // "802.1q" / "802.1ad" (lower case)
  std::optional<std::string> mac;         // config `mac`, lower case
  std::optional<bool> spoofchk;
  std::optional<bool> trust;
  std::optional<std::string> link_state;  // auto / enable / disable
  std::optional<uint32_t> min_tx_rate;
  std::optional<uint32_t> max_tx_rate;
  std::optional<uint32_t> mtu;
  std::string ipam_type;  // empty: no IPAM
  std::string log_level;
  std::string log_file;
  std::optional<std::string> runtime_mac;  // runtimeConfig.mac
  // runtimeConfig.CNIDeviceInfoFile (the capability; see devinfo.h).
  std::optional<std::string> device_info_file;
  nlohmann::json prev_result;  // null when absent
  // GC: attachments to keep, from cni.dev/valid-attachments (or the older
  // cni.dev/attachments); nullopt when neither key is present.
  std::optional<std::vector<std::pair<std::string, std::string>>>
      valid_attachments;
  nlohmann::json raw;  // the whole stdin object

  bool has_rate() const {
    return min_tx_rate.has_value() || max_tx_rate.has_value();
  }
  // 0x8100 / 0x88a8 for vlan_proto (default 802.1q).
  uint16_t vlan_proto_ethertype() const;
  // The link_state value for IFLA_VF_LINK_STATE (0 auto, 1 enable, 2 disable).
  uint32_t link_state_value() const;
};

enum class Strictness {
  kFull,     // ADD / CHECK: every field validated, deviceID required
  kLenient,  // DEL / GC / STATUS / cache reload: decode + name + version only
};

// Network configs are small; anything larger than this on stdin (or handed
// to ParseNetConf) is refused with code 7 before it is parsed.
inline constexpr size_t kMaxNetConfBytes = size_t{1} << 20;

// Parses the stdin config. A document that is not JSON, or is nested deeper
// than sk::JsonLimits' 64 levels, is code 6 (decode failure) naming the byte
// offset; one over kMaxNetConfBytes is code 7 naming the limit.
absl::StatusOr<NetConf> ParseNetConf(std::string_view json_text,
                                     Strictness strictness);
absl::StatusOr<NetConf> NetConfFromJson(const nlohmann::json& j,
                                        Strictness strictness);

// Applies MAC precedence (config < CNI_ARGS MAC < runtimeConfig.mac) and
// validates the winner (unicast, non-zero; code 7). nullopt when no MAC was
// requested anywhere.
absl::StatusOr<std::optional<std::string>> EffectiveMac(
    const NetConf& conf, const std::map<std::string, std::string>& cni_args);

}  // namespace sk::cni
