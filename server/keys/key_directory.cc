#include "server/keys/key_directory.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "server/common/base64url.h"
#include "server/common/file_io.h"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/keys/rsa_key.h"

namespace token {
namespace {

constexpr char kRefreshSecretFile[] = "refresh-secret";
// The UTC creation time in key file names, e.g. 20250101T000000Z.
constexpr char kNameTimeFormat[] = "%Y%m%dT%H%M%SZ";
// Generous bound for one PEM key file (a 16384-bit key is ~12 KiB).
constexpr size_t kMaxKeyFileBytes = 64 * 1024;
constexpr size_t kMaxSecretFileBytes = 1024;

std::string ModeText(mode_t mode) { return absl::StrFormat("%04o", mode & 07777); }

// OnReadOnlyFilesystem: nobody can write there, whatever the mode says.
bool OnReadOnlyFilesystem(const std::string& path) {
  struct statvfs vfs;
  return ::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

// CheckDirectoryPermissions refuses a directory that group or others may
// write: they could add a signing key of their own or swap one. A directory
// on a read-only mount is fine (a Kubernetes Secret volume's root is a 1777
// tmpfs, mounted read-only into the container).
absl::Status CheckDirectoryPermissions(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "cannot stat", dir);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || OnReadOnlyFilesystem(dir)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "key directory ", dir, " is writable by group or others (mode ", ModeText(st.st_mode),
      "): anyone who can write it can plant a signing key; chmod 0700 it (0750 to share it "
      "with a group)"));
}

// CheckSecretFile checks the permissions of a key file or the refresh secret,
// following links to the file they resolve to, and of the directory that
// file is in (for a Kubernetes Secret, the "..data" version directory).
// Group- or world-writable is refused; world-readable only warned about, as
// the 0644 a Secret volume gets by default is common.
absl::Status CheckSecretFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "cannot stat", path);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "key file ", path, " is writable by group or others (mode ", ModeText(st.st_mode),
        "): chmod 0600 it (0440 with a group, as a Kubernetes Secret with defaultMode 0440 and "
        "fsGroup)"));
  }
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot resolve key file ", path, ": ", ec.message()));
  }
  if (absl::Status dir = CheckDirectoryPermissions(resolved.parent_path().string()); !dir.ok()) {
    return dir;
  }
  if ((st.st_mode & S_IROTH) != 0) {
    Log(LogLevel::kWarning, "key file is readable by every local user; chmod 0600 or 0440 it",
        {{"file", path}, {"mode", ModeText(st.st_mode)}});
  }
  return absl::OkStatus();
}

// MakePrivateDirs creates `dir` and any missing parents with mode 0700.
absl::Status MakePrivateDirs(const std::string& dir) {
  std::filesystem::path prefix;
  for (const std::filesystem::path& part : std::filesystem::path(dir)) {
    if (part.empty()) continue;  // Trailing separator.
    prefix /= part;
    const std::string current = prefix.string();
    struct stat st;
    if (::stat(current.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return absl::FailedPreconditionError(current + " is not a directory");
      continue;
    }
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "cannot create directory", current);
    }
  }
  return absl::OkStatus();
}

// ListKeyFiles returns the names of the "*.pem" regular files in `dir`, sorted.
absl::StatusOr<std::vector<std::string>> ListKeyFiles(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return absl::NotFoundError(absl::StrCat("key directory ", dir, " does not exist"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list key directory ", dir, ": ", ec.message()));
  }
  std::vector<std::string> names;
  for (const std::filesystem::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.' || !absl::EndsWith(name, ".pem")) continue;
    // Follows symlinks: Kubernetes mounts Secret files as links into "..data/".
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::string> ParseRefreshSecret(const std::string& path, absl::string_view text) {
  text = absl::StripTrailingAsciiWhitespace(text);
  const std::optional<std::string> secret = Base64UrlDecode(text);
  if (!secret.has_value() || secret->size() != kRefreshSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, " must hold exactly ", kRefreshSecretBytes,
                                                   " bytes encoded as base64url"));
  }
  return *secret;
}

}  // namespace

std::string KeyFileName(absl::Time created, absl::string_view kid) {
  return absl::StrCat("key-", absl::FormatTime(kNameTimeFormat, created, absl::UTCTimeZone()), "-",
                      kid.substr(0, 8), ".pem");
}

std::optional<absl::Time> KeyFileCreatedTime(absl::string_view name) {
  // "key-" yyyymmdd "T" hhmmss "Z", then ".pem" or "-<anything>.pem".
  constexpr size_t kStampLength = 16;
  if (!absl::ConsumePrefix(&name, "key-") || !absl::ConsumeSuffix(&name, ".pem") ||
      name.size() < kStampLength) {
    return std::nullopt;
  }
  const absl::string_view stamp = name.substr(0, kStampLength);
  const absl::string_view rest = name.substr(kStampLength);
  if (!rest.empty() && rest.front() != '-') return std::nullopt;
  if (stamp[8] != 'T' || stamp[15] != 'Z') return std::nullopt;
  const auto digits = [&stamp](size_t pos, size_t len, int* out) {
    int value = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(stamp[i]))) return false;
      value = value * 10 + (stamp[i] - '0');
    }
    *out = value;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(0, 4, &year) || !digits(4, 2, &month) || !digits(6, 2, &day) ||
      !digits(9, 2, &hour) || !digits(11, 2, &minute) || !digits(13, 2, &second)) {
    return std::nullopt;
  }
  // CivilSecond normalises out-of-range fields (month 13 becomes January);
  // only an exact round trip is a real date.
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.year() != year || civil.month() != month || civil.day() != day ||
      civil.hour() != hour || civil.minute() != minute || civil.second() != second) {
    return std::nullopt;
  }
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

absl::StatusOr<std::vector<DatedKey>> LoadKeyFiles(const std::string& dir) {
  auto names = ListKeyFiles(dir);
  if (!names.ok()) return names.status();
  if (names->empty()) {
    return absl::NotFoundError(absl::StrCat("no *.pem key file in ", dir));
  }
  if (absl::Status status = CheckDirectoryPermissions(dir); !status.ok()) return status;
  std::vector<DatedKey> keys;
  keys.reserve(names->size());
  for (const std::string& name : *names) {
    const std::string path = JoinPath(dir, name);
    if (absl::Status status = CheckSecretFile(path); !status.ok()) return status;
    auto pem = ReadSmallFile(path, kMaxKeyFileBytes);
    if (!pem.ok()) return pem.status();
    auto key = RsaKey::FromPrivatePem(*pem);
    if (!key.ok()) {
      // FromPrivatePem's messages never contain key material.
      return absl::InvalidArgumentError(
          absl::StrCat("key file ", path, ": ", key.status().message()));
    }
    keys.push_back({*std::move(key), KeyFileCreatedTime(name).value_or(absl::UnixEpoch()), name});
  }
  return keys;
}

absl::StatusOr<std::string> KeyDirectoryFingerprint(const std::string& dir) {
  auto names = ListKeyFiles(dir);
  if (!names.ok()) return names.status();
  std::string fingerprint;
  // The directory's mode too: fixing (or breaking) its permissions re-reads.
  struct stat dir_st;
  if (::stat(dir.c_str(), &dir_st) == 0)
    absl::StrAppend(&fingerprint, ModeText(dir_st.st_mode), ";");
  for (const std::string& name : *names) {
    struct stat st;
    // stat() follows links: a swapped "..data" link changes the inode seen here.
    if (::stat(JoinPath(dir, name).c_str(), &st) != 0) {
      absl::StrAppend(&fingerprint, name, ":missing;");
      continue;
    }
    absl::StrAppend(&fingerprint, name, ":", st.st_dev, ":", st.st_ino, ":", st.st_size, ":",
                    st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_ctim.tv_sec, ".",
                    st.st_ctim.tv_nsec, ";");
  }
  return fingerprint;
}

absl::StatusOr<WrittenKey> WriteKeyFile(const std::string& dir, const RsaKey& key, absl::Time now) {
  auto pem = key.PrivatePem();
  if (!pem.ok()) return pem.status();
  // Round up: the name must never make a key look older than it is, or it
  // would sign before it has been published for the whole period.
  absl::Time created = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  if (created < now) created += absl::Seconds(1);
  if (absl::Status status = MakePrivateDirs(dir); !status.ok()) return status;
  const std::string name = KeyFileName(created, key.kid());
  if (absl::Status status = CreatePrivateFile(dir, name, *pem); !status.ok()) return status;
  return WrittenKey{.path = JoinPath(dir, name), .kid = key.kid(), .created = created};
}

absl::StatusOr<WrittenKey> WriteNewKey(const std::string& dir, int bits, absl::Time now) {
  auto key = RsaKey::Generate(bits);
  if (!key.ok()) return key.status();
  return WriteKeyFile(dir, **key, now);
}

absl::StatusOr<bool> EnsureDevKey(const std::string& dir, absl::Time now) {
  auto names = ListKeyFiles(dir);
  if (names.ok() && !names->empty()) return false;
  if (!names.ok() && !absl::IsNotFound(names.status())) return names.status();
  auto written = WriteNewKey(dir, 2048, now);
  if (!written.ok()) return written.status();
  return true;
}

absl::StatusOr<std::string> LoadRefreshSecret(const std::string& dir, bool create_if_missing) {
  const std::string path = JoinPath(dir, kRefreshSecretFile);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (absl::Status status = CheckDirectoryPermissions(dir); !status.ok()) return status;
  }
  absl::Status checked = CheckSecretFile(path);
  if (!checked.ok() && !absl::IsNotFound(checked)) return checked;
  auto text = checked.ok() ? ReadSmallFile(path, kMaxSecretFileBytes) : checked;
  if (text.ok()) return ParseRefreshSecret(path, *text);
  if (!absl::IsNotFound(text.status()) || !create_if_missing) return text.status();

  if (absl::Status status = MakePrivateDirs(dir); !status.ok()) return status;
  const std::string secret = RandomBytes(kRefreshSecretBytes);
  const absl::Status created =
      CreatePrivateFile(dir, kRefreshSecretFile, absl::StrCat(Base64UrlEncode(secret), "\n"));
  if (created.ok()) return secret;
  if (!absl::IsAlreadyExists(created)) return created;
  // Another process created it first: use theirs so all agree.
  text = ReadSmallFile(path, kMaxSecretFileBytes);
  if (!text.ok()) return text.status();
  return ParseRefreshSecret(path, *text);
}

}  // namespace token
