#include "lib/cni/devinfo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nlohmann/json.hpp"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"

namespace sk::cni {

std::string PciDeviceInfoJson(const std::string& pci,
                              const std::string& pf_pci) {
  nlohmann::ordered_json pci_obj;
  pci_obj["pci-address"] = pci;
  if (!pf_pci.empty()) pci_obj["pf-pci-address"] = pf_pci;
  nlohmann::ordered_json doc;
  doc["type"] = "pci";
  doc["version"] = "1.1.0";
  doc["pci"] = pci_obj;
  return doc.dump();
}

absl::StatusOr<bool> WriteDeviceInfoIfAbsent(const std::filesystem::path& path,
                                             const std::string& pci,
                                             const std::string& pf_pci) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return false;
  if (path.has_parent_path()) SK_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  // Write a temporary file, then link(2) it into place: link never
  // replaces an existing name, so a file the device plugin (or Multus)
  // put there meanwhile is kept, and readers never see a partial file.
  std::string tmp = path.string() + ".sk-tmp-" + std::to_string(::getpid());
  std::string doc = PciDeviceInfoJson(pci, pf_pci);
  UniqueFd fd(::open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444));
  if (!fd) return ErrnoStatus(errno, "create ", tmp);
  if (::write(fd.get(), doc.data(), doc.size()) !=
      static_cast<ssize_t>(doc.size())) {
    int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(e, "write ", tmp);
  }
  fd.Reset();
  int rc = ::link(tmp.c_str(), path.c_str());
  int e = errno;
  ::unlink(tmp.c_str());
  if (rc == 0) return true;
  if (e == EEXIST) return false;
  return ErrnoStatus(e, "link ", path.string());
}

}  // namespace sk::cni
