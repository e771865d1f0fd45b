#include "server/tls/https_context.h"

#include <openssl/err.h>

namespace token::tls {
namespace {

// TLS 1.2 suites: ECDHE key exchange and AEAD only. TLS 1.3 suites are all
// acceptable and keep OpenSSL's defaults.
constexpr char kTls12Ciphers[] = "ECDHE+AESGCM:ECDHE+CHACHA20";

// CertificateCallback runs on the server side of every handshake, before a
// certificate is chosen. Returning 0 aborts the handshake.
int CertificateCallback(SSL* ssl, void* arg) {
  const auto* source = static_cast<const TlsMaterialSource*>(arg);
  const TlsMaterialPtr material = source->Current();
  if (material == nullptr) return 0;
  // Takes its own references to the certificate, key and chain, so the
  // snapshot may be replaced while this connection lives on.
  if (SSL_use_cert_and_key(ssl, material->leaf(), material->private_key(),
                           material->intermediates(), /*override=*/1) != 1) {
    ERR_clear_error();
    return 0;
  }
  return 1;
}

}  // namespace

bool ConfigureHttpsContext(SSL_CTX& ctx, const TlsMaterialSource& source) {
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) != 1) {
    ERR_clear_error();
    return false;
  }
  SSL_CTX_set_options(
      &ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_cert_cb(&ctx, CertificateCallback, const_cast<TlsMaterialSource*>(&source));
  return true;
}

}  // namespace token::tls
