#include "lib/cni/env.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include "lib/base/strings.h"
#include "lib/cni/error.h"

namespace sk::cni {
namespace {

bool ValidContainerId(const std::string& id) {
  if (id.empty() || !isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' &&
        c != '-')
      return false;
  return true;
}

absl::Status ValidateIfname(const std::string& n) {
  if (n.empty()) return CniError(kCniInvalidEnv, "interface name is empty");
  if (n.size() > 15)
    return CniError(kCniInvalidEnv, "interface name is too long", n);
  if (n == "." || n == "..")
    return CniError(kCniInvalidEnv, "interface name is . or ..", n);
  for (char c : n) {
    if (c == '/' || c == ':' || isspace(static_cast<unsigned char>(c)))
      return CniError(kCniInvalidEnv,
                      "interface name contains / or : or whitespace characters",
                      n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view CommandName(Command c) {
  switch (c) {
    case Command::kAdd:
      return "ADD";
    case Command::kDel:
      return "DEL";
    case Command::kCheck:
      return "CHECK";
    case Command::kVersion:
      return "VERSION";
    case Command::kStatus:
      return "STATUS";
    case Command::kGc:
      return "GC";
  }
  return "";
}

absl::StatusOr<CniEnv> ParseEnv(const GetEnvFn& getenv) {
  CniEnv env;
  auto get = [&](const char* n) { return getenv(n).value_or(""); };
  std::string cmd = get("CNI_COMMAND");
  if (cmd.empty())
    return CniError(kCniInvalidEnv,
                    "required env variables [CNI_COMMAND] missing");
  static const std::pair<const char*, Command> kCommands[] = {
      {"ADD", Command::kAdd},       {"DEL", Command::kDel},
      {"CHECK", Command::kCheck},   {"VERSION", Command::kVersion},
      {"STATUS", Command::kStatus}, {"GC", Command::kGc}};
  bool known = false;
  for (const auto& [name, c] : kCommands) {
    if (cmd == name) {
      env.command = c;
      known = true;
    }
  }
  if (!known) return CniError(kCniInvalidEnv, "unknown CNI_COMMAND: " + cmd);
  env.container_id = get("CNI_CONTAINERID");
  env.netns = get("CNI_NETNS");
  env.ifname = get("CNI_IFNAME");
  env.args = get("CNI_ARGS");
  std::string override_ns = get("CNI_NETNS_OVERRIDE");
  env.netns_override = override_ns == "1" || override_ns == "true";
  std::string path = get("CNI_PATH");
  for (absl::string_view p : absl::StrSplit(path, ':', absl::SkipEmpty()))
    env.path.emplace_back(p);
  if (env.command == Command::kVersion) return env;

  std::vector<std::string> missing;
  bool needs_attachment = env.command == Command::kAdd ||
                          env.command == Command::kDel ||
                          env.command == Command::kCheck;
  if (needs_attachment) {
    if (env.container_id.empty()) missing.push_back("CNI_CONTAINERID");
    if (env.command != Command::kDel && env.netns.empty())
      missing.push_back("CNI_NETNS");
    if (env.ifname.empty()) missing.push_back("CNI_IFNAME");
  }
  if (path.empty() && env.command != Command::kStatus)
    missing.push_back("CNI_PATH");
  if (!missing.empty()) {
    return CniError(
        kCniInvalidEnv,
        "required env variables [" + absl::StrJoin(missing, ",") + "] missing");
  }
  if (needs_attachment) {
    if (!ValidContainerId(env.container_id))
      return CniError(kCniInvalidEnv, "invalid characters in containerID",
                      env.container_id);
    if (absl::Status s = ValidateIfname(env.ifname); !s.ok()) return s;
  }
  return env;
}

std::vector<std::pair<std::string, std::string>> EnvVars(const CniEnv& env,
                                                         Command command) {
  return {{"CNI_COMMAND", std::string(CommandName(command))},
          {"CNI_CONTAINERID", env.container_id},
          {"CNI_NETNS", env.netns},
          {"CNI_IFNAME", env.ifname},
          {"CNI_ARGS", env.args},
          {"CNI_PATH", absl::StrJoin(env.path, ":")}};
}

absl::StatusOr<std::map<std::string, std::string>> ParseCniArgs(
    const std::string& args) {
  std::map<std::string, std::string> out;
  if (args.empty()) return out;
  for (absl::string_view pair : absl::StrSplit(args, ';', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(pair, '=');
    if (kv.size() != 2)
      return CniError(kCniInvalidEnv,
                      "ARGS: invalid pair \"" + std::string(pair) + "\"");
    out[std::string(kv[0])] = std::string(kv[1]);
  }
  auto it = out.find("IgnoreUnknown");
  bool ignore = it != out.end() && (it->second == "1" || it->second == "true");
  if (!ignore) {
    std::vector<std::string> unknown;
    for (const auto& [k, v] : out)
      if (k != "IgnoreUnknown" && k != "MAC") unknown.push_back(k);
    if (!unknown.empty())
      return CniError(kCniInvalidEnv, "ARGS: unknown args [" +
                                          absl::StrJoin(unknown, " ") + "]");
  }
  return out;
}

}  // namespace sk::cni
