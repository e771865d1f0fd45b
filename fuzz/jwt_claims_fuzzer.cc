// Fuzz target jwt_claims: the part of VerifyAccessToken behind a valid
// signature. The input is a JWS header and payload as raw JSON text,
// separated by the first newline; the target signs them with the throwaway
// fuzz key and verifies the result, so every input reaches the header and
// claim checks (random tokens almost never get past the signature), the
// optional context claims (scope, auth_time, amr, acr) and the custom claims
// the verifier collects from unreserved members included.
// Input without a newline is a payload under the standard header.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/jwt_invariants.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/common/error_reason.h"
#include "server/jwt/signer.h"
#include "server/jwt/verifier.h"

namespace token::fuzz {
namespace {

// NamesOurKey: true when `header` parses as an object naming RS256 and our
// kid; the signature the target made must then be accepted.
bool NamesOurKey(const std::string& header) {
  const nlohmann::json parsed = nlohmann::json::parse(header, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return false;
  const auto alg = parsed.find("alg");
  const auto kid = parsed.find("kid");
  return alg != parsed.end() && kid != parsed.end() && *alg == "RS256" && *kid == FuzzKey()->kid();
}

void Run(absl::string_view input) {
  const size_t newline = input.find('\n');
  std::string header;
  absl::string_view payload = input;
  if (newline == absl::string_view::npos) {
    header = absl::StrCat(R"({"alg":"RS256","typ":"at+jwt","kid":")", FuzzKey()->kid(), "\"}");
  } else {
    header = std::string(input.substr(0, newline));
    payload = input.substr(newline + 1);
  }
  const std::string signing_input =
      absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  absl::StatusOr<std::string> signature = Rs256SignRaw(signing_input, *FuzzKey());
  FUZZ_CHECK(signature.ok());
  const std::string token = absl::StrCat(signing_input, ".", Base64UrlEncode(*signature));

  const absl::StatusOr<AccessClaims> result =
      VerifyAccessToken(token, FuzzKeySet(), FuzzVerifyOptions(), kFuzzNow);
  CheckVerifyResult(token, result);
  if (!result.ok() && token.size() <= FuzzVerifyOptions().max_token_bytes && NamesOurKey(header)) {
    FUZZ_CHECK(ReasonOf(result.status()) != ErrorReason::TOKEN_SIGNATURE_INVALID);
  }
}

}  // namespace
}  // namespace token::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  token::fuzz::Run(token::fuzz::AsText(data, size));
  return 0;
}
