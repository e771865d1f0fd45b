// TlsMaterial: the server's TLS identity (certificate chain and private key)
// and the optional CA bundle that client certificates must chain to, read
// from the operator's PEM files and checked before anything serves with it.
// Both the gRPC port and the HTTPS port use the same validated snapshot.
#ifndef TOKEN_SERVER_TLS_TLS_MATERIAL_H_
#define TOKEN_SERVER_TLS_TLS_MATERIAL_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/openssl_ptr.h"

namespace token::tls {

// TlsPaths names the operator's files (flags --tls-cert, --tls-key,
// --tls-client-ca). The same file may serve as cert and key (a combined PEM).
struct TlsPaths {
  // cert: the server certificate first, then any intermediates.
  std::string cert;
  // key: the private key of the first certificate in `cert`, unencrypted.
  std::string key;
  // client_ca: CA certificates for client certificates; empty = no mTLS.
  std::string client_ca;
};

// TlsFileContents holds the raw bytes of the files named by TlsPaths.
// NOTE: `key` is secret; never log it or put it in an error message.
struct TlsFileContents {
  std::string cert;
  std::string key;
  std::string client_ca;
};

// kMaxTlsFileBytes bounds what one file may hold (a CA bundle of a few
// hundred certificates fits many times over).
inline constexpr size_t kMaxTlsFileBytes = 1 << 20;

// ReadTlsFiles reads every file named in `paths` (client_ca only if set).
// Errors name the flag and the path, never contents.
[[nodiscard]] absl::StatusOr<TlsFileContents> ReadTlsFiles(const TlsPaths& paths);

class TlsMaterial;
using TlsMaterialPtr = std::shared_ptr<const TlsMaterial>;

// TlsMaterial is one validated, immutable snapshot; many threads may use it
// at once (OpenSSL reference counts are atomic).
//
// Usage:
//   absl::StatusOr<TlsFileContents> files = ReadTlsFiles(paths);
//   absl::StatusOr<TlsMaterialPtr> material = TlsMaterial::Parse(paths, *files, now);
//   SSL_use_cert_and_key(ssl, (*material)->leaf(), (*material)->private_key(),
//                        (*material)->intermediates(), 1);
class TlsMaterial {
 public:
  // Parse accepts:
  //   cert: one or more CERTIFICATE blocks (other *PRIVATE KEY blocks are
  //         skipped, so a combined file works); the first must not have
  //         expired at `now`.
  //   key:  exactly one unencrypted PRIVATE KEY / RSA PRIVATE KEY / EC
  //         PRIVATE KEY block (CERTIFICATE blocks are skipped) that belongs to
  //         the first certificate; RSA keys need 2048 bits or more.
  //   client_ca (when paths.client_ca is set): one or more CERTIFICATE
  //         blocks and nothing else.
  // Text outside PEM blocks is ignored; a truncated or corrupt block, an
  // unexpected block type, or an encrypted key is an error (a passphrase is
  // never prompted for). `paths` is used only to name files in errors.
  // NOTE: does not check that the certificate names this host, that the
  // chain leads to any particular CA, or revocation.
  [[nodiscard]] static absl::StatusOr<TlsMaterialPtr> Parse(const TlsPaths& paths,
                                                            const TlsFileContents& contents,
                                                            absl::Time now);

  ~TlsMaterial();
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;

  // leaf returns the server certificate (owned by this object).
  X509* leaf() const { return leaf_.get(); }
  // intermediates returns the rest of the chain, possibly empty (owned).
  STACK_OF(X509) * intermediates() const { return intermediates_.get(); }
  // private_key returns the leaf's key (owned).
  EVP_PKEY* private_key() const { return key_.get(); }

  // identity_pem returns the chain followed by the key, re-encoded from the
  // parsed objects (PEM certificates, then PKCS#8), for gRPC. Secret.
  const std::string& identity_pem() const { return identity_pem_; }
  // client_ca_pem returns the CA bundle re-encoded; empty without mTLS.
  const std::string& client_ca_pem() const { return client_ca_pem_; }
  bool has_client_ca() const { return !client_ca_pem_.empty(); }
  int client_ca_count() const { return client_ca_count_; }

  // Public facts about the leaf, safe to log.
  // leaf_sha256 returns the SHA-256 of the leaf's DER, lower-case hex.
  const std::string& leaf_sha256() const { return leaf_sha256_; }
  // leaf_serial returns the serial number, upper-case hex.
  const std::string& leaf_serial() const { return leaf_serial_; }
  absl::Time not_before() const { return not_before_; }
  absl::Time not_after() const { return not_after_; }

 private:
  TlsMaterial() = default;

  X509Ptr leaf_;
  X509StackPtr intermediates_;
  EvpPkeyPtr key_;
  std::string identity_pem_;
  std::string client_ca_pem_;
  int client_ca_count_ = 0;
  std::string leaf_sha256_;
  std::string leaf_serial_;
  absl::Time not_before_;
  absl::Time not_after_;
};

// TlsMaterialSource hands out the snapshot in use right now.
class TlsMaterialSource {
 public:
  virtual ~TlsMaterialSource() = default;
  // Current never returns null once the source has been created.
  virtual TlsMaterialPtr Current() const = 0;
};

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_TLS_MATERIAL_H_
