#include "lib/ctl/install_cni_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>

#include "absl/strings/escaping.h"
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lib/base/errno_status.h"
#include "lib/base/exit_code.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace sk::ctl {
namespace {

constexpr size_t kMaxBinaryBytes = size_t{256} << 20;
constexpr size_t kMaxConfBytes = size_t{1} << 20;
constexpr size_t kMaxSecretBytes = size_t{64} << 10;
// sriov-netattach-full before sriov-netattach: the fast path runs the full
// shim beside it, so at no point of an upgrade is a new fast path without
// it (src/cmd/sriov-netattach).
constexpr const char* kCniBinaries[] = {"sriov", "sriov-netattach-full",
                                        "sriov-netattach"};

absl::StatusOr<UniqueFd> OpenDir(const std::filesystem::path& dir,
                                 bool create) {
  if (dir.empty() || !dir.is_absolute())
    return absl::InvalidArgumentError(
        sk::StrCat("\"", dir.string(), "\": expected an absolute directory"));
  if (create) SK_RETURN_IF_ERROR(MakeDirs(dir));
  return OpenDirAt(AT_FDCWD, dir.string(), false, 0755, dir.string());
}

// Writes `contents` with `mode` as `name` in `dirfd` unless it is already
// exactly that (bytes, mode, a regular file).
absl::Status Put(int dirfd, const std::filesystem::path& dir,
                 const std::string& name, std::string_view contents, int mode,
                 InstallCniReport& report) {
  const std::string display = (dir / name).string();
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISREG(st.st_mode) &&
      (st.st_mode & 07777) == static_cast<mode_t>(mode) &&
      static_cast<size_t>(st.st_size) == contents.size()) {
    SK_ASSIGN_OR_RETURN(std::optional<std::string> old,
                        ReadFileAt(dirfd, name, display));
    if (old.has_value() && *old == contents) {
      report.unchanged.push_back(display);
      return absl::OkStatus();
    }
  }
  SK_RETURN_IF_ERROR(WriteFileAtomicAt(dirfd, name, contents, mode,
                                       /*sync_dir=*/true, display));
  report.installed.push_back(display);
  return absl::OkStatus();
}

bool IsConfName(const std::string& n) {
  auto ends = [&](std::string_view s) {
    return n.size() > s.size() &&
           n.compare(n.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".conf") || ends(".conflist") || ends(".json");
}

// The first CNI config in `dir` other than ours (lexical order), parsed.
absl::StatusOr<std::pair<std::string, nlohmann::json>> ClusterNetwork(
    const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n != kNetattachConflist && IsConfName(n) &&
        e.symlink_status(ec).type() == std::filesystem::file_type::regular)
      names.push_back(n);
  }
  if (ec) return ErrnoStatus(ec.value(), "list ", dir.string());
  std::sort(names.begin(), names.end());
  if (names.empty())
    return absl::UnavailableError(sk::StrCat(
        "--conf-dir ", dir.string(),
        ": no CNI config (*.conf, *.conflist, *.json) for the cluster network "
        "yet; install the cluster network plugin first"));
  const std::filesystem::path path = dir / names.front();
  SK_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfBytes));
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(text);
  if (!j.ok())
    return absl::InvalidArgumentError(sk::StrCat(
        "cluster network config ", path.string(), ": ", j.status().message()));
  if (!j->is_object() || !j->contains("name") || !(*j)["name"].is_string())
    return absl::InvalidArgumentError(
        sk::StrCat("cluster network config ", path.string(),
                   ": expected an object with a string \"name\""));
  return std::make_pair(path.string(), *std::move(j));
}

absl::StatusOr<std::string> Kubeconfig(const InstallCniOptions& o) {
  if (o.api_host.empty() || o.api_port.empty())
    return absl::FailedPreconditionError(
        "KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT unset: not in a "
        "cluster; pass the kubeconfig to sriovkit-netattachd instead");
  SK_ASSIGN_OR_RETURN(
      std::string token,
      ReadFileBounded(o.service_account_dir / "token", kMaxSecretBytes));
  SK_ASSIGN_OR_RETURN(
      std::string ca,
      ReadFileBounded(o.service_account_dir / "ca.crt", kMaxSecretBytes));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.pop_back();
  if (token.find_first_of("\"\\\n") != std::string::npos)
    return absl::InvalidArgumentError(
        sk::StrCat((o.service_account_dir / "token").string(),
                   ": unexpected characters in the token"));
  const std::string host = o.api_host.find(':') != std::string::npos
                               ? sk::StrCat("[", o.api_host, "]")
                               : o.api_host;
  return sk::StrCat(
      "# Written by sriovctl install-cni for the sriov-netattach meta-plugin.\n"
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- name: local\n"
      "  cluster:\n"
      "    server: https://",
      host, ":", o.api_port,
      "\n"
      "    certificate-authority-data: ",
      absl::Base64Escape(ca),
      "\n"
      "users:\n"
      "- name: sriovkit-netattach\n"
      "  user:\n"
      "    token: \"",
      token,
      "\"\n"
      "contexts:\n"
      "- name: sriovkit-netattach-context\n"
      "  context:\n"
      "    cluster: local\n"
      "    user: sriovkit-netattach\n"
      "current-context: sriovkit-netattach-context\n");
}

}  // namespace

absl::StatusOr<InstallCniReport> InstallCni(const InstallCniOptions& o) {
  InstallCniReport report;
  SK_ASSIGN_OR_RETURN(UniqueFd bin, OpenDir(o.bin_dir, true));
  for (const char* name : kCniBinaries) {
    SK_ASSIGN_OR_RETURN(std::string bytes,
                        ReadFileBounded(o.source_dir / name, kMaxBinaryBytes));
    SK_RETURN_IF_ERROR(Put(bin.get(), o.bin_dir, name, bytes, 0755, report));
  }
  if (o.conf_dir.empty()) return report;

  SK_ASSIGN_OR_RETURN(UniqueFd conf, OpenDir(o.conf_dir, true));
  SK_ASSIGN_OR_RETURN(auto primary, ClusterNetwork(o.conf_dir));
  report.cluster_network = primary.first;
  const std::filesystem::path kubeconfig =
      o.kubeconfig_out.empty() ? o.conf_dir / kNetattachKubeconfigRel
                               : o.kubeconfig_out;
  SK_ASSIGN_OR_RETURN(std::string kc, Kubeconfig(o));
  SK_ASSIGN_OR_RETURN(UniqueFd kc_dir, OpenDir(kubeconfig.parent_path(), true));
  SK_RETURN_IF_ERROR(Put(kc_dir.get(), kubeconfig.parent_path(),
                         kubeconfig.filename().string(), kc, 0600, report));

  const nlohmann::json& delegate = primary.second;
  std::string version = "1.0.0";
  if (auto v = delegate.find("cniVersion");
      v != delegate.end() && v->is_string())
    version = v->get<std::string>();
  nlohmann::json plugin = {
      {"type", "sriov-netattach"},
      {"kubeconfig", o.kubeconfig_host_path.empty()
                         ? kubeconfig.string()
                         : o.kubeconfig_host_path.string()},
      {"delegates", nlohmann::json::array({delegate})}};
  // The runtime hands the capabilities the cluster network asks for to the
  // meta-plugin, which passes them on (Multus's generator does the same).
  nlohmann::json caps = nlohmann::json::object();
  auto add_caps = [&](const nlohmann::json& p) {
    if (auto c = p.find("capabilities"); c != p.end() && c->is_object())
      for (auto it = c->begin(); it != c->end(); ++it)
        if (it->is_boolean() && it->get<bool>()) caps[it.key()] = true;
  };
  add_caps(delegate);
  if (auto ps = delegate.find("plugins");
      ps != delegate.end() && ps->is_array())
    for (const auto& p : *ps)
      if (p.is_object()) add_caps(p);
  if (!caps.empty()) plugin["capabilities"] = caps;
  nlohmann::json list = {{"cniVersion", version},
                         {"name", "multus-cni-network"},
                         {"plugins", nlohmann::json::array({plugin})}};
  SK_RETURN_IF_ERROR(Put(conf.get(), o.conf_dir, kNetattachConflist,
                         list.dump(2) + "\n", 0644, report));
  return report;
}

void AddInstallCniCommand(CLI::App& app, const CtlOptions& /*opts*/,
                          RunFn* run) {
  auto o = std::make_shared<InstallCniOptions>();
  CLI::App* cmd = app.add_subcommand(
      "install-cni",
      "Install the CNI binaries, the meta-plugin's CNI config and kubeconfig "
      "(atomic, idempotent)");
  cmd->add_option("--bin-dir", o->bin_dir, "host CNI binary directory")
      ->required()
      ->type_name("DIR");
  cmd->add_option("--conf-dir", o->conf_dir,
                  "host CNI config directory (writes " +
                      std::string(kNetattachConflist) + " and the kubeconfig)")
      ->type_name("DIR");
  cmd->add_option("--kubeconfig-out", o->kubeconfig_out,
                  "kubeconfig path (default <conf-dir>/" +
                      std::string(kNetattachKubeconfigRel) + ")")
      ->type_name("FILE");
  cmd->add_option("--kubeconfig-host-path", o->kubeconfig_host_path,
                  "the kubeconfig's path on the host, named in the conflist "
                  "(default: --kubeconfig-out)")
      ->type_name("FILE");
  cmd->add_option("--source-dir", o->source_dir,
                  "where the CNI binaries to install are")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->add_option("--service-account-dir", o->service_account_dir,
                  "service account token and ca.crt")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->callback([o, run] {
    *run = [o](const Io& io) {
      InstallCniOptions opts = *o;
      // sriovctl runs one command on one thread: nothing sets the
      // environment meanwhile.
      if (const char* h = std::getenv(  // NOLINT(concurrency-mt-unsafe)
              "KUBERNETES_SERVICE_HOST"))
        opts.api_host = h;
      if (const char* p = std::getenv(  // NOLINT(concurrency-mt-unsafe)
              "KUBERNETES_SERVICE_PORT"))
        opts.api_port = p;
      absl::StatusOr<InstallCniReport> r = InstallCni(opts);
      if (!r.ok()) {
        *io.err << "sriovctl install-cni: " << r.status().message() << "\n";
        return ExitCodeForStatus(r.status());
      }
      if (!r->cluster_network.empty())
        *io.out << "cluster network: " << r->cluster_network << "\n";
      for (const std::string& p : r->installed)
        *io.out << "installed " << p << "\n";
      for (const std::string& p : r->unchanged)
        *io.out << "unchanged " << p << "\n";
      if (r->installed.empty())
        *io.out << "sriovctl install-cni: nothing changed\n";
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace sk::ctl
