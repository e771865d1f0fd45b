// FileChangeDetector: what a reloading watcher (server/keys/key_watcher.h,
// server/tls/tls_watcher.h) remembers about its files between polls, so
// that each distinct state of the files is loaded, and each failure
// reported, once rather than on every poll.
#ifndef TOKEN_SERVER_COMMON_FILE_CHANGE_DETECTOR_H_
#define TOKEN_SERVER_COMMON_FILE_CHANGE_DETECTOR_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace token {

// The watcher computes a fingerprint of its files (a digest of their
// contents, or of what stat() says about them) and asks whether it has seen
// that state before. Fingerprints and errors must not hold secrets.
//
// Not thread-safe: the watcher calls it under its own lock.
//
// Usage (one poll):
//   absl::StatusOr<std::string> fp = Fingerprint(files);
//   if (!fp.ok()) {
//     if (detector.ReadFailed(fp.status().message())) Log(...);  // once
//     return;
//   }
//   detector.ReadSucceeded();
//   if (detector.Classify(*fp) != FileChangeDetector::Verdict::kNew) return;
//   if (Load(files).ok()) detector.Applied(*fp); else detector.Rejected(*fp);
class FileChangeDetector {
 public:
  enum class Verdict {
    kApplied,   // The state in use.
    kRejected,  // The state last refused: wait for it to change.
    kNew,       // Neither: load it.
  };

  // Classify compares `fingerprint` with the last applied and the last
  // rejected state.
  Verdict Classify(absl::string_view fingerprint) const;
  // IsLatest: `fingerprint` is the one recorded last, applied or rejected.
  // For a watcher that re-reads whenever its files differ from what it read
  // last, even when they went back to the state in use.
  bool IsLatest(absl::string_view fingerprint) const;

  // Applied records the state now in use and forgets the rejected one.
  void Applied(std::string fingerprint);
  // Rejected records a state that did not load; the applied one stays.
  void Rejected(std::string fingerprint);

  // ReadFailed records that the files could not be fingerprinted or read.
  // Returns true when `error` differs from the failure recorded last, i.e.
  // when the caller should report it.
  [[nodiscard]] bool ReadFailed(absl::string_view error);
  // ReadSucceeded ends a run of read failures: the next one is reported.
  void ReadSucceeded();

  // ForgetFailures makes the rejected state and the last read failure be
  // loaded and reported again (an operator's explicit reload).
  void ForgetFailures();

 private:
  std::optional<std::string> applied_;
  std::optional<std::string> rejected_;
  std::optional<std::string> read_error_;
};

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_FILE_CHANGE_DETECTOR_H_
