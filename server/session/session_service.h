// SessionService: the session-family logic behind IssueTokens,
// RefreshTokens, RevokeAll, RevokeSession and ListSessions. Network-free:
// it takes plain structs, a SessionStore, the key set and a clock, so it is
// tested with a fake store and a fake clock.
//
// Usage:
//   SessionService sessions(options, store, keys, chain, clock, revocations);
//   absl::StatusOr<IssuedTokens> t = sessions.Issue(request, deadline);
//   absl::StatusOr<IssuedTokens> n = sessions.Refresh(t->refresh_token, {}, deadline);
#ifndef TOKEN_SERVER_SESSION_SESSION_SERVICE_H_
#define TOKEN_SERVER_SESSION_SESSION_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/common/clock.h"
#include "server/common/session_context.h"
#include "server/keys/key_provider.h"
#include "server/session/failure_limiter.h"
#include "server/session/refresh_token.h"
#include "server/session/request_validation.h"
#include "server/session/revocation_set.h"
#include "server/store/session_store.h"

namespace token {

struct SessionOptions {
  std::string issuer;
  std::string default_audience;
  absl::Duration access_ttl = absl::Minutes(15);
  absl::Duration refresh_idle_ttl = absl::Hours(168);
  absl::Duration refresh_absolute_ttl = absl::Hours(720);
  absl::Duration reuse_grace = absl::Seconds(10);
  RequestLimits limits;
  // Failed refreshes per session or client address (FailureLimiter).
  FailureLimiter::Options refresh_failures;
  // How far this replica's clock may be from the database's before the store
  // refuses to decide a refresh with it, and clamps its revocation times
  // (zero: no check). The maintenance loop also stops readiness beyond it.
  absl::Duration max_clock_offset = absl::ZeroDuration();
  // How far in the future an auth_time may lie (--clock-skew): the login
  // service's clock may run ahead of ours.
  absl::Duration clock_skew = absl::Seconds(30);
};

// ContextInput: a session's token context as a caller gives it, before
// validation (server/session/context_validation.h has the rules).
struct ContextInput {
  // claims: a JSON object (the API layer converted it from a Struct).
  nlohmann::json claims = nlohmann::json::object();
  std::vector<std::string> scopes;
  std::optional<absl::Time> auth_time;
  std::vector<std::string> amr;
  std::string acr;
};

struct IssueRequest {
  std::string subject;
  std::vector<std::string> roles;
  std::string audience;  // Empty: the default audience.
  ClientMetadata client;
  ContextInput context;
  SessionMetadata metadata;
};

// SessionChanges: what UpdateSession changes; an engaged member is in the
// update mask (engaged with an empty value clears the field).
struct SessionChanges {
  std::optional<std::vector<std::string>> roles;
  std::optional<nlohmann::json> claims;
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::optional<absl::Time>> auth_time;
  std::optional<std::vector<std::string>> amr;
  std::optional<std::string> acr;
  std::optional<SessionMetadata> metadata;

  bool empty() const {
    return !roles && !claims && !scopes && !auth_time && !amr && !acr && !metadata;
  }
};

// IssuedTokens: a TokenPair without its transport.
struct [[nodiscard]] IssuedTokens {
  std::string access_token;
  absl::Time access_expires_at;
  std::string refresh_token;
  absl::Time refresh_expires_at;
  std::string session_id;
};

// SessionView: one session as ListSessions shows it. Its own type, so the API
// layer converts this rather than the store's row (which also carries what
// only rotation needs, such as the generation).
struct SessionView {
  std::string session_id;
  std::string subject;
  std::vector<std::string> roles;
  ClientMetadata client;
  absl::Time created_at;
  absl::Time last_used_at;
  absl::Time expires_at;  // Idle expiry of the current refresh token.
  absl::Time absolute_expires_at;
  std::optional<absl::Time> revoked_at;  // Unset while the session is live.
  std::string revoke_reason;             // Empty while the session is live.
  TokenContext context;
  SessionMetadata metadata;
};

struct SessionPage {
  std::vector<SessionView> sessions;
  std::string next_page_token;  // Empty on the last page.
};

class SessionService {
 public:
  // `revocations` receives this replica's own revocations at once (others
  // learn them through the feed).
  SessionService(SessionOptions options, SessionStore& store, const KeyProvider& keys,
                 const RefreshSecretChain& chain, const Clock& clock, RevocationSet& revocations);

  // Issue starts a session family. INVALID_SUBJECT / INVALID_CLAIMS on bad input.
  absl::StatusOr<IssuedTokens> Issue(const IssueRequest& request, absl::Time deadline) const;

  // Refresh rotates `refresh_token` (docs/REFRESH_TOKENS.md). `client`, when set,
  // replaces the session's recorded client metadata. `peer` is the calling
  // connection's address, used for failure limiting when the client reports
  // no IP address of its own.
  absl::StatusOr<IssuedTokens> Refresh(absl::string_view refresh_token,
                                       const std::optional<ClientMetadata>& client,
                                       absl::Time deadline, absl::string_view peer = "") const;

  // RevokeAll revokes every live session of `subject`; returns how many.
  // With `except_session_id` (one of the subject's sessions, else
  // INVALID_SESSION_ID) that session stays alive and the others are revoked
  // one by one, without a subject-wide revocation.
  absl::StatusOr<int64_t> RevokeAll(const std::string& subject, const std::string& reason,
                                    absl::Time deadline,
                                    const std::string& except_session_id = "") const;

  // UpdateSession applies `changes` to a live session; the next access token
  // of the session (its next refresh) carries them. INVALID_REQUEST when
  // nothing is to change; the validation reasons of Issue; SESSION_NOT_FOUND,
  // SESSION_REVOKED, REFRESH_TOKEN_EXPIRED for a session that is not live;
  // INVALID_CLAIMS (nothing changed) when the session's access token would
  // outgrow --max-token-bytes.
  absl::StatusOr<SessionView> UpdateSession(const std::string& session_id,
                                            const SessionChanges& changes,
                                            absl::Time deadline) const;

  // RevokeSession revokes one session; false if unknown or already revoked.
  absl::StatusOr<bool> RevokeSession(const std::string& session_id, const std::string& reason,
                                     absl::Time deadline) const;

  // ListSessions pages through `subject`'s sessions, newest first. page_size 0
  // means 20; larger than 100 is capped; negative is INVALID_REQUEST.
  absl::StatusOr<SessionPage> ListSessions(const std::string& subject, int page_size,
                                           const std::string& page_token,
                                           absl::Time deadline) const;

 private:
  absl::StatusOr<IssuedTokens> MintPair(const SessionRow& session, const RefreshToken& refresh,
                                        absl::Time now) const;
  // MintAccess signs the access token `session` gets at `now` and checks it
  // against the verifier's size limit.
  absl::StatusOr<std::string> MintAccess(const SessionRow& session, absl::Time now,
                                         absl::Time* expires_at) const;
  // ValidateContext applies the rules of context_validation.h to `input`.
  absl::StatusOr<TokenContext> ValidateContext(const ContextInput& input, absl::Time now) const;
  // AuditGraceReplay records a grace retry, flagging one whose client
  // metadata differs from the row's (set by the call that rotated).
  void AuditGraceReplay(const SessionRow& session,
                        const std::optional<ClientMetadata>& client) const;
  // ForgedRefresh charges a token we did not issue to its sender's address
  // only (never to the session id it names: anyone can write a victim's id)
  // and returns REFRESH_TOKEN_INVALID, or RATE_LIMITED once the address had
  // used up its failures.
  absl::Status ForgedRefresh(const std::string& address_key, absl::Time now) const;
  // DeadSessionRefresh charges an outcome the database proved (revoked,
  // expired, reused: the session can never refresh again) to the session and
  // the address, and returns `failure`, or RATE_LIMITED once the session had
  // already used up its failures.
  absl::Status DeadSessionRefresh(const std::string& session_key, const std::string& address_key,
                                  absl::Status failure, absl::Time now) const;

  const SessionOptions options_;
  SessionStore& store_;
  const KeyProvider& keys_;
  const RefreshSecretChain& chain_;
  const Clock& clock_;
  RevocationSet& revocations_;
  // Mutable: rate state is not part of the service's logical state.
  mutable FailureLimiter refresh_failures_;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_SESSION_SERVICE_H_
