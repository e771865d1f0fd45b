// RetryPolicy: which failures TokenClient retries and how long it waits in
// between. Only UNAVAILABLE is retried: it is the one code the service
// promises means "nothing happened, try again" (database down, not ready,
// draining) and the one gRPC reports when no connection could be made.
// Everything else (UNAUTHENTICATED, INVALID_ARGUMENT, PERMISSION_DENIED,
// RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ...) is returned to the caller at once.
//
// Backoff is exponential with jitter: the n-th retry waits
//   min(initial_backoff * multiplier^(n-1), max_backoff) * (1 ± jitter)
// and never past the call's deadline: a retry whose pause would end at or
// after the deadline is not made, and the last failure is returned.
#ifndef TOKEN_CLIENT_CPP_RETRY_POLICY_H_
#define TOKEN_CLIENT_CPP_RETRY_POLICY_H_

#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace token::client {

struct RetryPolicy {
  // max_attempts: attempts in all, the first included; 1 disables retries.
  int max_attempts = 4;
  // initial_backoff: the pause before the first retry, before jitter.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  // max_backoff: the longest pause before jitter.
  absl::Duration max_backoff = absl::Seconds(2);
  // multiplier: growth of the pause from one retry to the next.
  double multiplier = 2.0;
  // jitter: each pause is scaled by a uniform factor in [1 - jitter, 1 + jitter].
  double jitter = 0.2;

  // Backoff returns the pause before retry number `retry` (1 for the first
  // retry, i.e. the second attempt), with `unit_random` in [0, 1] choosing
  // the point in the jitter range (0.5 = no jitter).
  absl::Duration Backoff(int retry, double unit_random) const;
};

// IsRetryable is true only for UNAVAILABLE.
inline bool IsRetryable(grpc::StatusCode code) { return code == grpc::StatusCode::UNAVAILABLE; }

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_RETRY_POLICY_H_
