// Fuzzes the KubeVirt glue's parsers of files we do not control (VMI/VM
// YAML or JSON, NADs, Multus network-status, network-info) and everything a
// parsed VMI flows into: admission, pod rendering, network-info and the
// libvirt XML. Invariants: nothing throws or crashes; a rendered hostdev XML
// parses back as XML with one <hostdev> per SR-IOV interface.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "pugixml.hpp"

#include "lib/kubevirt/launcher_pod.h"
#include "lib/kubevirt/network_info.h"
#include "lib/kubevirt/sriov_hostdevs.h"
#include "lib/kubevirt/vmi.h"
#include "lib/libvirt/hostdev_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sk::kubevirt::NadStore nads("default");
  (void)nads.AddText(in, "fuzz");
  auto status = sk::kubevirt::ParseNetworkStatus(in);
  auto pci = sk::kubevirt::ParseNetworkInfoPci(in);
  auto vmi = sk::kubevirt::ParseVmi(in);
  if (!vmi.ok()) return 0;
  (void)sk::kubevirt::ValidateVmi(*vmi);
  sk::kubevirt::RenderPodOptions o;
  o.external_resource_injection = true;
  (void)sk::kubevirt::RenderLauncherPod(*vmi, nads, o);
  if (status.ok()) (void)sk::kubevirt::BuildNetworkInfo(*vmi, *status);
  if (!sk::kubevirt::AdmitVmi(*vmi).ok()) return 0;
  // One VF per SR-IOV interface, so every interface resolves.
  std::map<std::string, std::string> info;
  int n = 0;
  for (const auto& i : vmi->interfaces) {
    if (i.has_binding("sriov") && i.state != "absent") {
      info[i.name] = "0000:01:10." + std::to_string(n % 8);
      ++n;
    }
  }
  if (n > 8) return 0;
  sk::kubevirt::PciAddressPool pool(info, {}, {});
  auto specs = sk::kubevirt::BuildSriovHostdevs(*vmi, pool);
  if (!specs.ok()) return 0;
  auto xml = sk::libvirt::HostdevsXml(*specs);
  if (!xml.ok()) return 0;
  pugi::xml_document doc;
  if (!doc.load_string(xml->c_str())) __builtin_trap();
  int count = 0;
  for (pugi::xml_node h : doc.child("devices").children("hostdev")) {
    (void)h;
    ++count;
  }
  if (count != n) __builtin_trap();
  return 0;
}
