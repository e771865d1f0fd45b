#include "fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

#include "fuzz/throwaway_fuzz_key.h"

namespace token::fuzz {

void InvariantFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

const RsaKeyPtr& FuzzKey() {
  static const RsaKeyPtr* const key = [] {
    absl::StatusOr<RsaKeyPtr> parsed = RsaKey::FromPrivatePem(kThrowawayFuzzKeyPem);
    FUZZ_CHECK(parsed.ok());
    return new RsaKeyPtr(*std::move(parsed));
  }();
  return *key;
}

const KeySet& FuzzKeySet() {
  static const KeySetPtr* const set = [] {
    absl::StatusOr<KeySetPtr> created = KeySet::Create(FuzzKey(), {});
    FUZZ_CHECK(created.ok());
    return new KeySetPtr(*std::move(created));
  }();
  return **set;
}

VerifyOptions FuzzVerifyOptions() {
  VerifyOptions options;
  options.issuer = kFuzzIssuer;
  options.audience = kFuzzAudience;
  options.clock_skew = absl::Seconds(30);
  return options;
}

}  // namespace token::fuzz
