#pragma once

// The CNIDeviceInfoFile capability (k8snetworkplumbingwg
// device-info-spec v1.1.0; sriov-cni writes a pci device-info document
// {pci-address, pf-pci-address} when none is there yet).
//
// Multus passes runtimeConfig.CNIDeviceInfoFile (a path under
// /var/run/k8s.cni.cncf.io/devinfo/cni/) to plugins that declare the
// capability, usually after copying the device plugin's file there; it reads
// the file into the network-status annotation after ADD and deletes it on
// DEL. When the device plugin wrote none, the sriov plugin creates
//   {"type":"pci","version":"1.1.0",
//    "pci":{"pci-address":"0000:af:06.0","pf-pci-address":"0000:af:00.1"}}
// with mode 0444 and never replaces an existing file (as the spec's Go
// helper does), so the device plugin's richer document wins.

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace sk::cni {

// The document above (one line, keys in spec order).
std::string PciDeviceInfoJson(const std::string& pci,
                              const std::string& pf_pci);

// Creates `path` (and missing parent directories) holding
// PciDeviceInfoJson, mode 0444, atomically and only if nothing exists at
// `path` (no symlink followed). Returns true when written, false when a
// file was already there; errno statuses otherwise.
absl::StatusOr<bool> WriteDeviceInfoIfAbsent(const std::filesystem::path& path,
                                             const std::string& pci,
                                             const std::string& pf_pci);

}  // namespace sk::cni
