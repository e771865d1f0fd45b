// make_fuzz_seeds OUT_DIR: writes the seed corpus of every fuzz target into
// OUT_DIR/<target>/ (normally fuzz/corpus). Run once when a format changes;
// the output is checked in. Seeds are small, valid inputs plus the broken
// variants each parser must refuse, so fuzzing starts deep in the code.
// Tokens are signed with the throwaway fuzz key (throwaway_fuzz_key.h) and
// valid at kFuzzNow; other keys it writes (refused PEM variants, a second
// JWKS key) are generated on the spot and are just as disposable.
// Seeds from the fixed key are the same on every run; generated keys and
// encrypted PEM differ, so re-running changes those few files.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/throwaway_fuzz_key.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/common/openssl_ptr.h"
#include "server/common/random.h"
#include "server/jwt/signer.h"
#include "server/keys/key_set.h"
#include "server/session/page_token.h"
#include "server/session/refresh_token.h"
#include "token/v1/token.pb.h"

namespace token::fuzz {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

fs::path g_out;

void Write(const std::string& target, const std::string& name, absl::string_view bytes) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good());
}

const std::string kSessionId = "0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1";

// --- keys -------------------------------------------------------------------

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  FUZZ_CHECK(len > 0);
  return std::string(data, static_cast<size_t>(len));
}

// Pem encodes `pkey` with `write`, one of OpenSSL's PEM writers.
template <typename Writer>
std::string Pem(Writer write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  FUZZ_CHECK(bio != nullptr && write(bio.get()) == 1);
  return BioText(bio.get());
}

EvpPkeyPtr GenerateKey(const char* algorithm, int rsa_bits) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  FUZZ_CHECK(ctx != nullptr && EVP_PKEY_keygen_init(ctx.get()) == 1);
  if (rsa_bits > 0) FUZZ_CHECK(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) == 1);
  if (absl::string_view(algorithm) == "EC") {
    FUZZ_CHECK(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") == 1);
  }
  EVP_PKEY* raw = nullptr;
  FUZZ_CHECK(EVP_PKEY_generate(ctx.get(), &raw) == 1);
  return EvpPkeyPtr(raw);
}

void PemSeeds() {
  EVP_PKEY* fuzz_key = FuzzKey()->pkey();
  Write("pem_load", "pkcs8", absl::StripLeadingAsciiWhitespace(kThrowawayFuzzKeyPem));
  Write("pem_load", "pkcs1", Pem([&](BIO* bio) {
          return PEM_write_bio_PrivateKey_traditional(bio, fuzz_key, nullptr, nullptr, 0,
                                                      nullptr, nullptr);
        }));
  Write("pem_load", "public-only", Pem([&](BIO* bio) { return PEM_write_bio_PUBKEY(bio, fuzz_key); }));
  Write("pem_load", "encrypted-pkcs8", Pem([&](BIO* bio) {
          static char passphrase[] = "throwaway";
          return PEM_write_bio_PKCS8PrivateKey(bio, fuzz_key, EVP_aes_128_cbc(), passphrase,
                                               sizeof(passphrase) - 1, nullptr, nullptr);
        }));
  struct Refused {
    const char* name;
    const char* algorithm;
    int bits;
  };
  for (const Refused& refused : {Refused{"ec-p256", "EC", 0}, Refused{"rsa-1024", "RSA", 1024},
                                 Refused{"rsa-pss-2048", "RSA-PSS", 2048}}) {
    const EvpPkeyPtr key = GenerateKey(refused.algorithm, refused.bits);
    Write("pem_load", refused.name, Pem([&](BIO* bio) {
            return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr);
          }));
  }
  const std::string pem(absl::StripLeadingAsciiWhitespace(kThrowawayFuzzKeyPem));
  Write("pem_load", "truncated", pem.substr(0, pem.size() / 2));
}

// --- JWTs -------------------------------------------------------------------

Json StandardHeader() {
  return Json{{"alg", "RS256"}, {"typ", "at+jwt"}, {"kid", FuzzKey()->kid()}};
}

Json StandardPayload() {
  const int64_t iat = absl::ToUnixSeconds(kFuzzIssuedAt);
  return Json{{"iss", kFuzzIssuer}, {"sub", "user-42"},   {"aud", kFuzzAudience},
              {"iat", iat},         {"nbf", iat},         {"exp", iat + 900},
              {"jti", "jti-7f3c"},  {"sid", kSessionId},  {"roles", {"admin", "reader"}}};
}

std::string SigningInput(const Json& header, const Json& payload) {
  return absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));
}

std::string Signed(const Json& header, const Json& payload) {
  const std::string input = SigningInput(header, payload);
  absl::StatusOr<std::string> signature = Rs256SignRaw(input, *FuzzKey());
  FUZZ_CHECK(signature.ok());
  return absl::StrCat(input, ".", Base64UrlEncode(*signature));
}

std::string HmacSigned(const Json& header, const Json& payload, absl::string_view secret) {
  const std::string input = SigningInput(header, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  FUZZ_CHECK(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                  &mac_len) != nullptr);
  return absl::StrCat(input, ".",
                      Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(mac), mac_len)));
}

void JwtSeeds() {
  const Json header = StandardHeader();
  const Json payload = StandardPayload();
  const int64_t iat = absl::ToUnixSeconds(kFuzzIssuedAt);
  auto with = [](Json json, const char* name, Json value) {
    json[name] = std::move(value);
    return json;
  };
  auto without = [](Json json, const char* name) {
    json.erase(name);
    return json;
  };

  const std::string valid = Signed(header, payload);
  // jwt_verify: whole tokens.
  Write("jwt_verify", "valid", valid);
  Write("jwt_verify", "valid-aud-array-no-roles",
        Signed(header, with(with(payload, "aud", {"other", kFuzzAudience}), "roles",
                            Json::array())));
  Write("jwt_verify", "valid-fractional-times",
        Signed(header, with(with(payload, "nbf", iat + 0.5), "exp", iat + 900.25)));
  Write("jwt_verify", "valid-typ-application",
        Signed(with(header, "typ", "application/at+jwt"), payload));
  Write("jwt_verify", "valid-no-typ", Signed(without(header, "typ"), payload));
  Write("jwt_verify", "expired", Signed(header, with(payload, "exp", iat + 30)));
  Write("jwt_verify", "not-yet-valid", Signed(header, with(payload, "nbf", iat + 91)));
  Write("jwt_verify", "wrong-issuer", Signed(header, with(payload, "iss", "someone-else")));
  Write("jwt_verify", "wrong-audience", Signed(header, with(payload, "aud", "other")));
  Write("jwt_verify", "missing-sid", Signed(header, without(payload, "sid")));
  Write("jwt_verify", "crit-header", Signed(with(header, "crit", {"exp"}), payload));
  Write("jwt_verify", "unknown-kid", Signed(with(header, "kid", "not-a-published-kid"), payload));
  Write("jwt_verify", "alg-none",
        absl::StrCat(SigningInput(with(header, "alg", "none"), payload), "."));
  // HS256 keyed with the public JWK: the algorithm-confusion attack.
  Write("jwt_verify", "alg-hs256-public-key-secret",
        HmacSigned(with(header, "alg", "HS256"), payload, FuzzKey()->PublicJwk().dump()));
  Write("jwt_verify", "truncated-signature", valid.substr(0, valid.size() - 4));
  std::string flipped = valid;
  flipped[flipped.find('.') + 5] ^= 0x01;
  Write("jwt_verify", "payload-bit-flip", flipped);
  Write("jwt_verify", "padded-segment", absl::StrCat(valid, "=="));
  Write("jwt_verify", "two-segments", valid.substr(0, valid.rfind('.')));

  // jwt_claims: header JSON, newline, payload JSON (the target signs them).
  auto claims = [](const Json& h, const Json& p) { return absl::StrCat(h.dump(), "\n", p.dump()); };
  Write("jwt_claims", "valid", claims(header, payload));
  Write("jwt_claims", "payload-only", payload.dump());
  Write("jwt_claims", "alg-rs512", claims(with(header, "alg", "RS512"), payload));
  Write("jwt_claims", "aud-array", claims(header, with(payload, "aud", {kFuzzAudience, "x"})));
  Write("jwt_claims", "aud-array-not-strings", claims(header, with(payload, "aud", {1, nullptr})));
  Write("jwt_claims", "huge-float-exp", claims(header, with(payload, "exp", 1e300)));
  Write("jwt_claims", "negative-iat", claims(header, with(payload, "iat", -1)));
  Write("jwt_claims", "max-exp", claims(header, with(payload, "exp", 253402300799LL)));
  Write("jwt_claims", "unsigned-exp",
        claims(header, with(payload, "exp", static_cast<uint64_t>(1) << 63)));
  Write("jwt_claims", "roles-not-strings", claims(header, with(payload, "roles", {"a", 1})));
  Write("jwt_claims", "typ-jwt", claims(with(header, "typ", "JWT"), payload));
  Write("jwt_claims", "pretty-printed",
        absl::StrCat(header.dump(), "\n", payload.dump(2, ' ', /*ensure_ascii=*/true)));
  Write("jwt_claims", "duplicate-members",
        absl::StrCat(header.dump(), "\n",
                     R"({"iss":"x","iss":"token-service","sub":"\u0000","aud":"api",)",
                     R"("iat":1700000000,"nbf":1700000000,"exp":1700000900,"jti":"j",)",
                     R"("sid":"s","roles":[]})"));
}

// --- JWKS -------------------------------------------------------------------

void JwksSeeds() {
  const KeySetPtr served = *KeySet::Create(FuzzKey(), {});
  Write("jwks_parse", "served", served->jwks_json());

  absl::StatusOr<RsaKeyPtr> second = RsaKey::Generate(2048);
  FUZZ_CHECK(second.ok());
  Write("jwks_parse", "two-keys", (*KeySet::Create(FuzzKey(), {*second}))->jwks_json());

  const Json jwk = Json::parse(FuzzKey()->PublicJwk().dump());
  auto doc = [](std::vector<Json> keys) { return Json{{"keys", std::move(keys)}}.dump(); };
  auto with = [](Json json, const char* name, Json value) {
    json[name] = std::move(value);
    return json;
  };
  Write("jwks_parse", "skipped-keys",
        doc({Json{{"kty", "EC"}, {"crv", "P-256"}, {"x", "AQAB"}, {"y", "AQAB"}},
             with(jwk, "use", "enc"), with(jwk, "alg", "PS256"), jwk}));
  Write("jwks_parse", "private-member", doc({with(jwk, "d", "AQAB")}));
  Write("jwks_parse", "wrong-kid", doc({with(jwk, "kid", "abc")}));
  Write("jwks_parse", "duplicate-kid", doc({jwk, jwk}));
  Write("jwks_parse", "even-modulus", doc({with(jwk, "n", "AQAC")}));
  Write("jwks_parse", "no-keys", doc({}));
  Write("jwks_parse", "not-an-object", "[]");
}

// --- refresh and page tokens ------------------------------------------------

// FixedRefreshToken: a token as the fixed, public chain key of
// refresh_token_parse_fuzzer.cc hands out, from a made-up parent secret.
RefreshToken FixedRefreshToken() {
  RefreshToken parent;
  parent.session_id = *ParseUuid(kSessionId);
  for (size_t i = 0; i < kRefreshTokenSecretBytes; ++i) {
    parent.secret.push_back(static_cast<char>(i * 7 + 1));
  }
  return RefreshSecretChain(std::string(32, 'k')).Successor(parent);
}

void RefreshSeeds() {
  const RefreshToken token = FixedRefreshToken();
  const std::string valid = FormatRefreshToken(token);
  Write("refresh_token_parse", "valid", valid);
  const RefreshSecretChain chain(std::string(32, 'k'));
  Write("refresh_token_parse", "successor", FormatRefreshToken(chain.Successor(token)));
  Write("refresh_token_parse", "wrong-prefix", absl::StrCat("tsr2_", valid.substr(5)));
  Write("refresh_token_parse", "one-short", valid.substr(0, valid.size() - 1));
  Write("refresh_token_parse", "not-base64url",
        absl::StrCat(valid.substr(0, valid.size() - 1), "+"));
}

void PageTokenSeeds() {
  const SessionCursor cursor{absl::FromUnixMicros(1700000000123456), kSessionId};
  const std::string alice = EncodePageToken("alice", cursor);
  Write("page_token_decode", "valid", absl::StrCat("alice\n", alice));
  Write("page_token_decode", "other-subject", absl::StrCat("bob\n", alice));
  Write("page_token_decode", "empty-subject", absl::StrCat("\n", EncodePageToken("", cursor)));
  Write("page_token_decode", "before-epoch",
        absl::StrCat("alice\n", EncodePageToken("alice", {absl::FromUnixMicros(-1), kSessionId})));
}

// --- requests ---------------------------------------------------------------

// Request seeds start with the type byte request_decode_fuzzer.cc reads.
void Request(const std::string& name, char type, absl::string_view bytes) {
  Write("request_decode", name, absl::StrCat(absl::string_view(&type, 1), bytes));
}

void RequestSeeds() {
  v1::IssueTokensRequest issue;
  issue.set_subject("alice");
  issue.add_roles("admin");
  issue.add_roles("reader");
  issue.set_audience("api");
  issue.mutable_client()->set_user_agent("curl/8.0");
  issue.mutable_client()->set_ip_address("127.0.0.1");
  Request("issue", 0, issue.SerializeAsString());

  v1::RefreshTokensRequest refresh;
  refresh.set_refresh_token(FormatRefreshToken(FixedRefreshToken()));
  refresh.mutable_client()->set_user_agent("app/1.0");
  Request("refresh", 1, refresh.SerializeAsString());

  v1::VerifyAccessRequest verify;
  verify.set_access_token(Signed(StandardHeader(), StandardPayload()));
  verify.set_audience("api");
  verify.add_required_roles("admin");
  Request("verify", 2, verify.SerializeAsString());

  v1::RevokeAllRequest revoke_all;
  revoke_all.set_subject("alice");
  revoke_all.set_reason("password changed");
  Request("revoke-all", 3, revoke_all.SerializeAsString());

  v1::RevokeSessionRequest revoke_session;
  revoke_session.set_session_id(kSessionId);
  revoke_session.set_reason("lost device");
  Request("revoke-session", 4, revoke_session.SerializeAsString());

  v1::ListSessionsRequest list;
  list.set_subject("alice");
  list.set_page_size(20);
  list.set_page_token(EncodePageToken("alice", {absl::FromUnixMicros(1), kSessionId}));
  Request("list", 5, list.SerializeAsString());

  // Hand-made wire bytes: invalid UTF-8 in field 1, in the page token (3),
  // in a nested ClientInfo (4 -> 1), and a length running past the end.
  Request("issue-subject-not-utf8", 0, absl::string_view("\x0a\x02\xff\xfe", 4));
  Request("list-page-token-not-utf8", 5, absl::string_view("\x0a\x01" "a" "\x1a\x01\xc0", 6));
  Request("issue-client-not-utf8", 0, absl::string_view("\x22\x03\x0a\x01\xff", 5));
  Request("truncated", 0, absl::string_view("\x0a\x05" "ab", 4));
}

// --- base64url --------------------------------------------------------------

void Base64UrlSeeds() {
  Write("base64url", "empty", "");
  Write("base64url", "one", "f");
  Write("base64url", "text", "Zm9vYmE");
  Write("base64url", "url-alphabet", "-_-_AZaz09");
  Write("base64url", "trailing-bits", "Zh");
  Write("base64url", "padded", "Zm8=");
  Write("base64url", "binary", absl::string_view("\x00\xff\xfe\x80\x7f\x01", 6));
}

}  // namespace
}  // namespace token::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR (normally fuzz/corpus)\n", argv[0]);
    return 2;
  }
  token::fuzz::g_out = argv[1];
  token::fuzz::PemSeeds();
  token::fuzz::JwtSeeds();
  token::fuzz::JwksSeeds();
  token::fuzz::RefreshSeeds();
  token::fuzz::PageTokenSeeds();
  token::fuzz::RequestSeeds();
  token::fuzz::Base64UrlSeeds();
  std::printf("seeds written to %s\n", argv[1]);
  return 0;
}
