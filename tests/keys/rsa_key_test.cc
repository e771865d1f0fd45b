#include "server/keys/rsa_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/common/base64url.h"
#include "server/common/openssl_ptr.h"
#include "server/keys/jwk.h"

namespace token {
namespace {

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

// RawRsaKey generates an RSA key of any size, bypassing RsaKey's checks.
EvpPkeyPtr RawRsaKey(int bits) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return nullptr;
  }
  return EvpPkeyPtr(raw);
}

// EcP256Key generates an EC key on P-256.
EvpPkeyPtr EcP256Key() { return EvpPkeyPtr(EVP_EC_gen("P-256")); }

std::string Pkcs8Pem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr);
  return BioContents(bio.get());
}

class RsaKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto key = RsaKey::Generate(2048);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = new RsaKeyPtr(*key);
  }
  static void TearDownTestSuite() {
    delete key_;
    key_ = nullptr;
  }
  static const RsaKey& key() { return **key_; }

 private:
  static RsaKeyPtr* key_;
};

RsaKeyPtr* RsaKeyTest::key_ = nullptr;

// A generated 2048-bit key has e=65537, a 256-byte modulus and the thumbprint of its n/e as kid.
TEST_F(RsaKeyTest, Generate2048KidIsThumbprint) {
  EXPECT_EQ(key().bits(), 2048);
  EXPECT_EQ(key().signature_size(), 256);
  EXPECT_EQ(key().e(), "AQAB");
  const auto modulus = Base64UrlDecode(key().n());
  ASSERT_TRUE(modulus.has_value());
  EXPECT_EQ(modulus->size(), 256u);
  EXPECT_EQ(key().kid(), RsaJwkThumbprint(key().n(), key().e()));
}

// Only 2048, 3072 and 4096 bits may be generated.
TEST_F(RsaKeyTest, GenerateUnsupportedSizeFails) {
  for (int bits : {0, 1024, 2047, 2049, 8192}) {
    EXPECT_EQ(RsaKey::Generate(bits).status().code(), absl::StatusCode::kInvalidArgument) << bits;
  }
}

// PrivatePem is PKCS#8 and parses back into a key with the same kid.
TEST_F(RsaKeyTest, PemRoundTripKeepsKid) {
  auto pem = key().PrivatePem();
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_TRUE(absl::StartsWith(*pem, "-----BEGIN PRIVATE KEY-----\n"));
  auto parsed = RsaKey::FromPrivatePem(*pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)->kid(), key().kid());
  EXPECT_EQ((*parsed)->n(), key().n());
  EXPECT_EQ((*parsed)->e(), key().e());
  EXPECT_EQ((*parsed)->bits(), 2048);
}

// A traditional PKCS#1 "RSA PRIVATE KEY" PEM is accepted too.
TEST_F(RsaKeyTest, FromPkcs1PemSucceeds) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), key().pkey(), nullptr, nullptr, 0,
                                                 nullptr, nullptr),
            1);
  const std::string pem = BioContents(bio.get());
  ASSERT_TRUE(absl::StartsWith(pem, "-----BEGIN RSA PRIVATE KEY-----"));
  auto parsed = RsaKey::FromPrivatePem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)->kid(), key().kid());
}

// Garbage, empty input and a truncated PEM are rejected.
TEST_F(RsaKeyTest, FromGarbagePemFails) {
  EXPECT_FALSE(RsaKey::FromPrivatePem("").ok());
  EXPECT_FALSE(RsaKey::FromPrivatePem("not a key").ok());
  EXPECT_FALSE(
      RsaKey::FromPrivatePem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
          .ok());
  const std::string pem = *key().PrivatePem();
  EXPECT_FALSE(RsaKey::FromPrivatePem(pem.substr(0, pem.size() / 2)).ok());
  EXPECT_FALSE(RsaKey::FromPrivatePem(std::string(100000, 'A')).ok());
}

// An EC private key is rejected as not RSA.
TEST_F(RsaKeyTest, FromEcPemFails) {
  EvpPkeyPtr ec = EcP256Key();
  ASSERT_NE(ec, nullptr);
  const auto parsed = RsaKey::FromPrivatePem(Pkcs8Pem(ec.get()));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(parsed.status().message(), "RSA")) << parsed.status();
}

// A 1024-bit RSA key is rejected as too small.
TEST_F(RsaKeyTest, From1024BitPemFails) {
  EvpPkeyPtr small = RawRsaKey(1024);
  ASSERT_NE(small, nullptr);
  const auto parsed = RsaKey::FromPrivatePem(Pkcs8Pem(small.get()));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(parsed.status().message(), "1024")) << parsed.status();
}

// An encrypted PKCS#8 PEM is rejected without prompting for a passphrase.
TEST_F(RsaKeyTest, FromEncryptedPemFails) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  static const char kPassphrase[] = "correct horse";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key().pkey(), EVP_aes_256_cbc(), kPassphrase,
                                          sizeof(kPassphrase) - 1, nullptr, nullptr),
            1);
  const std::string pem = BioContents(bio.get());
  ASSERT_TRUE(absl::StartsWith(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_EQ(RsaKey::FromPrivatePem(pem).status().code(), absl::StatusCode::kInvalidArgument);
}

// A public key PEM is not a private key and is rejected.
TEST_F(RsaKeyTest, FromPublicKeyPemFails) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), key().pkey()), 1);
  EXPECT_FALSE(RsaKey::FromPrivatePem(BioContents(bio.get())).ok());
}

// Error messages never echo the PEM they were given.
TEST_F(RsaKeyTest, ErrorMessagesOmitKeyMaterial) {
  const std::string pem = *key().PrivatePem();
  std::string corrupted = pem;
  corrupted[40] = corrupted[40] == 'A' ? 'B' : 'A';
  corrupted[41] = '*';
  for (const std::string& input : {corrupted, pem.substr(0, 200)}) {
    const auto parsed = RsaKey::FromPrivatePem(input);
    ASSERT_FALSE(parsed.ok());
    EXPECT_FALSE(absl::StrContains(parsed.status().message(), "PRIVATE KEY"));
    EXPECT_FALSE(absl::StrContains(parsed.status().message(), pem.substr(28, 16)));
  }
}

// The public JWK has exactly kty/use/alg/kid/n/e and no private member.
TEST_F(RsaKeyTest, PublicJwkOmitsPrivateMembers) {
  const nlohmann::json jwk = key().PublicJwk();
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    EXPECT_FALSE(jwk.contains(member)) << member;
  }
  EXPECT_EQ(jwk.size(), 6u);
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["alg"], "RS256");
  EXPECT_EQ(jwk["kid"], key().kid());
  EXPECT_EQ(jwk["n"], key().n());
  EXPECT_EQ(jwk["e"], key().e());
}

// A key rebuilt from its public JWK has the same kid, n, e and size, and no private half.
TEST_F(RsaKeyTest, FromPublicJwkRoundTripKeepsKid) {
  const nlohmann::json jwk = key().PublicJwk();
  auto parsed = RsaKey::FromPublicJwk(jwk["n"].get<std::string>(), jwk["e"].get<std::string>());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)->kid(), key().kid());
  EXPECT_EQ((*parsed)->n(), key().n());
  EXPECT_EQ((*parsed)->e(), key().e());
  EXPECT_EQ((*parsed)->bits(), 2048);
  EXPECT_EQ((*parsed)->signature_size(), 256);
  EXPECT_FALSE((*parsed)->has_private_key());
  EXPECT_TRUE(key().has_private_key());
  EXPECT_EQ((*parsed)->PrivatePem().status().code(), absl::StatusCode::kFailedPrecondition);
}

// Bad encodings, non-minimal integers, small or even moduli and unusable exponents are rejected.
TEST_F(RsaKeyTest, FromPublicJwkBadMembersFail) {
  const std::string n = key().n();
  const std::string raw_n = *Base64UrlDecode(n);
  EvpPkeyPtr small = RawRsaKey(1024);
  ASSERT_NE(small, nullptr);
  auto small_key = RsaKey::FromPrivatePem(Pkcs8Pem(small.get()));
  ASSERT_FALSE(small_key.ok());  // Sanity: RsaKey refuses it, so build its n by hand.
  BIGNUM* small_n = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(small.get(), "n", &small_n), 1);
  std::string small_n_bytes(static_cast<size_t>(BN_num_bytes(small_n)), '\0');
  BN_bn2bin(small_n, reinterpret_cast<unsigned char*>(small_n_bytes.data()));
  BN_free(small_n);
  std::string even_n = raw_n;
  even_n.back() = static_cast<char>(even_n.back() & ~1);

  const struct {
    std::string n, e, why;
  } cases[] = {
      {"", "AQAB", "empty n"},
      {n, "", "empty e"},
      {n + "=", "AQAB", "padded n"},
      {"!" + n.substr(1), "AQAB", "n outside the alphabet"},
      {Base64UrlEncode(std::string(1, '\0') + raw_n), "AQAB", "leading zero in n"},
      {n, Base64UrlEncode(std::string("\0\x01\0\x01", 4)), "leading zero in e"},
      {n, "AQ", "e = 1"},
      {n, "Ag", "even e"},
      {n, Base64UrlEncode(std::string(9, '\x01')), "e over 64 bits"},
      {Base64UrlEncode(small_n_bytes), "AQAB", "1024-bit modulus"},
      {Base64UrlEncode(even_n), "AQAB", "even modulus"},
      {Base64UrlEncode(std::string(2049, '\xff')), "AQAB", "modulus over 16384 bits"},
      {"AQAB", "AQAB", "tiny modulus"},
  };
  for (const auto& c : cases) {
    const auto parsed = RsaKey::FromPublicJwk(c.n, c.e);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.why;
  }
}

// Two generated keys differ, and so do their kids.
TEST_F(RsaKeyTest, GeneratedKeysHaveDistinctKids) {
  auto other = RsaKey::Generate(2048);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->kid(), key().kid());
  EXPECT_NE((*other)->n(), key().n());
}

}  // namespace
}  // namespace token
