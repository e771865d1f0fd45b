// HTTPS context setup: the HTTP port serves the same certificate as gRPC and
// follows its reloads. Instead of loading a certificate into the SSL_CTX
// once, a certificate callback installs the material in use at the moment of
// each handshake, so a reload needs no new context and no restart.
#ifndef TOKEN_SERVER_TLS_HTTPS_CONTEXT_H_
#define TOKEN_SERVER_TLS_HTTPS_CONTEXT_H_

#include <openssl/ssl.h>

#include "server/tls/tls_material.h"

namespace token::tls {

// ConfigureHttpsContext prepares a server SSL_CTX: TLS 1.2 or newer, forward-
// secret AEAD cipher suites for TLS 1.2, no renegotiation or compression, and
// a certificate callback that presents source.Current() on every handshake.
// Client certificates are not requested (JWKS, health and metrics are public).
// Returns false if OpenSSL refuses a setting.
// REQUIRES: `source` outlives every connection made with `ctx`.
bool ConfigureHttpsContext(SSL_CTX& ctx, const TlsMaterialSource& source);

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_HTTPS_CONTEXT_H_
