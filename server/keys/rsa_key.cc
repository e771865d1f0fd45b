#include "server/keys/rsa_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/base64url.h"
#include "server/keys/jwk.h"

namespace token {
namespace {

// kMaxPublicExponentBytes: OpenSSL refuses exponents above 64 bits for large
// moduli, and no real key uses one.
constexpr size_t kMaxPublicExponentBytes = 8;

// DecodeJwkInteger decodes a JWK integer member: strict base64url of a
// minimal big-endian magnitude (RFC 7518 section 2, "Base64urlUInt").
absl::StatusOr<std::string> DecodeJwkInteger(absl::string_view b64url, absl::string_view name,
                                             size_t max_bytes) {
  const std::optional<std::string> bytes = Base64UrlDecode(b64url);
  if (!bytes.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("RSA JWK member ", name, " is not base64url"));
  }
  if (bytes->empty() || (*bytes)[0] == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA JWK member ", name, " is not a minimal non-zero integer"));
  }
  if (bytes->size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("RSA JWK member ", name, " is too large"));
  }
  return *bytes;
}

// kMaxPemBytes bounds what FromPrivatePem will hand to the PEM parser; a
// 16384-bit PKCS#1 key is about 12 KiB of PEM.
constexpr size_t kMaxPemBytes = 64 * 1024;

// NoPassphrase refuses to decrypt, so an encrypted key fails instead of
// prompting on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

// BignumParam reads one public RSA parameter as base64url of its big-endian
// magnitude.
absl::StatusOr<std::string> BignumParam(const EVP_PKEY* pkey, const char* name,
                                        bool* odd = nullptr) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("RSA key lacks a public parameter");
  }
  const BignumPtr bn(raw);
  if (BN_is_negative(bn.get()) || BN_is_zero(bn.get())) {
    return absl::InvalidArgumentError("RSA key has an invalid public parameter");
  }
  if (odd != nullptr) *odd = BN_is_odd(bn.get());
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return Base64UrlEncode(bytes);
}

}  // namespace

RsaKey::RsaKey(EvpPkeyPtr pkey, std::string n, std::string e, int bits, bool has_private_key)
    : pkey_(std::move(pkey)),
      n_(std::move(n)),
      e_(std::move(e)),
      kid_(RsaJwkThumbprint(n_, e_)),
      bits_(bits),
      signature_size_(EVP_PKEY_get_size(pkey_.get())),
      has_private_key_(has_private_key) {}

absl::StatusOr<RsaKeyPtr> RsaKey::FromPkey(EvpPkeyPtr pkey, bool has_private_key) {
  if (pkey == nullptr || !EVP_PKEY_is_a(pkey.get(), "RSA")) {
    return absl::InvalidArgumentError("not an RSA key");
  }
  const int bits = EVP_PKEY_get_bits(pkey.get());
  if (bits < kMinBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA key has ", bits, " bits; at least ", kMinBits, " are required"));
  }
  if (bits > kMaxBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA key has ", bits, " bits; at most ", kMaxBits, " are supported"));
  }
  auto n = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_N);
  if (!n.ok()) return n.status();
  bool e_odd = false;
  auto e = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e_odd);
  if (!e.ok()) return e.status();
  // e = 1 would make every padded digest its own signature.
  if (!e_odd || *e == Base64UrlEncode(std::string(1, '\x01'))) {
    return absl::InvalidArgumentError("RSA key has an unusable public exponent");
  }
  return RsaKeyPtr(
      new RsaKey(std::move(pkey), *std::move(n), *std::move(e), bits, has_private_key));
}

absl::StatusOr<RsaKeyPtr> RsaKey::FromPrivatePem(absl::string_view pem) {
  if (pem.empty() || pem.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError("not a PEM private key (empty or too large)");
  }
  if (absl::StrContains(pem, "-----BEGIN ENCRYPTED") || absl::StrContains(pem, ",ENCRYPTED")) {
    return absl::InvalidArgumentError("encrypted PEM private keys are not supported");
  }
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory reading PEM");
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a valid unencrypted PEM private key");
  }
  if (!EVP_PKEY_is_a(pkey.get(), "RSA")) {
    return absl::InvalidArgumentError("not an RSA private key");
  }
  // A corrupted or hand-made file must not become a signing key: check that
  // the private and public halves belong together.
  const EvpPkeyCtxPtr check_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check_ctx == nullptr || EVP_PKEY_check(check_ctx.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("RSA private key failed its consistency check");
  }
  return FromPkey(std::move(pkey), /*has_private_key=*/true);
}

absl::StatusOr<RsaKeyPtr> RsaKey::FromPublicJwk(absl::string_view n_b64url,
                                                absl::string_view e_b64url) {
  auto n_bytes = DecodeJwkInteger(n_b64url, "n", static_cast<size_t>(kMaxBits / 8));
  if (!n_bytes.ok()) return n_bytes.status();
  auto e_bytes = DecodeJwkInteger(e_b64url, "e", kMaxPublicExponentBytes);
  if (!e_bytes.ok()) return e_bytes.status();
  // Cheap sanity only: OpenSSL's full public-key check runs primality tests
  // on n, too costly for a hostile 16384-bit modulus. Size and exponent are
  // checked in FromPkey.
  if ((static_cast<unsigned char>(n_bytes->back()) & 1) == 0) {
    return absl::InvalidArgumentError("RSA JWK modulus is even");
  }

  const BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes->data()),
                              static_cast<int>(n_bytes->size()), nullptr));
  const BignumPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e_bytes->data()),
                              static_cast<int>(e_bytes->size()), nullptr));
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (n == nullptr || e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    ERR_clear_error();
    return absl::ResourceExhaustedError("out of memory building an RSA public key");
  }
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a usable RSA public key");
  }
  EvpPkeyPtr pkey(raw);
  return FromPkey(std::move(pkey), /*has_private_key=*/false);
}

absl::StatusOr<RsaKeyPtr> RsaKey::Generate(int bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return absl::InvalidArgumentError("RSA key size must be 2048, 3072 or 4096 bits");
  }
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    ERR_clear_error();
    return absl::InternalError("RSA key generation failed");
  }
  return FromPkey(EvpPkeyPtr(raw), /*has_private_key=*/true);
}

absl::StatusOr<std::string> RsaKey::PrivatePem() const {
  if (!has_private_key_) {
    return absl::FailedPreconditionError("a public-only key has no private PEM");
  }
  // Secure memory is wiped when freed, so no copy of the key lingers there.
  const BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot encode the private key as PEM");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("cannot encode the private key");
  return std::string(data, static_cast<size_t>(len));
}

nlohmann::json RsaKey::PublicJwk() const { return RsaPublicJwk(kid_, n_, e_); }

}  // namespace token
