// Throwaway RSA keys shared by the key tests: generating one takes tens of
// milliseconds, so each test process makes them once.
#ifndef TOKEN_TESTS_KEYS_TEST_KEYS_H_
#define TOKEN_TESTS_KEYS_TEST_KEYS_H_

#include <cstdlib>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"

namespace token::testing {

// TestKey returns the i-th 2048-bit test key of this process (distinct for
// distinct i, the same for the same i). Aborts if OpenSSL cannot generate one.
inline const RsaKeyPtr& TestKey(size_t i) {
  static absl::Mutex mu(absl::kConstInit);
  static std::vector<RsaKeyPtr>* keys = new std::vector<RsaKeyPtr>();
  absl::MutexLock lock(&mu);
  while (keys->size() <= i) {
    auto key = RsaKey::Generate(2048);
    if (!key.ok()) std::abort();
    keys->push_back(*key);
  }
  return (*keys)[i];
}

// TestKeySet returns a key set of TestKey(0) alone, made once per process.
inline const KeySetPtr& TestKeySet() {
  static const KeySetPtr* set = [] {
    absl::StatusOr<KeySetPtr> created = KeySet::Create(TestKey(0), {});
    if (!created.ok()) std::abort();
    return new KeySetPtr(*std::move(created));
  }();
  return *set;
}

}  // namespace token::testing

#endif  // TOKEN_TESTS_KEYS_TEST_KEYS_H_
