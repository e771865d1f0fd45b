// Key directory: the PEM files holding the service's RSA keys (a Kubernetes
// Secret in production, a local folder in development) and the refresh-token
// HMAC secret kept beside them.
//
// Layout (group- or world-writable files and directories are refused):
//   <dir>/key-20250101T000000Z-AbCdEfGh.pem   private keys, PKCS#8 PEM, 0600;
//                                             the name carries the creation
//                                             time (UTC) that drives rotation
//   <dir>/refresh-secret                      32 random bytes, base64url, 0600
// Entries may be symbolic links (a mounted Secret links every file into
// "..data/"); names starting with '.' are never read as keys.
#ifndef TOKEN_SERVER_KEYS_KEY_DIRECTORY_H_
#define TOKEN_SERVER_KEYS_KEY_DIRECTORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/keys/key_rotation.h"
#include "server/keys/rsa_key.h"

namespace token {

// kRefreshSecretBytes is the size of the refresh-token HMAC secret.
inline constexpr size_t kRefreshSecretBytes = 32;

// KeyFileName returns "key-<UTC yyyymmddThhmmssZ>-<first 8 chars of kid>.pem".
// REQUIRES: `created` has whole seconds (sub-second parts are dropped).
std::string KeyFileName(absl::Time created, absl::string_view kid);

// KeyFileCreatedTime returns the creation time a key file name carries:
// "key-<yyyymmddThhmmssZ>.pem" or "key-<yyyymmddThhmmssZ>-<anything>.pem",
// a valid UTC calendar time. Returns nullopt for any other name.
std::optional<absl::Time> KeyFileCreatedTime(absl::string_view name);

// LoadKeyFiles loads every "*.pem" file in `dir` (following symbolic links;
// names starting with '.' and non-regular files are skipped) with its
// creation time from KeyFileCreatedTime, or the Unix epoch when the name
// carries none (such a key counts as older than every dated key). The result
// is sorted by file name. A file that fails to read or parse fails the whole
// load with a status naming the file, never its contents: a half-valid
// directory is never used. Fails with NOT_FOUND when `dir` is missing or
// holds no key.
// Permissions (key_directory.cc, CheckSecretFile): a key file, or the
// directory it resolves into, or `dir`, that group or others may write fails
// the load with PERMISSION_DENIED naming the file and the fix (0600, or 0440
// for a Kubernetes Secret with fsGroup); a world-readable file only logs a
// warning. A directory on a read-only mount is never "writable".
[[nodiscard]] absl::StatusOr<std::vector<DatedKey>> LoadKeyFiles(const std::string& dir);

// KeyDirectoryFingerprint returns a value that changes whenever the set of
// "*.pem" files LoadKeyFiles would read, or any of them, changes: their names
// and, for each, the device, inode, size, modification and change times of
// the file it resolves to (so an atomically swapped "..data" link counts).
// Cheap: one directory listing and one stat per key file, no reads.
// Fails like LoadKeyFiles when `dir` cannot be listed.
[[nodiscard]] absl::StatusOr<std::string> KeyDirectoryFingerprint(const std::string& dir);

// WrittenKey: what WriteKeyFile wrote, so nobody re-reads the file or
// re-parses its name to learn it.
struct WrittenKey {
  std::string path;
  std::string kid;
  absl::Time created;  // The creation time the file name carries.
};

// WriteKeyFile writes `key` as "<dir>/<KeyFileName(created, kid)>", where
// `created` is `now` rounded up to the whole second (so a key never claims to
// be older than its file), creating `dir` (0700) if missing. The file is
// created with O_CREAT|O_EXCL and mode 0600 under a hidden temporary name,
// synced, then linked into place, so a concurrent LoadKeyFiles never sees a
// half-written key and an existing file is never overwritten.
// REQUIRES: key.has_private_key().
[[nodiscard]] absl::StatusOr<WrittenKey> WriteKeyFile(const std::string& dir, const RsaKey& key,
                                                      absl::Time now);

// WriteNewKey generates a `bits`-bit key and writes it with WriteKeyFile.
[[nodiscard]] absl::StatusOr<WrittenKey> WriteNewKey(const std::string& dir, int bits,
                                                     absl::Time now);

// EnsureDevKey writes a 2048-bit key with WriteNewKey when `dir` holds no
// "*.pem" file and returns true; returns false when a key already exists.
[[nodiscard]] absl::StatusOr<bool> EnsureDevKey(const std::string& dir, absl::Time now);

// LoadRefreshSecret returns the 32 raw bytes stored base64url-encoded in
// "<dir>/refresh-secret" (one trailing newline tolerated). When the file is
// missing and `create_if_missing`, a random secret is written first (mode
// 0600, atomically: concurrent creators end up with the same secret).
// Fails with NOT_FOUND when missing and not created, INVALID_ARGUMENT when
// the content is not exactly 32 bytes of strict base64url, PERMISSION_DENIED
// when the file or `dir` is group- or world-writable (as LoadKeyFiles).
[[nodiscard]] absl::StatusOr<std::string> LoadRefreshSecret(const std::string& dir,
                                                            bool create_if_missing);

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_DIRECTORY_H_
