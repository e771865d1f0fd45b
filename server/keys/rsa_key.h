// RsaKey: one RSA signing key pair with its RFC 7638 kid, loaded or generated
// once and then shared, read-only, by every signing and verifying thread.
#ifndef TOKEN_SERVER_KEYS_RSA_KEY_H_
#define TOKEN_SERVER_KEYS_RSA_KEY_H_

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/common/openssl_ptr.h"

namespace token {

class RsaKey;
using RsaKeyPtr = std::shared_ptr<const RsaKey>;

// RsaKey is an RSA key of at least 2048 bits plus the public values published
// for it: a private key (from PEM or generated) that signs, or a public key
// (from a JWK) that only verifies. Immutable after construction, so one
// instance is safely used by many threads at once.
//
// Usage:
//   absl::StatusOr<RsaKeyPtr> key = RsaKey::FromPrivatePem(pem);
//   if (!key.ok()) return key.status();
//   jwks.push_back((*key)->PublicJwk());
class RsaKey {
 public:
  // kMinBits is the smallest modulus accepted (RS256 needs 2048+ bits; docs/SECURITY.md).
  static constexpr int kMinBits = 2048;
  // kMaxBits bounds the work a hostile or mistaken key file can cause.
  static constexpr int kMaxBits = 16384;

  // FromPrivatePem parses an unencrypted PKCS#8 or PKCS#1 PEM private key.
  // Rejects non-RSA keys (including RSA-PSS-only keys), moduli below kMinBits
  // or above kMaxBits, encrypted PEM (never prompts for a passphrase), keys
  // failing OpenSSL's consistency check and garbage.
  // NOTE: error messages never include key material.
  [[nodiscard]] static absl::StatusOr<RsaKeyPtr> FromPrivatePem(absl::string_view pem);

  // FromPublicJwk builds a verify-only key from the base64url members `n`
  // and `e` of an RSA JWK (RFC 7518 section 6.3.1). Both must be strict
  // unpadded base64url of minimal big-endian integers (no leading zero
  // byte); the modulus must be odd with kMinBits..kMaxBits bits; `e` must be
  // odd, greater than 1 and at most 64 bits.
  // The result has no private half: has_private_key() is false.
  // NOTE: does not look at any other JWK member (kid, use, alg; see
  // ParseJwks) and does not test n for primality or small factors: a bogus
  // modulus only makes signatures that no one can produce.
  [[nodiscard]] static absl::StatusOr<RsaKeyPtr> FromPublicJwk(absl::string_view n_b64url,
                                                               absl::string_view e_b64url);

  // Generate creates a new key with public exponent 65537. `bits` must be
  // 2048, 3072 or 4096.
  [[nodiscard]] static absl::StatusOr<RsaKeyPtr> Generate(int bits);

  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;

  // kid returns the RFC 7638 thumbprint of the public key.
  const std::string& kid() const { return kid_; }
  // n returns the modulus, big-endian, base64url.
  const std::string& n() const { return n_; }
  // e returns the public exponent, big-endian, base64url.
  const std::string& e() const { return e_; }
  // bits returns the modulus size in bits.
  int bits() const { return bits_; }
  // signature_size returns the RS256 signature length in bytes (modulus size).
  int signature_size() const { return signature_size_; }
  // has_private_key is true for keys that can sign (loaded from a private PEM
  // or generated), false for keys built from a public JWK.
  bool has_private_key() const { return has_private_key_; }
  // pkey returns the key, borrowed; valid as long as this RsaKey.
  // NOTE: callers must not modify it.
  EVP_PKEY* pkey() const { return pkey_.get(); }

  // PrivatePem returns the private key as unencrypted PKCS#8 PEM. Only for
  // writing key files (keygen); never log or return it to a caller.
  // Fails with FAILED_PRECONDITION for a public-only key.
  [[nodiscard]] absl::StatusOr<std::string> PrivatePem() const;

  // PublicJwk returns {"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"};
  // never a private member.
  nlohmann::json PublicJwk() const;

 private:
  RsaKey(EvpPkeyPtr pkey, std::string n, std::string e, int bits, bool has_private_key);

  // FromPkey validates a freshly parsed, built or generated key and wraps it.
  static absl::StatusOr<RsaKeyPtr> FromPkey(EvpPkeyPtr pkey, bool has_private_key);

  const EvpPkeyPtr pkey_;
  const std::string n_;
  const std::string e_;
  const std::string kid_;
  const int bits_;
  const int signature_size_;
  const bool has_private_key_;
};

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_RSA_KEY_H_
