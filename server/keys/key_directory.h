// Key directory: the PEM files holding the service's RSA keys (a Kubernetes
// Secret in production, a local folder in development) and the refresh-token
// HMAC secret kept beside them.
//
// Layout:
//   <dir>/key-20250101T000000Z-AbCdEfGh.pem   private keys, PKCS#8 PEM, 0600
//   <dir>/refresh-secret                      32 random bytes, base64url, 0600
#ifndef TOKEN_SERVER_KEYS_KEY_DIRECTORY_H_
#define TOKEN_SERVER_KEYS_KEY_DIRECTORY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/keys/key_set.h"

namespace token {

// kRefreshSecretBytes is the size of the refresh-token HMAC secret.
inline constexpr size_t kRefreshSecretBytes = 32;

// LoadKeyDirectory loads every "*.pem" file in `dir` (sorted by file name;
// names starting with '.' are skipped). The key with the lexicographically
// greatest file name signs; all are published. A file that fails to parse
// fails the whole load with a status naming the file, never its contents.
// Fails with NOT_FOUND when `dir` is missing or holds no key.
// NOTE: does not check file permissions (Kubernetes mounts Secrets 0644 by
// default); files written by WriteNewKey are 0600.
[[nodiscard]] absl::StatusOr<KeySetPtr> LoadKeyDirectory(const std::string& dir);

// WriteNewKey generates a `bits`-bit key and writes it as
// "<dir>/key-<UTC yyyymmddThhmmssZ>-<first 8 chars of kid>.pem", creating
// `dir` (0700) if missing. The file is created with O_CREAT|O_EXCL and mode
// 0600 under a hidden temporary name, synced, then linked into place, so a
// concurrent LoadKeyDirectory never sees a half-written key and an existing
// file is never overwritten. Returns the path.
[[nodiscard]] absl::StatusOr<std::string> WriteNewKey(const std::string& dir, int bits,
                                                      absl::Time now);

// EnsureDevKey writes a 2048-bit key with WriteNewKey when `dir` holds no
// "*.pem" file and returns true; returns false when a key already exists.
[[nodiscard]] absl::StatusOr<bool> EnsureDevKey(const std::string& dir, absl::Time now);

// LoadRefreshSecret returns the 32 raw bytes stored base64url-encoded in
// "<dir>/refresh-secret" (one trailing newline tolerated). When the file is
// missing and `create_if_missing`, a random secret is written first (mode
// 0600, atomically: concurrent creators end up with the same secret).
// Fails with NOT_FOUND when missing and not created, INVALID_ARGUMENT when
// the content is not exactly 32 bytes of strict base64url.
[[nodiscard]] absl::StatusOr<std::string> LoadRefreshSecret(const std::string& dir,
                                                            bool create_if_missing);

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_DIRECTORY_H_
