#include "lib/sysfs/sysfs.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/strings.h"

namespace sk::sysfs {
using ::sk::ToAbsl;
using ::sk::ToStd;

bool Sysfs::is_host_root() const {
  std::error_code ec;
  return std::filesystem::equivalent(root_, "/", ec);
}

std::filesystem::path Sysfs::Path(std::string_view rel) const {
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  return root_ / std::filesystem::path(rel);
}

absl::StatusOr<std::string> Sysfs::ReadAttribute(std::string_view rel) const {
  auto content = ReadFile(Path(rel));
  if (!content.ok()) return content.status();
  std::string s = std::move(*content);
  while (!s.empty() &&
         absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  return s;
}

absl::StatusOr<int64_t> ParseSysfsInt(std::string_view text) {
  std::string_view t = ToStd(absl::StripAsciiWhitespace(ToAbsl(text)));
  bool neg = false;
  std::string_view digits = t;
  if (!digits.empty() && digits.front() == '-') {
    neg = true;
    digits.remove_prefix(1);
  }
  int64_t v = 0;
  bool ok = false;
  if (digits.size() > 2 && digits[0] == '0' &&
      (digits[1] == 'x' || digits[1] == 'X')) {
    uint64_t u = 0;
    ok = absl::SimpleHexAtoi(ToAbsl(digits.substr(2)), &u) && u <= INT64_MAX;
    v = static_cast<int64_t>(u);
  } else if (!digits.empty() &&
             absl::ascii_isdigit(static_cast<unsigned char>(digits[0]))) {
    ok = absl::SimpleAtoi(ToAbsl(digits), &v);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        sk::StrCat("not an integer: \"", text, "\""));
  }
  return neg ? -v : v;
}

absl::StatusOr<int64_t> Sysfs::ReadInt(std::string_view rel) const {
  auto s = ReadAttribute(rel);
  if (!s.ok()) return s.status();
  auto v = ParseSysfsInt(*s);
  if (!v.ok()) return Annotate(v.status(), Path(rel).string());
  return v;
}

absl::StatusOr<std::string> Sysfs::ReadLinkBasename(
    std::string_view rel) const {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(Path(rel), ec);
  if (ec) return ErrnoStatus(ec.value(), "readlink ", Path(rel).string());
  return target.filename().string();
}

absl::StatusOr<std::filesystem::path> Sysfs::ResolveLink(
    std::string_view rel) const {
  std::error_code ec;
  auto p = std::filesystem::canonical(Path(rel), ec);
  if (ec) return ErrnoStatus(ec.value(), "resolve ", Path(rel).string());
  return p;
}

bool Sysfs::Exists(std::string_view rel) const {
  std::error_code ec;
  return std::filesystem::exists(
      std::filesystem::symlink_status(Path(rel), ec));
}

absl::StatusOr<std::vector<std::string>> Sysfs::ListDir(
    std::string_view rel) const {
  std::error_code ec;
  std::filesystem::directory_iterator it(Path(rel), ec);
  if (ec) return ErrnoStatus(ec.value(), "list ", Path(rel).string());
  std::vector<std::string> names;
  for (const auto& e : it) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status Sysfs::WriteAttribute(std::string_view rel,
                                   std::string_view value) const {
  // sysfs attributes must be written in one write(2) without truncation
  // semantics of a temp file: open O_WRONLY and write once.
  FILE* f = std::fopen(Path(rel).c_str(), "we");
  if (f == nullptr) return ErrnoStatus(errno, "open ", Path(rel).string());
  size_t n = std::fwrite(value.data(), 1, value.size(), f);
  int werr = (n != value.size()) ? errno : 0;
  if (std::fclose(f) != 0 && werr == 0) werr = errno;
  if (werr != 0) {
    return ErrnoStatus(werr, "write \"", value, "\" to ", Path(rel).string());
  }
  return absl::OkStatus();
}

}  // namespace sk::sysfs
