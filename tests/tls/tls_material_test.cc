// TlsMaterial::Parse and ReadTlsFiles: what a server certificate, key and
// client CA bundle must look like, and that errors name files, not contents.
#include "server/tls/tls_material.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/openssl_ptr.h"
#include "tests/tls/test_pki.h"

namespace token::tls {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using token::testing::Issued;
using token::testing::TestCa;

const TlsPaths kPaths = {.cert = "/etc/tls/tls.crt", .key = "/etc/tls/tls.key", .client_ca = ""};
const TlsPaths kMutualPaths = {
    .cert = "/etc/tls/tls.crt", .key = "/etc/tls/tls.key", .client_ca = "/etc/tls/ca.crt"};

class TlsMaterialTest : public ::testing::Test {
 protected:
  TlsMaterialTest()
      : ca_(TestCa::Create("material test CA")),
        server_(ca_.Issue({.common_name = "localhost",
                           .dns_sans = {"localhost"},
                           .ip_sans = {"127.0.0.1"},
                           .server = true})) {}

  absl::StatusOr<TlsMaterialPtr> Parse(const TlsFileContents& contents,
                                       const TlsPaths& paths = kPaths) {
    return TlsMaterial::Parse(paths, contents, absl::Now());
  }

  // ExpectRejected checks the error names `file` and leaks no key bytes.
  void ExpectRejected(const TlsFileContents& contents, const std::string& file,
                      const std::string& reason, const TlsPaths& paths = kPaths) {
    absl::StatusOr<TlsMaterialPtr> material = Parse(contents, paths);
    ASSERT_FALSE(material.ok());
    EXPECT_EQ(material.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(material.status().message(), HasSubstr(file));
    EXPECT_THAT(material.status().message(), HasSubstr(reason));
    EXPECT_THAT(material.status().message(), Not(HasSubstr("-----BEGIN")));
    EXPECT_THAT(material.status().message(), Not(HasSubstr("MII")));
  }

  TestCa ca_;
  Issued server_;
};

// A certificate and its key parse; the facts reported are the leaf's.
TEST_F(TlsMaterialTest, CertificateAndKeyParse) {
  absl::StatusOr<TlsMaterialPtr> material = Parse({server_.cert_pem, server_.key_pem, ""});
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ((*material)->leaf_serial(), server_.serial);
  EXPECT_EQ((*material)->leaf_sha256().size(), 64u);
  EXPECT_GT((*material)->not_after(), absl::Now());
  EXPECT_EQ(sk_X509_num((*material)->intermediates()), 0);
  EXPECT_FALSE((*material)->has_client_ca());
  // The gRPC identity file holds the chain, then the key (PKCS#8).
  EXPECT_THAT((*material)->identity_pem(), HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT((*material)->identity_pem(), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_LT((*material)->identity_pem().find("CERTIFICATE"),
            (*material)->identity_pem().find("PRIVATE KEY"));
}

// A chain file keeps its intermediates, in order, after the leaf.
TEST_F(TlsMaterialTest, ChainKeepsIntermediates) {
  absl::StatusOr<TlsMaterialPtr> material =
      Parse({server_.cert_pem + ca_.cert_pem(), server_.key_pem, ""});
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(sk_X509_num((*material)->intermediates()), 1);
  EXPECT_EQ((*material)->leaf_serial(), server_.serial);
}

// One combined file may serve as both --tls-cert and --tls-key.
TEST_F(TlsMaterialTest, CombinedFileServesAsCertAndKey) {
  const std::string combined = server_.key_pem + server_.cert_pem;
  absl::StatusOr<TlsMaterialPtr> material = Parse({combined, combined, ""});
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ((*material)->leaf_serial(), server_.serial);
}

// Text around PEM blocks (as `openssl x509 -text` writes) is ignored.
TEST_F(TlsMaterialTest, TextOutsideBlocksIsIgnored) {
  absl::StatusOr<TlsMaterialPtr> material =
      Parse({"Subject: CN=localhost\n" + server_.cert_pem + "\ntrailer\n", server_.key_pem, ""});
  EXPECT_TRUE(material.ok()) << material.status();
}

// A client CA bundle parses and is counted; mTLS is then on.
TEST_F(TlsMaterialTest, ClientCaBundleParses) {
  const TestCa other = TestCa::Create("second CA");
  absl::StatusOr<TlsMaterialPtr> material =
      Parse({server_.cert_pem, server_.key_pem, ca_.cert_pem() + other.cert_pem()}, kMutualPaths);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_TRUE((*material)->has_client_ca());
  EXPECT_EQ((*material)->client_ca_count(), 2);
}

// An empty or certificate-less file is rejected, naming the flag and file.
TEST_F(TlsMaterialTest, MissingCertificateFails) {
  ExpectRejected({"", server_.key_pem, ""}, "--tls-cert /etc/tls/tls.crt", "no PEM certificate");
  ExpectRejected({"hello", server_.key_pem, ""}, "/etc/tls/tls.crt", "no PEM certificate");
}

// A PEM block whose base64 is corrupt or that is cut short is rejected.
TEST_F(TlsMaterialTest, CorruptOrTruncatedCertificateFails) {
  std::string corrupt = server_.cert_pem;
  corrupt[40] = '!';
  ExpectRejected({corrupt, server_.key_pem, ""}, "/etc/tls/tls.crt", "PEM block 1");
  const std::string truncated = server_.cert_pem.substr(0, server_.cert_pem.size() / 2);
  ExpectRejected({truncated, server_.key_pem, ""}, "/etc/tls/tls.crt", "PEM block 1");
  // Valid base64 that is not a certificate.
  ExpectRejected(
      {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", server_.key_pem, ""},
      "/etc/tls/tls.crt", "certificate 1 does not parse");
}

// A key that belongs to another certificate is rejected.
TEST_F(TlsMaterialTest, MismatchedKeyFails) {
  ExpectRejected({server_.cert_pem, token::testing::NewEcKeyPem(), ""},
                 "--tls-key /etc/tls/tls.key", "does not match the certificate");
}

// No key, two keys, or an encrypted key are rejected (never a prompt).
TEST_F(TlsMaterialTest, BadKeyFilesFail) {
  ExpectRejected({server_.cert_pem, "", ""}, "/etc/tls/tls.key", "no PEM private key");
  ExpectRejected({server_.cert_pem, server_.key_pem + server_.key_pem, ""}, "/etc/tls/tls.key",
                 "more than one private key");
  ExpectRejected({server_.cert_pem,
                  "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE "
                  "KEY-----\n",
                  ""},
                 "/etc/tls/tls.key", "encrypted");
  ExpectRejected({server_.cert_pem, server_.cert_pem, ""}, "/etc/tls/tls.key",
                 "no PEM private key");
}

// RSA keys below 2048 bits are refused for the server identity.
TEST_F(TlsMaterialTest, WeakRsaKeyFails) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  ASSERT_NE(key, nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(length));
  ExpectRejected({server_.cert_pem, pem, ""}, "/etc/tls/tls.key", "1024 bits");
}

// An expired server certificate is refused.
TEST_F(TlsMaterialTest, ExpiredCertificateFails) {
  const Issued expired = ca_.Issue({.common_name = "old",
                                    .server = true,
                                    .not_before = absl::Hours(-48),
                                    .not_after = absl::Hours(-1)});
  ExpectRejected({expired.cert_pem, expired.key_pem, ""}, "/etc/tls/tls.crt", "expired at");
}

// A CA bundle that is empty or holds other blocks (a key) is rejected.
TEST_F(TlsMaterialTest, BadClientCaFails) {
  ExpectRejected({server_.cert_pem, server_.key_pem, ""}, "--tls-client-ca /etc/tls/ca.crt",
                 "no PEM certificate", kMutualPaths);
  ExpectRejected({server_.cert_pem, server_.key_pem, ca_.cert_pem() + ca_.key_pem()},
                 "/etc/tls/ca.crt", "unexpected PEM block", kMutualPaths);
}

// ReadTlsFiles names a missing file and its flag.
TEST_F(TlsMaterialTest, ReadMissingFileNamesIt) {
  const std::string dir = token::testing::MakeTempDir("tls-material");
  ASSERT_TRUE(token::testing::WriteFile(dir + "/tls.crt", server_.cert_pem));
  absl::StatusOr<TlsFileContents> contents =
      ReadTlsFiles({.cert = dir + "/tls.crt", .key = dir + "/missing.key", .client_ca = ""});
  ASSERT_FALSE(contents.ok());
  EXPECT_THAT(contents.status().message(), HasSubstr("--tls-key " + dir + "/missing.key"));
  EXPECT_THAT(contents.status().message(), HasSubstr("No such file"));
  // A directory is not a certificate file.
  contents = ReadTlsFiles({.cert = dir, .key = dir + "/tls.crt", .client_ca = ""});
  ASSERT_FALSE(contents.ok());
  EXPECT_THAT(contents.status().message(), HasSubstr("not a regular file"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace token::tls
