// Shared pieces of the fuzz targets: the libFuzzer entry point, an invariant
// check that turns a broken promise into a crash the fuzzer records, and the
// fixed world tokens are checked against (one throwaway key, one instant,
// one issuer and audience), so that seeds signed once stay valid forever.
//
// Every target is built twice: with libFuzzer (TOKEN_FUZZ=ON, scripts/fuzz.sh)
// and, in every other build, with replay_main.cc, which runs the checked-in
// corpus once as the CTest test fuzz.<target>.
#ifndef TOKEN_FUZZ_FUZZ_SUPPORT_H_
#define TOKEN_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/jwt/verifier.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"

// LLVMFuzzerTestOneInput runs one input; each fuzz/<target>_fuzzer.cc defines
// it. Returns 0 (libFuzzer reserves other values).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// FUZZ_CHECK(condition) aborts with the condition's text when an invariant of
// the code under test does not hold, so the fuzzer saves the input.
#define FUZZ_CHECK(condition)                                                   \
  do {                                                                          \
    if (!(condition)) ::token::fuzz::InvariantFailed(#condition, __FILE__, __LINE__); \
  } while (false)

namespace token::fuzz {

// InvariantFailed prints what failed and where, then aborts.
[[noreturn]] void InvariantFailed(const char* condition, const char* file, int line);

// AsText views the fuzz input as bytes of text.
inline absl::string_view AsText(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// kFuzzNow is the instant tokens are verified at: 2023-11-14T22:14:20Z, one
// minute after the seeds' `iat` (kFuzzIssuedAt).
inline const absl::Time kFuzzIssuedAt = absl::FromUnixSeconds(1700000000);
inline const absl::Time kFuzzNow = kFuzzIssuedAt + absl::Minutes(1);
inline constexpr char kFuzzIssuer[] = "token-service";
inline constexpr char kFuzzAudience[] = "api";

// FuzzKey returns the throwaway key of throwaway_fuzz_key.h, parsed once.
const RsaKeyPtr& FuzzKey();

// FuzzKeySet publishes FuzzKey() only.
const KeySet& FuzzKeySet();

// FuzzVerifyOptions expects kFuzzIssuer, kFuzzAudience and a 30 s skew.
VerifyOptions FuzzVerifyOptions();

}  // namespace token::fuzz

#endif  // TOKEN_FUZZ_FUZZ_SUPPORT_H_
