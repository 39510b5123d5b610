#include "lib/cni/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include "lib/base/field_reader.h"
#include "lib/base/json.h"
#include "lib/base/strings.h"
#include "lib/cni/error.h"
#include "lib/cni/version.h"
#include "lib/net/addr.h"
#include "lib/sysfs/pci.h"

namespace sk::cni {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& msg) {
  return CniError(kCniInvalidConfig, msg);
}

// A field reader error as a CNI "invalid config" error (code 7).
absl::Status Invalid(const absl::Status& s) {
  return Invalid(std::string(s.message()));
}

// Reads an optional non-negative integer field; null counts as absent (the
// Go cache writes "vlan": null).
absl::Status GetUint(const FieldReader& r, const char* key,
                     std::optional<uint32_t>* out) {
  absl::StatusOr<std::optional<uint64_t>> v = r.OptionalUint(key, UINT32_MAX);
  if (!v.ok()) return Invalid(v.status());
  if (*v) *out = static_cast<uint32_t>(**v);
  return absl::OkStatus();
}

absl::Status GetString(const FieldReader& r, const char* key,
                       std::optional<std::string>* out) {
  absl::StatusOr<std::optional<std::string>> v = r.OptionalString(key);
  if (!v.ok()) return Invalid(v.status());
  if (*v) *out = **v;
  return absl::OkStatus();
}

absl::Status GetOnOff(const FieldReader& r, const char* key, Strictness st,
                      std::optional<bool>* out) {
  std::optional<std::string> s;
  if (absl::Status e = GetString(r, key, &s); !e.ok()) return e;
  if (!s) return absl::OkStatus();
  if (*s == "on") {
    *out = true;
  } else if (*s != "off" && st == Strictness::kFull) {
    return Invalid(absl::StrCat(key, " \"", *s,
                                "\" invalid: value must be \"on\" or \"off\""));
  } else {
    *out = false;  // "off"; leniently (as upstream) anything but "on"
  }
  return absl::OkStatus();
}

absl::Status ValidateMac(const std::string& field, const std::string& mac) {
  auto m = net::ParseMac(mac);
  if (!m.ok())
    return Invalid(
        absl::StrCat(field, " \"", mac, "\" invalid: not a MAC address"));
  if (net::IsZeroMac(*m))
    return Invalid(absl::StrCat(field, " \"", mac, "\" invalid: all zeros"));
  if (net::IsMulticastMac(*m))
    return Invalid(
        absl::StrCat(field, " \"", mac, "\" invalid: multicast address"));
  return absl::OkStatus();
}

bool ValidName(const std::string& n) {
  if (n.empty() || !isalnum(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' &&
        c != '-')
      return false;
  return true;
}

absl::Status ParseAttachments(const FieldReader& v, NetConf* c) {
  absl::StatusOr<std::vector<FieldReader>> items = v.AsList();
  if (!items.ok()) return Invalid(items.status());
  std::vector<std::pair<std::string, std::string>> out;
  for (const FieldReader& a : *items) {
    absl::StatusOr<std::string> id = a.String("containerID");
    if (!id.ok()) return Invalid(id.status());
    const FieldReader ifname = a.Child("ifname");
    out.emplace_back(
        *id, ifname.json().is_string() ? ifname.json().get<std::string>() : "");
  }
  c->valid_attachments = std::move(out);
  return absl::OkStatus();
}

}  // namespace

uint16_t NetConf::vlan_proto_ethertype() const {
  return vlan_proto && *vlan_proto == "802.1ad" ? 0x88a8 : 0x8100;
}

uint32_t NetConf::link_state_value() const {
  if (!link_state || *link_state == "auto") return 0;
  return *link_state == "enable" ? 1 : 2;
}

absl::StatusOr<NetConf> ParseNetConf(std::string_view text,
                                     Strictness strictness) {
  if (text.size() > kMaxNetConfBytes) {
    return CniError(
        kCniInvalidConfig,
        sk::StrCat("network config of ", text.size(), " bytes exceeds the ",
                   kMaxNetConfBytes, "-byte limit"));
  }
  absl::StatusOr<json> parsed =
      ParseJsonBounded(text, {.max_bytes = kMaxNetConfBytes});
  if (!parsed.ok()) {
    return CniError(kCniDecodeFailure,
                    sk::StrCat("error unmarshall network config: ",
                               parsed.status().message()));
  }
  json& j = *parsed;
  if (!j.is_object())
    return CniError(kCniDecodeFailure,
                    "error unmarshall network config: not a JSON object");
  return NetConfFromJson(j, strictness);
}

absl::StatusOr<NetConf> NetConfFromJson(const json& j, Strictness st) {
  NetConf c;
  c.raw = j;
  const FieldReader r(j, "network config");
  std::optional<std::string> s;
#define SK_CNI_TRY(expr)           \
  do {                             \
    absl::Status sk_e_ = (expr);   \
    if (!sk_e_.ok()) return sk_e_; \
  } while (0)
  SK_CNI_TRY(GetString(r, "cniVersion", &s));
  c.cni_version = s.value_or("");
  s.reset();
  SK_CNI_TRY(GetString(r, "name", &s));
  c.name = s.value_or("");
  s.reset();
  if (c.name.empty()) return Invalid("missing network name");
  if (!ValidName(c.name))
    return CniError(kCniInvalidConfig,
                    "invalid characters found in network name", c.name);
  if (!IsSupportedVersion(c.cni_version)) {
    return CniError(
        kCniIncompatibleVersion, "incompatible CNI versions",
        absl::StrCat("config is \"", c.cni_version, "\", plugin supports [\"",
                     absl::StrJoin(SupportedVersions(), "\" \""), "\"]"));
  }
  SK_CNI_TRY(GetString(r, "type", &s));
  c.type = s.value_or("");
  s.reset();
  SK_CNI_TRY(GetString(r, "deviceID", &s));
  if (s) {
    auto pci = sysfs::PciAddress::Parse(*s);
    if (!pci.ok() || s->size() != 12) {
      if (st == Strictness::kFull)
        return Invalid(absl::StrCat(
            "deviceID \"", *s,
            "\" invalid: not a PCI address of the form dddd:bb:dd.f"));
      c.device_id = *s;
    } else {
      c.device_id = pci->ToString();
    }
  }
  s.reset();
  SK_CNI_TRY(GetUint(r, "vlan", &c.vlan));
  SK_CNI_TRY(GetUint(r, "vlanQoS", &c.vlan_qos));
  SK_CNI_TRY(GetString(r, "vlanProto", &c.vlan_proto));
  if (c.vlan_proto) c.vlan_proto = absl::AsciiStrToLower(*c.vlan_proto);
  SK_CNI_TRY(GetString(r, "mac", &c.mac));
  if (c.mac) c.mac = absl::AsciiStrToLower(*c.mac);
  SK_CNI_TRY(GetOnOff(r, "spoofchk", st, &c.spoofchk));
  SK_CNI_TRY(GetOnOff(r, "trust", st, &c.trust));
  SK_CNI_TRY(GetString(r, "link_state", &c.link_state));
  SK_CNI_TRY(GetUint(r, "min_tx_rate", &c.min_tx_rate));
  SK_CNI_TRY(GetUint(r, "max_tx_rate", &c.max_tx_rate));
  SK_CNI_TRY(GetUint(r, "mtu", &c.mtu));
  SK_CNI_TRY(GetString(r, "logLevel", &s));
  c.log_level = s.value_or("");
  s.reset();
  SK_CNI_TRY(GetString(r, "logFile", &s));
  c.log_file = s.value_or("");
  s.reset();
  absl::StatusOr<FieldReader> ipam = r.Object("ipam");
  if (!ipam.ok()) return Invalid(ipam.status());
  SK_CNI_TRY(GetString(*ipam, "type", &s));
  c.ipam_type = s.value_or("");
  s.reset();
  if (const FieldReader rc = r.Child("runtimeConfig"); rc.json().is_object()) {
    SK_CNI_TRY(GetString(rc, "mac", &c.runtime_mac));
    if (c.runtime_mac) c.runtime_mac = absl::AsciiStrToLower(*c.runtime_mac);
    SK_CNI_TRY(GetString(rc, "CNIDeviceInfoFile", &c.device_info_file));
  }
  if (auto it = j.find("prevResult"); it != j.end()) c.prev_result = *it;
  if (const FieldReader v = r.Child("cni.dev/valid-attachments"); v.exists()) {
    SK_CNI_TRY(ParseAttachments(v, &c));
  } else if (const FieldReader old = r.Child("cni.dev/attachments");
             old.exists()) {
    SK_CNI_TRY(ParseAttachments(old, &c));
  }
#undef SK_CNI_TRY
  if (st == Strictness::kLenient) return c;

  if (c.device_id.empty())
    return Invalid("LoadConf(): VF pci addr is required");
  if (c.vlan && *c.vlan > 4094)
    return Invalid(absl::StrCat("vlan id ", *c.vlan,
                                " invalid: value must be in the range 0-4094"));
  if (c.vlan_qos) {
    if (*c.vlan_qos > 7)
      return Invalid(absl::StrCat("vlan QoS PCP ", *c.vlan_qos,
                                  " invalid: value must be in the range 0-7"));
    if (!c.vlan)
      return Invalid(
          "vlan id must be configured to set vlan QoS to a non-nil value");
    if (*c.vlan_qos != 0 && *c.vlan == 0)
      return Invalid(
          "non-zero vlan id must be configured to set vlan QoS to a non-zero "
          "value");
  }
  if (c.vlan_proto) {
    if (*c.vlan_proto != "802.1q" && *c.vlan_proto != "802.1ad")
      return Invalid(
          absl::StrCat("vlan Proto ", *c.vlan_proto,
                       " invalid: value must be '802.1Q' or '802.1ad'"));
    if (!c.vlan)
      return Invalid(
          "vlan id must be configured to set vlan proto to a non-nil value");
    if (*c.vlan_proto == "802.1ad" && *c.vlan == 0)
      return Invalid(
          "non-zero vlan id must be configured to set vlan proto 802.1ad");
  }
  if (c.link_state && *c.link_state != "auto" && *c.link_state != "enable" &&
      *c.link_state != "disable")
    return Invalid("invalid link_state value: " + *c.link_state);
  if (c.min_tx_rate && c.max_tx_rate && *c.max_tx_rate != 0 &&
      *c.min_tx_rate > *c.max_tx_rate)
    return Invalid(absl::StrCat("min_tx_rate ", *c.min_tx_rate,
                                " invalid: greater than max_tx_rate ",
                                *c.max_tx_rate));
  if (c.mtu && (*c.mtu < 68 || *c.mtu > 65535))
    return Invalid(absl::StrCat(
        "mtu ", *c.mtu, " invalid: value must be in the range 68-65535"));
  if (c.mac) {
    absl::Status m = ValidateMac("mac", *c.mac);
    if (!m.ok()) return m;
  }
  return c;
}

absl::StatusOr<std::optional<std::string>> EffectiveMac(
    const NetConf& conf, const std::map<std::string, std::string>& cni_args) {
  std::optional<std::string> mac = conf.mac;
  std::string field = "mac";
  if (auto it = cni_args.find("MAC");
      it != cni_args.end() && !it->second.empty()) {
    mac = absl::AsciiStrToLower(it->second);
    field = "CNI_ARGS MAC";
  }
  if (conf.runtime_mac && !conf.runtime_mac->empty()) {
    mac = conf.runtime_mac;
    field = "runtimeConfig.mac";
  }
  if (!mac) return std::optional<std::string>();
  absl::Status s = ValidateMac(field, *mac);
  if (!s.ok()) return s;
  return mac;
}

}  // namespace sk::cni
