#include "lib/libvirt/hostdev_xml.h"

#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "pugixml.hpp"

#include "lib/base/strings.h"

namespace sk::libvirt {
namespace {

void SetAddressAttrs(pugi::xml_node node, const sysfs::PciAddress& a) {
  node.append_attribute("domain").set_value(HexDomain(a).c_str());
  node.append_attribute("bus").set_value(HexBus(a).c_str());
  node.append_attribute("slot").set_value(HexSlot(a).c_str());
  node.append_attribute("function").set_value(HexFunction(a).c_str());
}

// XML 1.0 (section 2.2 "Char") cannot carry C0 controls other than tab, LF
// and CR, not even as character references; pugixml would write "&#01;" and
// the document would not be well-formed. Refuse them wherever a caller's
// string lands in the output.
absl::Status CheckXmlChars(std::string_view field, std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return absl::InvalidArgumentError(
          sk::StrCat(field, " \"", absl::CHexEscape(ToAbsl(value)),
                     "\": contains a control character XML 1.0 cannot carry"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSpecs(const std::vector<HostdevSpec>& devs) {
  std::set<sysfs::PciAddress> sources;
  std::set<std::string> aliases;
  for (size_t i = 0; i < devs.size(); ++i) {
    const HostdevSpec& d = devs[i];
    if (d.alias.empty()) {
      return absl::InvalidArgumentError(sk::StrCat(
          "hostdev ", i, " (", d.source.ToString(), "): alias is empty"));
    }
    if (absl::Status s = CheckXmlChars("hostdev alias", d.alias); !s.ok()) {
      return s;
    }
    if (d.boot_order.has_value() && *d.boot_order == 0) {
      return absl::InvalidArgumentError(sk::StrCat(
          "hostdev ", d.alias, ": boot order must be greater than 0"));
    }
    if (!sources.insert(d.source).second) {
      return absl::InvalidArgumentError(
          sk::StrCat("hostdev ", d.alias, ": host PCI address ",
                     d.source.ToString(), " is used by another hostdev"));
    }
    if (!aliases.insert(d.alias).second) {
      return absl::InvalidArgumentError(
          sk::StrCat("hostdev alias \"", d.alias, "\" is not unique"));
    }
  }
  return absl::OkStatus();
}

void AppendHostdevs(pugi::xml_node devices,
                    const std::vector<HostdevSpec>& devs) {
  for (const HostdevSpec& d : devs) {
    pugi::xml_node h = devices.append_child("hostdev");
    h.append_attribute("mode").set_value("subsystem");
    h.append_attribute("type").set_value("pci");
    h.append_attribute("managed").set_value("no");
    // Source address without type="pci": see the header.
    SetAddressAttrs(h.append_child("source").append_child("address"), d.source);
    if (d.boot_order.has_value()) {
      h.append_child("boot").append_attribute("order").set_value(
          std::to_string(*d.boot_order).c_str());
    }
    if (d.guest_address.has_value()) {
      pugi::xml_node a = h.append_child("address");
      a.append_attribute("type").set_value("pci");
      SetAddressAttrs(a, *d.guest_address);
    }
    h.append_child("alias").append_attribute("name").set_value(d.alias.c_str());
  }
}

std::string Print(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_indent | pugi::format_no_declaration,
           pugi::encoding_utf8);
  return out.str();
}

}  // namespace

std::string SriovAlias(std::string_view iface_name) {
  return sk::StrCat(kUserAliasPrefix, kSriovAliasPrefix, iface_name);
}

std::string HexDomain(const sysfs::PciAddress& a) {
  return absl::StrFormat("0x%04x", a.domain);
}
std::string HexBus(const sysfs::PciAddress& a) {
  return absl::StrFormat("0x%02x", a.bus);
}
std::string HexSlot(const sysfs::PciAddress& a) {
  return absl::StrFormat("0x%02x", a.device);
}
std::string HexFunction(const sysfs::PciAddress& a) {
  return absl::StrFormat("0x%x", a.function);
}

absl::StatusOr<std::string> HostdevsXml(const std::vector<HostdevSpec>& devs) {
  if (absl::Status s = CheckSpecs(devs); !s.ok()) return s;
  pugi::xml_document doc;
  AppendHostdevs(doc.append_child("devices"), devs);
  return Print(doc);
}

absl::StatusOr<std::string> DomainXml(const DomainOptions& opts,
                                      const std::vector<HostdevSpec>& devs) {
  if (absl::Status s = CheckSpecs(devs); !s.ok()) return s;
  if (opts.name.empty()) {
    return absl::InvalidArgumentError("domain name is empty");
  }
  for (const auto& [field, value] :
       {std::pair<std::string_view, std::string_view>{"domain name", opts.name},
        {"domain type", opts.type},
        {"domain machine", opts.machine},
        {"domain arch", opts.arch}}) {
    if (absl::Status s = CheckXmlChars(field, value); !s.ok()) return s;
  }
  if (opts.memory_kib == 0) {
    return absl::InvalidArgumentError(
        sk::StrCat("domain ", opts.name, ": memory must be greater than 0"));
  }
  if (opts.vcpus == 0) {
    return absl::InvalidArgumentError(
        sk::StrCat("domain ", opts.name, ": vcpus must be greater than 0"));
  }
  pugi::xml_document doc;
  pugi::xml_node dom = doc.append_child("domain");
  dom.append_attribute("type").set_value(opts.type.c_str());
  dom.append_child("name").text().set(opts.name.c_str());
  pugi::xml_node mem = dom.append_child("memory");
  mem.append_attribute("unit").set_value("KiB");
  mem.text().set(std::to_string(opts.memory_kib).c_str());
  dom.append_child("vcpu").text().set(std::to_string(opts.vcpus).c_str());
  pugi::xml_node type = dom.append_child("os").append_child("type");
  type.append_attribute("arch").set_value(opts.arch.c_str());
  type.append_attribute("machine").set_value(opts.machine.c_str());
  type.text().set("hvm");
  if (opts.acpi) dom.append_child("features").append_child("acpi");
  AppendHostdevs(dom.append_child("devices"), devs);
  return Print(doc);
}

}  // namespace sk::libvirt
