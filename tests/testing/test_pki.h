#pragma once
// An in-process PKI for TLS tests: a CA, a server certificate for
// 127.0.0.1/localhost and client certificates, generated with OpenSSL 3
// (ECDSA P-256, valid one day), all as PEM strings. Nothing touches disk.
//
//   SK_ASSERT_OK_AND_ASSIGN(TestPki pki, TestPki::Create());
//   SK_ASSERT_OK_AND_ASSIGN(CertAndKey alice,
//                           pki.IssueClient("alice", {"system:masters"}));
//
// Thread-compatible.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sk::testing {

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

class TestPki {
 public:
  // A fresh CA (CN "sk-test-ca") and a server certificate signed by it with
  // SAN IP:127.0.0.1, DNS:localhost.
  static absl::StatusOr<TestPki> Create(
      const std::string& ca_name = "sk-test-ca");

  const std::string& ca_pem() const { return ca_.cert_pem; }
  const CertAndKey& ca() const { return ca_; }
  const CertAndKey& server() const { return server_; }

  // A client certificate signed by this CA: subject CN = `user`, one
  // O = per entry of `groups` (how Kubernetes maps a certificate to a user).
  absl::StatusOr<CertAndKey> IssueClient(
      const std::string& user, const std::vector<std::string>& groups) const;

 private:
  CertAndKey ca_;
  CertAndKey server_;
};

}  // namespace sk::testing
