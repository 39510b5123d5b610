#include "lib/deviceplugin/devlink.h"

#include <linux/devlink.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::deviceplugin {
namespace {

// NLA_FLAG in the kernel's attribute policy types: the type devlink reports
// in DEVLINK_ATTR_PARAM_TYPE for a bool param (enum devlink_param_type).
constexpr uint8_t kNlaFlag = 6;

netlink::Message GenlRequest(uint16_t family, uint8_t cmd, std::string_view bus,
                             std::string_view dev,
                             std::string_view param = {}) {
  netlink::MessageBuilder b(family, NLM_F_REQUEST);
  genlmsghdr g{};
  g.cmd = cmd;
  g.version = DEVLINK_GENL_VERSION;
  b.PutHeader(g);
  b.PutString(DEVLINK_ATTR_BUS_NAME, bus);
  b.PutString(DEVLINK_ATTR_DEV_NAME, dev);
  if (!param.empty()) b.PutString(DEVLINK_ATTR_PARAM_NAME, param);
  return std::move(b).Build();
}

absl::StatusOr<netlink::AttrList> GenlAttrs(const netlink::Message& m) {
  return m.Attributes(GENL_HDRLEN);
}

}  // namespace

netlink::Message BuildGetFamily(std::string_view name) {
  netlink::MessageBuilder b(GENL_ID_CTRL, NLM_F_REQUEST);
  genlmsghdr g{};
  g.cmd = CTRL_CMD_GETFAMILY;
  g.version = 1;
  b.PutHeader(g);
  b.PutString(CTRL_ATTR_FAMILY_NAME, name);
  return std::move(b).Build();
}

absl::StatusOr<uint16_t> ParseFamilyId(
    const std::vector<netlink::Message>& reply) {
  for (const netlink::Message& m : reply) {
    SK_ASSIGN_OR_RETURN(netlink::AttrList attrs, GenlAttrs(m));
    if (const netlink::Attr* a = attrs.Find(CTRL_ATTR_FAMILY_ID)) {
      return a->AsU16();
    }
  }
  return absl::NotFoundError("genetlink: reply has no CTRL_ATTR_FAMILY_ID");
}

netlink::Message BuildParamGet(uint16_t family, std::string_view bus,
                               std::string_view dev, std::string_view param) {
  return GenlRequest(family, DEVLINK_CMD_PARAM_GET, bus, dev, param);
}

absl::StatusOr<bool> ParseParamBool(
    const std::vector<netlink::Message>& reply) {
  for (const netlink::Message& m : reply) {
    SK_ASSIGN_OR_RETURN(netlink::AttrList attrs, GenlAttrs(m));
    const netlink::Attr* param = attrs.Find(DEVLINK_ATTR_PARAM);
    if (param == nullptr) continue;
    SK_ASSIGN_OR_RETURN(netlink::AttrList p, param->Nested());
    const netlink::Attr* type = p.Find(DEVLINK_ATTR_PARAM_TYPE);
    if (type == nullptr) {
      return absl::InvalidArgumentError(
          "devlink: DEVLINK_ATTR_PARAM without DEVLINK_ATTR_PARAM_TYPE");
    }
    SK_ASSIGN_OR_RETURN(uint8_t t, type->AsU8());
    if (t != kNlaFlag) {
      return absl::InvalidArgumentError(
          sk::StrCat("devlink: DEVLINK_ATTR_PARAM_TYPE is ", int{t},
                     ", not a bool (", int{kNlaFlag}, ")"));
    }
    const netlink::Attr* list = p.Find(DEVLINK_ATTR_PARAM_VALUES_LIST);
    if (list == nullptr) {
      return absl::InvalidArgumentError(
          "devlink: DEVLINK_ATTR_PARAM without DEVLINK_ATTR_PARAM_VALUES_LIST");
    }
    SK_ASSIGN_OR_RETURN(netlink::AttrList values, list->Nested());
    // The first value, as upstream (param.Values[0]).
    const netlink::Attr* value = values.Find(DEVLINK_ATTR_PARAM_VALUE);
    if (value == nullptr) {
      return absl::InvalidArgumentError(
          "devlink: DEVLINK_ATTR_PARAM_VALUES_LIST is empty");
    }
    SK_ASSIGN_OR_RETURN(netlink::AttrList v, value->Nested());
    return v.Find(DEVLINK_ATTR_PARAM_VALUE_DATA) != nullptr;
  }
  return absl::InvalidArgumentError("devlink: reply has no DEVLINK_ATTR_PARAM");
}

netlink::Message BuildInfoGet(uint16_t family, std::string_view bus,
                              std::string_view dev) {
  return GenlRequest(family, DEVLINK_CMD_INFO_GET, bus, dev);
}

absl::StatusOr<std::string> ParseInfoVersion(
    const std::vector<netlink::Message>& reply, std::string_view key) {
  for (uint16_t kind : {uint16_t{DEVLINK_ATTR_INFO_VERSION_RUNNING},
                        uint16_t{DEVLINK_ATTR_INFO_VERSION_FIXED},
                        uint16_t{DEVLINK_ATTR_INFO_VERSION_STORED}}) {
    for (const netlink::Message& m : reply) {
      SK_ASSIGN_OR_RETURN(netlink::AttrList attrs, GenlAttrs(m));
      for (const netlink::Attr* ver : attrs.FindAll(kind)) {
        SK_ASSIGN_OR_RETURN(netlink::AttrList nv, ver->Nested());
        const netlink::Attr* name = nv.Find(DEVLINK_ATTR_INFO_VERSION_NAME);
        const netlink::Attr* value = nv.Find(DEVLINK_ATTR_INFO_VERSION_VALUE);
        if (name != nullptr && value != nullptr && name->AsString() == key) {
          return value->AsString();
        }
      }
    }
  }
  return absl::NotFoundError(
      sk::StrCat("devlink dev info: no version \"", key, "\""));
}

absl::StatusOr<uint16_t> DevlinkClient::Family() {
  if (family_ != 0) return family_;
  auto reply = sock_->Transact(BuildGetFamily(DEVLINK_GENL_NAME));
  if (!reply.ok()) {
    return absl::NotFoundError(sk::StrCat("genetlink family \"",
                                          DEVLINK_GENL_NAME,
                                          "\": ", reply.status().message()));
  }
  SK_ASSIGN_OR_RETURN(family_, ParseFamilyId(*reply));
  return family_;
}

absl::StatusOr<bool> DevlinkClient::ParamBool(std::string_view bus,
                                              std::string_view dev,
                                              std::string_view param) {
  absl::MutexLock lock(&mu_);
  SK_ASSIGN_OR_RETURN(uint16_t family, Family());
  auto reply = sock_->Transact(BuildParamGet(family, bus, dev, param));
  if (!reply.ok()) {
    return absl::Status(reply.status().code(),
                        sk::StrCat("devlink param ", bus, "/", dev, " ", param,
                                   ": ", reply.status().message()));
  }
  return ParseParamBool(*reply);
}

absl::StatusOr<std::string> DevlinkClient::InfoVersion(std::string_view bus,
                                                       std::string_view dev,
                                                       std::string_view key) {
  absl::MutexLock lock(&mu_);
  SK_ASSIGN_OR_RETURN(uint16_t family, Family());
  auto reply = sock_->Transact(BuildInfoGet(family, bus, dev));
  if (!reply.ok()) {
    return absl::Status(reply.status().code(),
                        sk::StrCat("devlink dev info ", bus, "/", dev, ": ",
                                   reply.status().message()));
  }
  return ParseInfoVersion(*reply, key);
}

}  // namespace sk::deviceplugin
