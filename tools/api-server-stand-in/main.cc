// api-server-stand-in: a command-line ApiServerStandIn
// (tests/testing/api_server_stand_in.h) for the lab, where no real API server
// runs. It generates a CA and a server certificate, serves HTTPS on
// 127.0.0.1:<ephemeral port> with one bearer token, loads every *.json,
// *.yaml and *.yml file of --objects (one object per document; the REST path
// is derived from apiVersion, kind, metadata.namespace and metadata.name),
// writes the CA, a kubeconfig and the port to the given paths, and serves
// until SIGINT/SIGTERM. Exit 0 after a signal, 66 when an object file cannot
// be loaded, 69 when the server cannot start, 2 when an output cannot be
// written.
#include <signal.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include <CLI/CLI.hpp>

#include "lib/base/exit_code.h"
#include "lib/base/file_util.h"
#include "lib/kubevirt/input.h"
#include "tests/testing/api_server_stand_in.h"

namespace {

using nlohmann::json;

json ToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = ToJson(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& v : n) a.push_back(ToJson(v));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  long long i;
  bool b;
  if (s == "null" || s == "~") return nullptr;
  if (YAML::convert<bool>::decode(n, b) && (s == "true" || s == "false"))
    return b;
  if (YAML::convert<long long>::decode(n, i)) return i;
  return s;
}

// The REST resource of a kind, as k8s.io/apimachinery
// meta.UnsafeGuessKindToResource guesses it (lower case; "s" -> "ses",
// "y" -> "ies", else + "s": SriovNetworkNodePolicy ->
// sriovnetworknodepolicies), except the NAD CRD's hyphenated plural.
std::string Resource(const std::string& kind) {
  if (kind == "NetworkAttachmentDefinition")
    return "network-attachment-definitions";
  std::string r = absl::AsciiStrToLower(kind);
  if (r.empty()) return r;
  if (r.back() == 's') return r + "es";
  if (r.back() == 'y') return r.substr(0, r.size() - 1) + "ies";
  return r + "s";
}

// The object path for `obj`, or "" when it lacks apiVersion/kind/name.
std::string PathOf(const json& obj) {
  if (!obj.is_object() || !obj.value("apiVersion", json()).is_string() ||
      !obj.value("kind", json()).is_string() || !obj["metadata"].is_object() ||
      !obj["metadata"].value("name", json()).is_string()) {
    return "";
  }
  std::string api = obj["apiVersion"];
  std::string p =
      api.find('/') == std::string::npos ? "/api/" + api : "/apis/" + api;
  std::string ns = obj["metadata"].value("namespace", "");
  if (!ns.empty()) absl::StrAppend(&p, "/namespaces/", ns);
  return absl::StrCat(p, "/", Resource(obj["kind"]), "/",
                      obj["metadata"]["name"].get<std::string>());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "api-server-stand-in: a Kubernetes API server stand-in, for the lab"};
  std::string objects, ca_out, kubeconfig_out, port_out;
  std::string token = "sriovkit-stand-in-token";
  app.add_option("--objects", objects, "directory of object files (JSON/YAML)");
  app.add_option("--token", token, "the bearer token the server accepts");
  app.add_option("--ca-out", ca_out, "write the CA certificate (PEM) here");
  app.add_option("--kubeconfig-out", kubeconfig_out, "write a kubeconfig here");
  app.add_option("--port-out", port_out, "write the port here");
  CLI11_PARSE(app, argc, argv);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread starts

  auto pki = sk::testing::TestPki::Create("api-server-stand-in-ca");
  if (!pki.ok()) {
    std::cerr << pki.status() << "\n";
    return sk::kExitUnavailable;
  }
  sk::testing::ApiServerStandIn::Options opts;
  opts.tokens = {{token, "stand-in-admin"}};
  auto server = sk::testing::ApiServerStandIn::Start(*pki, opts);
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return sk::kExitUnavailable;
  }
  if (!objects.empty()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(objects, ec)) {
      std::string ext = entry.path().extension();
      if (ext != ".json" && ext != ".yaml" && ext != ".yml") continue;
      auto text = sk::kubevirt::ReadInputFile(entry.path());
      auto docs = text.ok()
                      ? sk::kubevirt::LoadYamlDocuments(*text)
                      : absl::StatusOr<std::vector<YAML::Node>>(text.status());
      if (!docs.ok()) {
        std::cerr << entry.path().string() << ": " << docs.status() << "\n";
        return sk::kExitNoInput;
      }
      for (const YAML::Node& doc : *docs) {
        json obj = ToJson(doc);
        std::string path = PathOf(obj);
        if (path.empty()) {
          std::cerr
              << entry.path().string()
              << ": an object without apiVersion, kind or metadata.name\n";
          return sk::kExitNoInput;
        }
        (*server)->Put(path, obj);
      }
    }
    if (ec) {
      std::cerr << objects << ": " << ec.message() << "\n";
      return sk::kExitNoInput;
    }
  }
  std::string kubeconfig = absl::StrCat(
      "apiVersion: v1\nkind: Config\ncurrent-context: stand-in\n"
      "clusters:\n- name: stand-in\n  cluster:\n    server: ",
      (*server)->url(),
      "\n    certificate-authority-data: ", absl::Base64Escape(pki->ca_pem()),
      "\nusers:\n- name: stand-in\n  user:\n    token: ", token,
      "\ncontexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    "
      "user: stand-in\n"
      "    namespace: default\n");
  for (const auto& [path, text, mode] :
       {std::tuple{ca_out, pki->ca_pem(), 0644},
        std::tuple{kubeconfig_out, kubeconfig, 0600},
        std::tuple{port_out, std::to_string((*server)->port()) + "\n", 0644}}) {
    if (path.empty()) continue;
    if (absl::Status s = sk::WriteFileAtomic(path, text, mode); !s.ok()) {
      std::cerr << s << "\n";
      return sk::kExitFailure;
    }
  }
  std::cerr << "api-server-stand-in: serving " << (*server)->url() << "\n";
  int sig = 0;
  sigwait(&sigs, &sig);
  (*server)->Stop();
  return sk::kExitOk;
}
