// A throwaway PKI for TLS tests: a CA that issues server and client
// certificates (EC P-256, made with OpenSSL's EVP/X509 APIs), and helpers to
// write them into a temporary directory.
#ifndef TOKEN_TESTS_TLS_TEST_PKI_H_
#define TOKEN_TESTS_TLS_TEST_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace token::testing {

// Issued is one certificate with its key, both PEM.
struct Issued {
  std::string cert_pem;
  std::string key_pem;
  // serial: upper-case hex, as TlsMaterial::leaf_serial reports it.
  std::string serial;
};

// LeafSpec says what to put in a certificate.
struct LeafSpec {
  std::string common_name;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
  std::vector<std::string> uri_sans;
  // server: serverAuth key usage; otherwise clientAuth.
  bool server = false;
  // Validity relative to now.
  absl::Duration not_before = absl::Minutes(-5);
  absl::Duration not_after = absl::Hours(24);
};

// TestCa is a self-signed CA.
//
// Usage:
//   TestCa ca = TestCa::Create("test CA");
//   Issued server = ca.Issue({.common_name = "localhost", .dns_sans = {"localhost"},
//                             .ip_sans = {"127.0.0.1"}, .server = true});
class TestCa {
 public:
  // Create makes a new CA key and self-signed certificate. Aborts the test
  // binary (via a fatal gtest failure message and empty PEM) if OpenSSL fails.
  static TestCa Create(const std::string& common_name);

  // Issue signs a new leaf certificate for a new key.
  Issued Issue(const LeafSpec& spec) const;

  const std::string& cert_pem() const { return ca_.cert_pem; }
  const std::string& key_pem() const { return ca_.key_pem; }

 private:
  Issued ca_;
};

// NewEcKeyPem returns a fresh EC P-256 private key, PKCS#8 PEM.
std::string NewEcKeyPem();

// MakeTempDir creates a fresh directory under the system temp directory.
std::string MakeTempDir(const std::string& prefix);

// WriteFile replaces `path` atomically (temp file + rename) with `contents`.
// Returns false on failure.
bool WriteFile(const std::string& path, const std::string& contents);

// SerialOfPem returns the serial (upper-case hex) of the first certificate
// in `pem`, or "" when it does not parse.
std::string SerialOfPem(const std::string& pem);

}  // namespace token::testing

#endif  // TOKEN_TESTS_TLS_TEST_PKI_H_
