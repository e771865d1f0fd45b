// OpenSSL objects owned by std::unique_ptr, for the TLS code. Every OpenSSL
// object in server/tls/ lives in one of these; nothing is freed by hand.
#ifndef TOKEN_SERVER_TLS_OPENSSL_PTR_H_
#define TOKEN_SERVER_TLS_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace token::tls {

// BioDeleter frees a BIO chain.
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free_all(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// X509Deleter drops one reference to a certificate.
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// X509StackDeleter frees a certificate stack and drops a reference to each
// certificate in it.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_pop_free(stack, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// PrivateKeyDeleter drops one reference to a key pair.
struct PrivateKeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PrivateKeyPtr = std::unique_ptr<EVP_PKEY, PrivateKeyDeleter>;

// EvpMdCtxDeleter frees a digest context.
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_OPENSSL_PTR_H_
