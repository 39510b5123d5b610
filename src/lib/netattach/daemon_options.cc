#include "lib/netattach/daemon_options.h"

#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "absl/strings/str_split.h"
#include <CLI/CLI.hpp>

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/netattach/shim_client.h"

namespace sk::netattach {
namespace {

absl::Status CheckPath(std::string_view flag, const std::string& value,
                       bool optional) {
  if (value.empty()) {
    if (optional) return absl::OkStatus();
    return absl::InvalidArgumentError(sk::StrCat(flag, ": empty path"));
  }
  if (value[0] != '/') {
    return absl::InvalidArgumentError(
        sk::StrCat(flag, " \"", value, "\": not an absolute path"));
  }
  return absl::OkStatus();
}

// RFC 1123 subdomain, as Kubernetes validates object names
// (k8s.io/apimachinery pkg/util/validation IsDNS1123Subdomain).
absl::Status CheckNodeName(std::string_view source, const std::string& name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, " \"", name, "\": ", why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 253) return bad("longer than 253 characters");
  for (absl::string_view label : absl::StrSplit(ToAbsl(name), '.')) {
    if (label.empty()) return bad("has an empty label");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if (c != '-' && c != '.') {
      return bad(sk::StrCat("character '", std::string(1, c), "' at ", i,
                            " is not a lowercase letter, digit, '-' or '.'"));
    }
    bool edge = i == 0 || i + 1 == name.size() || name[i - 1] == '.' ||
                name[i + 1] == '.';
    if (c == '-' && edge) return bad("a label starts or ends with '-'");
  }
  return absl::OkStatus();
}

}  // namespace

DaemonEnvironment DaemonEnvironment::FromProcess() {
  DaemonEnvironment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  env.hostname = []() -> absl::StatusOr<std::string> {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) {
      return ErrnoStatus(errno, "gethostname");
    }
    return std::string(buf);
  };
  return env;
}

absl::StatusOr<DaemonCommandLine> ParseDaemonCommandLine(
    const std::vector<std::string>& args, const DaemonEnvironment& env) {
  DaemonCommandLine out;
  DaemonOptions& o = out.options;
  CLI::App app{
      "sriovkit-netattachd: the node daemon of the sriov-netattach "
      "CNI meta-plugin (the Multus role)",
      "sriovkit-netattachd"};
  app.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig file (default: in-cluster config)");
  app.add_option("--node-name", o.node_name,
                 "this node's name (default: $NODE_NAME, else the host name)");
  app.add_option("--socket-dir", o.socket_dir,
                 "directory of the shim socket netattach.sock (made 0700)")
      ->capture_default_str();
  app.add_option("--config", o.config_file,
                 "Multus-style configuration (clusterNetwork, confDir, ...)");
  app.add_option("--pod-resources-socket", o.pod_resources_socket,
                 "kubelet PodResources API socket")
      ->capture_default_str();
  app.add_option("--kubelet-checkpoint", o.kubelet_checkpoint,
                 "kubelet device-plugin checkpoint (fallback)")
      ->capture_default_str();
  app.add_option("--cni-bin-dir", o.cni_bin_dir, "delegate plugin directory")
      ->capture_default_str();
  app.add_option("--cni-conf-dir", o.cni_conf_dir,
                 "CNI configuration directory")
      ->capture_default_str();
  app.add_option("--cache-dir", o.cache_dir,
                 "delegate results kept for DEL and CHECK")
      ->capture_default_str();
  app.add_option("--devinfo-dir", o.devinfo_dir,
                 "device-information files (dp/ and cni/ below it)")
      ->capture_default_str();
  app.add_option("--allowed-uid", o.allowed_uids,
                 "a uid whose processes may call the socket besides root "
                 "(repeatable)")
      ->check(CLI::Range(uint32_t{0}, uint32_t{0xfffffffe}));
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out.exit_early = true;
    out.output = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }

  std::string_view name_source = "--node-name";
  if (o.node_name.empty()) {
    if (std::optional<std::string> v = env.getenv("NODE_NAME");
        v.has_value() && !v->empty()) {
      o.node_name = *v;
      name_source = "$NODE_NAME";
    } else {
      absl::StatusOr<std::string> host = env.hostname();
      if (!host.ok() || host->empty()) {
        return absl::NotFoundError(
            "no node name: pass --node-name or set NODE_NAME (the host name "
            "is not available either)");
      }
      o.node_name = *host;
      std::transform(
          o.node_name.begin(), o.node_name.end(), o.node_name.begin(),
          [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      name_source = "host name";
    }
  }
  SK_RETURN_IF_ERROR(CheckNodeName(name_source, o.node_name));

  SK_RETURN_IF_ERROR(CheckPath("--kubeconfig", o.kubeconfig, true));
  SK_RETURN_IF_ERROR(CheckPath("--socket-dir", o.socket_dir, false));
  SK_RETURN_IF_ERROR(CheckPath("--config", o.config_file, true));
  SK_RETURN_IF_ERROR(
      CheckPath("--pod-resources-socket", o.pod_resources_socket, false));
  SK_RETURN_IF_ERROR(
      CheckPath("--kubelet-checkpoint", o.kubelet_checkpoint, false));
  SK_RETURN_IF_ERROR(CheckPath("--cni-bin-dir", o.cni_bin_dir, false));
  SK_RETURN_IF_ERROR(CheckPath("--cni-conf-dir", o.cni_conf_dir, false));
  SK_RETURN_IF_ERROR(CheckPath("--cache-dir", o.cache_dir, false));
  SK_RETURN_IF_ERROR(CheckPath("--devinfo-dir", o.devinfo_dir, false));

  std::string socket = o.socket_dir + "/" + kSocketName;
  if (socket.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(sk::StrCat(
        "--socket-dir \"", o.socket_dir, "\": socket path ", socket, " is ",
        socket.size(), " bytes, over the ", sizeof(sockaddr_un::sun_path) - 1,
        "-byte unix socket limit"));
  }
  if (o.pod_resources_socket.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(sk::StrCat(
        "--pod-resources-socket \"", o.pod_resources_socket,
        "\": ", o.pod_resources_socket.size(), " bytes, over the ",
        sizeof(sockaddr_un::sun_path) - 1, "-byte unix socket limit"));
  }
  return out;
}

}  // namespace sk::netattach
