// Fuzz target jwks_parse: ParseJwks on arbitrary bytes, as a client fetching
// /.well-known/jwks.json from a hostile or broken server would.
// Invariants: every key returned is public-only, within the size limits, with
// a distinct kid equal to its RFC 7638 thumbprint; and the keys survive a
// round trip through the JWKS this service would publish for them.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_support.h"
#include "server/keys/jwk.h"
#include "server/keys/jwks.h"
#include "server/keys/key_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace token;
  using namespace token::fuzz;
  absl::StatusOr<std::vector<RsaKeyPtr>> keys = ParseJwks(AsText(data, size));
  if (!keys.ok()) {
    FUZZ_CHECK(keys.status().code() == absl::StatusCode::kInvalidArgument ||
               keys.status().code() == absl::StatusCode::kNotFound);
    return 0;
  }
  FUZZ_CHECK(!keys->empty() && keys->size() <= kMaxJwksKeys);
  std::set<std::string> kids;
  for (const RsaKeyPtr& key : *keys) {
    FUZZ_CHECK(key != nullptr && !key->has_private_key());
    FUZZ_CHECK(key->bits() >= RsaKey::kMinBits && key->bits() <= RsaKey::kMaxBits);
    FUZZ_CHECK(key->kid() == RsaJwkThumbprint(key->n(), key->e()));
    FUZZ_CHECK(kids.insert(key->kid()).second);
  }

  absl::StatusOr<KeySetPtr> set = KeySet::CreateForVerification(*keys);
  FUZZ_CHECK(set.ok());
  absl::StatusOr<std::vector<RsaKeyPtr>> again = ParseJwks((*set)->jwks_json());
  FUZZ_CHECK(again.ok() && again->size() == keys->size());
  for (size_t i = 0; i < keys->size(); ++i) {
    FUZZ_CHECK((*again)[i]->kid() == (*keys)[i]->kid());
  }
  return 0;
}
