#include "tests/testing/test_pki.h"

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace sk::testing {
namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Deleter>;

absl::Status SslError(const std::string& what) {
  return absl::InternalError(absl::StrCat("test PKI: ", what, " failed"));
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                nullptr)) {
    return SslError("PEM_write_bio_PrivateKey");
  }
  return BioString(bio.get());
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert))
    return SslError("PEM_write_bio_X509");
  return BioString(bio.get());
}

absl::Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) {
    return SslError(absl::StrCat("adding extension ", value));
  }
  return absl::OkStatus();
}

struct Subject {
  std::string cn;
  std::vector<std::string> orgs;
};

// Issues a certificate for a new key; self-signed when `issuer` is null.
absl::StatusOr<CertAndKey> Issue(const Subject& subject, X509* issuer,
                                 EVP_PKEY* issuer_key, bool is_ca,
                                 bool is_server, long serial) {
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return SslError("EVP_EC_gen");
  Ptr<X509> cert(X509_new());
  if (!cert) return SslError("X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const std::string& o : subject.orgs) {
    X509_NAME_add_entry_by_txt(
        name, "O", MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>(subject.cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  EVP_PKEY* signer_key = issuer_key != nullptr ? issuer_key : key.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    if (auto s = AddExt(cert.get(), signer, NID_basic_constraints,
                        "critical,CA:TRUE");
        !s.ok())
      return s;
    if (auto s = AddExt(cert.get(), signer, NID_key_usage,
                        "critical,keyCertSign,cRLSign");
        !s.ok())
      return s;
    if (auto s = AddExt(cert.get(), signer, NID_subject_key_identifier, "hash");
        !s.ok())
      return s;
  } else {
    if (auto s = AddExt(cert.get(), signer, NID_basic_constraints,
                        "critical,CA:FALSE");
        !s.ok())
      return s;
    if (auto s = AddExt(cert.get(), signer, NID_key_usage,
                        "critical,digitalSignature,keyEncipherment");
        !s.ok())
      return s;
    if (auto s = AddExt(cert.get(), signer, NID_ext_key_usage,
                        is_server ? "serverAuth" : "clientAuth");
        !s.ok())
      return s;
    if (is_server) {
      if (auto s = AddExt(cert.get(), signer, NID_subject_alt_name,
                          "IP:127.0.0.1,DNS:localhost");
          !s.ok())
        return s;
    }
  }
  if (X509_sign(cert.get(), signer_key, EVP_sha256()) == 0) {
    return SslError("X509_sign");
  }
  CertAndKey out;
  auto cert_pem = CertPem(cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = KeyPem(key.get());
  if (!key_pem.ok()) return key_pem.status();
  out.cert_pem = *std::move(cert_pem);
  out.key_pem = *std::move(key_pem);
  return out;
}

absl::StatusOr<Ptr<X509>> ParseCert(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return SslError("PEM_read_bio_X509");
  return cert;
}

absl::StatusOr<Ptr<EVP_PKEY>> ParseKey(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return SslError("PEM_read_bio_PrivateKey");
  return key;
}

}  // namespace

absl::StatusOr<TestPki> TestPki::Create(const std::string& ca_name) {
  TestPki pki;
  auto ca = Issue({ca_name, {}}, nullptr, nullptr, /*is_ca=*/true,
                  /*is_server=*/false, 1);
  if (!ca.ok()) return ca.status();
  pki.ca_ = *std::move(ca);
  auto ca_cert = ParseCert(pki.ca_.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  auto ca_key = ParseKey(pki.ca_.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  auto server = Issue({"localhost", {}}, ca_cert->get(), ca_key->get(),
                      /*is_ca=*/false, /*is_server=*/true, 2);
  if (!server.ok()) return server.status();
  pki.server_ = *std::move(server);
  return pki;
}

absl::StatusOr<CertAndKey> TestPki::IssueClient(
    const std::string& user, const std::vector<std::string>& groups) const {
  auto ca_cert = ParseCert(ca_.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  auto ca_key = ParseKey(ca_.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  static std::atomic<long> serial{100};
  return Issue({user, groups}, ca_cert->get(), ca_key->get(), /*is_ca=*/false,
               /*is_server=*/false, ++serial);
}

}  // namespace sk::testing
