// KeyProvider: the current KeySet, swapped atomically on reload. Readers take
// a snapshot (a shared_ptr) and use it for one whole call, so a reload never
// changes keys under a signature in progress.
#ifndef TOKEN_SERVER_KEYS_KEY_PROVIDER_H_
#define TOKEN_SERVER_KEYS_KEY_PROVIDER_H_

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/keys/key_set.h"

namespace token {

class KeyProvider {
 public:
  explicit KeyProvider(KeySetPtr initial) : current_(std::move(initial)) {}

  // Current returns the key set in force. Never null.
  KeySetPtr Current() const {
    absl::ReaderMutexLock lock(&mu_);
    return current_;
  }

  // Replace makes `next` current for every later call. REQUIRES: next != nullptr.
  void Replace(KeySetPtr next) {
    absl::MutexLock lock(&mu_);
    current_ = std::move(next);
  }

 private:
  mutable absl::Mutex mu_;
  KeySetPtr current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_PROVIDER_H_
