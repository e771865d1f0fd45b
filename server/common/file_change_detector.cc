#include "server/common/file_change_detector.h"

#include <utility>

namespace token {

FileChangeDetector::Verdict FileChangeDetector::Classify(absl::string_view fingerprint) const {
  if (applied_ == fingerprint) return Verdict::kApplied;
  if (rejected_ == fingerprint) return Verdict::kRejected;
  return Verdict::kNew;
}

bool FileChangeDetector::IsLatest(absl::string_view fingerprint) const {
  // A rejection is always newer than the applied state: Applied clears it.
  return (rejected_.has_value() ? rejected_ : applied_) == fingerprint;
}

void FileChangeDetector::Applied(std::string fingerprint) {
  applied_ = std::move(fingerprint);
  rejected_.reset();
}

void FileChangeDetector::Rejected(std::string fingerprint) { rejected_ = std::move(fingerprint); }

bool FileChangeDetector::ReadFailed(absl::string_view error) {
  if (read_error_ == error) return false;
  read_error_ = std::string(error);
  return true;
}

void FileChangeDetector::ReadSucceeded() { read_error_.reset(); }

void FileChangeDetector::ForgetFailures() {
  rejected_.reset();
  read_error_.reset();
}

}  // namespace token
