// Fuzz target pem_load: RsaKey::FromPrivatePem on arbitrary bytes, as the key
// directory loader reads *.pem files (a Kubernetes Secret, an operator's
// copy-paste). Seeds: the throwaway fuzz key in PKCS#8 and PKCS#1 form and
// keys that must be refused (public-only, EC, RSA-PSS, 1024-bit, encrypted).
// Invariants: an accepted key can sign, is within the size limits, and its
// kid is the RFC 7638 thumbprint of its public values.
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_support.h"
#include "server/keys/jwk.h"
#include "server/keys/rsa_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace token;
  using namespace token::fuzz;
  const absl::StatusOr<RsaKeyPtr> key = RsaKey::FromPrivatePem(AsText(data, size));
  if (!key.ok()) {
    FUZZ_CHECK(key.status().code() == absl::StatusCode::kInvalidArgument ||
               key.status().code() == absl::StatusCode::kResourceExhausted);
    return 0;
  }
  FUZZ_CHECK(*key != nullptr && (*key)->has_private_key());
  FUZZ_CHECK((*key)->bits() >= RsaKey::kMinBits && (*key)->bits() <= RsaKey::kMaxBits);
  FUZZ_CHECK((*key)->signature_size() == ((*key)->bits() + 7) / 8);
  FUZZ_CHECK((*key)->kid() == RsaJwkThumbprint((*key)->n(), (*key)->e()));
  return 0;
}
