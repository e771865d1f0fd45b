// Fuzz target jwt_verify: VerifyAccessToken on arbitrary bytes, exactly what
// VerifyAccess receives as access_token, against a key set holding one
// throwaway key. The seeds (fuzz/corpus/jwt_verify) are tokens signed with
// that key, valid at kFuzzNow, and broken variants of them (alg none, HS256,
// unknown kid, truncated, expired...); the mutations start from there.
// Claims behind a valid signature are explored by the jwt_claims target.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.h"
#include "fuzz/jwt_invariants.h"
#include "server/jwt/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace token::fuzz;
  const absl::string_view token = AsText(data, size);
  CheckVerifyResult(token,
                    token::VerifyAccessToken(token, FuzzKeySet(), FuzzVerifyOptions(), kFuzzNow));
  return 0;
}
