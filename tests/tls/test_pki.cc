#include "tests/tls/test_pki.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace token::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct OsslFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtFree>;

PkeyPtr NewEcKey() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

std::string BioText(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem == nullptr ? "" : std::string(mem->data, mem->length);
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  return BioText(bio.get());
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  return BioText(bio.get());
}

std::string SerialHex(X509* cert) {
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (bn == nullptr) return "";
  std::unique_ptr<char, OsslFree> hex(BN_bn2hex(bn.get()));
  return hex == nullptr ? "" : hex.get();
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1;
}

// MakeCert builds and signs a certificate for `key`. `issuer`/`issuer_key`
// null means self-signed.
X509Ptr MakeCert(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key,
                 absl::Duration not_before, absl::Duration not_after,
                 const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1) return nullptr;
  BnPtr serial(BN_new());
  if (serial == nullptr || BN_rand(serial.get(), 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return nullptr;
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), absl::ToInt64Seconds(not_before)) ==
          nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(not_after)) == nullptr) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return nullptr;
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return nullptr;
  }
  for (const auto& [nid, value] : extensions) {
    if (!AddExtension(cert.get(), signer, nid, value)) return nullptr;
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return nullptr;
  }
  return cert;
}

PkeyPtr ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

std::string NewEcKeyPem() {
  PkeyPtr key = NewEcKey();
  return key == nullptr ? "" : KeyPem(key.get());
}

TestCa TestCa::Create(const std::string& common_name) {
  TestCa ca;
  PkeyPtr key = NewEcKey();
  X509Ptr cert = key == nullptr ? nullptr
                                : MakeCert(key.get(), common_name, nullptr, nullptr,
                                           absl::Minutes(-10), absl::Hours(24 * 30),
                                           {{NID_basic_constraints, "critical,CA:TRUE"},
                                            {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                            {NID_subject_key_identifier, "hash"}});
  if (cert == nullptr) {
    ADD_FAILURE() << "cannot create the test CA";
    return ca;
  }
  ca.ca_ = {CertPem(cert.get()), KeyPem(key.get()), SerialHex(cert.get())};
  return ca;
}

Issued TestCa::Issue(const LeafSpec& spec) const {
  PkeyPtr ca_key = ParseKey(ca_.key_pem);
  X509Ptr ca_cert = ParseCert(ca_.cert_pem);
  PkeyPtr key = NewEcKey();
  if (ca_key == nullptr || ca_cert == nullptr || key == nullptr) {
    ADD_FAILURE() << "cannot issue a test certificate";
    return {};
  }
  std::vector<std::string> sans;
  for (const std::string& dns : spec.dns_sans) sans.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ip_sans) sans.push_back("IP:" + ip);
  for (const std::string& uri : spec.uri_sans) sans.push_back("URI:" + uri);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  if (!sans.empty()) extensions.push_back({NID_subject_alt_name, absl::StrJoin(sans, ",")});
  X509Ptr cert = MakeCert(key.get(), spec.common_name, ca_cert.get(), ca_key.get(), spec.not_before,
                          spec.not_after, extensions);
  if (cert == nullptr) {
    ADD_FAILURE() << "cannot sign a test certificate";
    return {};
  }
  return {CertPem(cert.get()), KeyPem(key.get()), SerialHex(cert.get())};
}

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  return mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

bool WriteFile(const std::string& path, const std::string& contents) {
  const std::string temp = path + ".writing";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out.good()) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

std::string SerialOfPem(const std::string& pem) {
  X509Ptr cert = ParseCert(pem);
  return cert == nullptr ? "" : SerialHex(cert.get());
}

}  // namespace token::testing
