// Shared fixtures for the JWT tests: keys generated once per test process, a
// standard set of claims, and helpers that build tokens the production signer
// never would (arbitrary headers and payloads, signed validly or not).
#ifndef TOKEN_TESTS_JWT_TEST_COMMON_H_
#define TOKEN_TESTS_JWT_TEST_COMMON_H_

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/common/openssl_ptr.h"
#include "server/jwt/claims.h"
#include "server/jwt/signer.h"
#include "server/jwt/verifier.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"

namespace token::test {

// kNow is the instant every test runs at: 2023-11-14T22:13:20Z.
inline const absl::Time kNow = absl::FromUnixSeconds(1700000000);
inline constexpr char kIssuer[] = "token-service";
inline constexpr char kAudience[] = "api";

// GeneratedKey returns the `index`-th 2048-bit key of this process, generated
// on first use: key generation is slow, so tests share them.
inline const RsaKeyPtr& GeneratedKey(int index) {
  static RsaKeyPtr keys[2];
  RsaKeyPtr& key = keys[index];
  if (key == nullptr) {
    auto generated = RsaKey::Generate(2048);
    if (!generated.ok()) std::abort();
    key = *generated;
  }
  return key;
}

// TestKey signs the tokens; it is the only key in TestKeySet().
inline const RsaKey& TestKey() { return *GeneratedKey(0); }
// OtherKey is a second key, not in TestKeySet().
inline const RsaKey& OtherKey() { return *GeneratedKey(1); }

// TestKeySet publishes TestKey() only.
inline const KeySet& TestKeySet() {
  static const KeySetPtr set = *KeySet::Create(GeneratedKey(0), {});
  return *set;
}

// TestOptions expects kIssuer, kAudience and the default 30 s skew.
inline VerifyOptions TestOptions() {
  VerifyOptions options;
  options.issuer = kIssuer;
  options.audience = kAudience;
  return options;
}

// TestClaims are valid at kNow: issued now, lifetime 15 minutes.
inline AccessClaims TestClaims() {
  AccessClaims claims;
  claims.issuer = kIssuer;
  claims.subject = "user-42";
  claims.audience = kAudience;
  claims.session_id = "0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1";
  claims.token_id = "jti-7f3c";
  claims.roles = {"admin", "reader"};
  claims.issued_at = kNow;
  claims.not_before = kNow;
  claims.expires_at = kNow + absl::Minutes(15);
  return claims;
}

// TestPayload is TestClaims() as the JSON payload the signer produces.
inline nlohmann::json TestPayload() {
  const AccessClaims c = TestClaims();
  return {{"iss", c.issuer},
          {"sub", c.subject},
          {"aud", c.audience},
          {"iat", absl::ToUnixSeconds(c.issued_at)},
          {"nbf", absl::ToUnixSeconds(c.not_before)},
          {"exp", absl::ToUnixSeconds(c.expires_at)},
          {"jti", c.token_id},
          {"sid", c.session_id},
          {"roles", c.roles}};
}

// TestHeader is the header the signer produces for `key`.
inline nlohmann::json TestHeader(const RsaKey& key = TestKey()) {
  return {{"alg", "RS256"}, {"typ", "at+jwt"}, {"kid", key.kid()}};
}

// Join assembles a compact JWS from raw (not yet encoded) parts.
inline std::string Join(absl::string_view header, absl::string_view payload,
                        absl::string_view signature) {
  return absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload), ".",
                      Base64UrlEncode(signature));
}

// SignRaw signs any header and payload text with RS256 under `key`, so tests
// can build validly signed tokens the production signer never emits.
inline std::string SignRaw(absl::string_view header, absl::string_view payload,
                           const RsaKey& key = TestKey()) {
  const std::string input = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  auto signature = Rs256SignRaw(input, key);
  if (!signature.ok()) std::abort();
  return absl::StrCat(input, ".", Base64UrlEncode(*signature));
}

// SignJson is SignRaw of compact JSON.
inline std::string SignJson(const nlohmann::json& header, const nlohmann::json& payload,
                            const RsaKey& key = TestKey()) {
  return SignRaw(header.dump(), payload.dump(), key);
}

// PublicKeyPem returns the SubjectPublicKeyInfo PEM of `key`: what an attacker
// fetching the JWKS can reconstruct.
inline std::string PublicKeyPem(const RsaKey& key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.pkey());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// PublicKeyDer returns the SubjectPublicKeyInfo DER of `key`.
inline std::string PublicKeyDer(const RsaKey& key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key.pkey(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// HmacSha256 computes HMAC-SHA-256(secret, data).
inline std::string HmacSha256(absl::string_view secret, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, sizeof(mac),
                &mac_len) == nullptr) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

// SignWithDigestKey signs `header`.`payload` with any EVP key and digest
// (e.g. an EC key for ES256, RSA with SHA-512 for RS512).
inline std::string SignWithDigestKey(absl::string_view header, absl::string_view payload,
                                     EVP_PKEY* pkey, const EVP_MD* md) {
  const std::string input = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    std::abort();
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    std::abort();
  }
  signature.resize(len);
  return absl::StrCat(input, ".", Base64UrlEncode(signature));
}

}  // namespace token::test

#endif  // TOKEN_TESTS_JWT_TEST_COMMON_H_
