#include "server/session/session_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/jwt/signer.h"
#include "server/session/page_token.h"
#include "server/session/request_validation.h"

namespace token {
namespace {

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

absl::Status InvalidRefreshToken() {
  return MakeError(ErrorReason::kRefreshTokenInvalid, "refresh token is not valid");
}

}  // namespace

SessionService::SessionService(SessionOptions options, SessionStore& store, const KeyProvider& keys,
                               const RefreshSecretChain& chain, const Clock& clock,
                               RevocationSet& revocations)
    : options_(std::move(options)),
      store_(store),
      keys_(keys),
      chain_(chain),
      clock_(clock),
      revocations_(revocations),
      refresh_failures_(options_.refresh_failures) {}

absl::StatusOr<IssuedTokens> SessionService::MintPair(const SessionRow& session,
                                                      const RefreshToken& refresh,
                                                      absl::Time now) const {
  AccessClaims claims;
  claims.issuer = options_.issuer;
  claims.subject = session.subject;
  claims.audience = session.audience;
  claims.session_id = session.session_id;
  claims.token_id = UuidToString(NewUuidV4());
  claims.roles = session.roles;
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  // iat has whole seconds and a subject revocation rejects tokens with
  // iat <= its time, so a login in the same second as a RevokeAll would get a
  // dead token. Such tokens start at the next second instead (well within the
  // clock-skew leeway on nbf).
  if (std::optional<absl::Time> revoked = revocations_.SubjectRevokedAt(session.subject);
      revoked.has_value() && claims.issued_at <= *revoked) {
    claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(*revoked) + 1);
  }
  claims.not_before = claims.issued_at;
  claims.expires_at = claims.issued_at + options_.access_ttl;

  const KeySetPtr keys = keys_.Current();
  // The key in force at `now`: a scheduled handover switches exactly on time.
  absl::StatusOr<std::string> access = SignAccessToken(claims, keys->SigningKeyAt(now));
  if (!access.ok()) {
    Log(LogLevel::kError, "signing failed", {{"error", std::string(access.status().message())}});
    return MakeError(ErrorReason::kServiceNotReady, "access token could not be signed");
  }
  IssuedTokens out;
  out.access_token = *std::move(access);
  out.access_expires_at = claims.expires_at;
  out.refresh_token = FormatRefreshToken(refresh);
  out.refresh_expires_at = session.expires_at;
  out.session_id = session.session_id;
  return out;
}

absl::StatusOr<IssuedTokens> SessionService::Issue(const IssueRequest& request,
                                                   absl::Time deadline) const {
  if (absl::Status s = ValidateSubject(request.subject); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> roles =
      NormalizeRoles(request.roles, ErrorReason::kInvalidClaims, options_.limits);
  if (!roles.ok()) return roles.status();
  const std::string& audience =
      request.audience.empty() ? options_.default_audience : request.audience;
  if (absl::Status s = ValidateAudience(audience, ErrorReason::kInvalidClaims); !s.ok()) return s;
  if (absl::Status s = ValidateClient(request.client, ErrorReason::kInvalidClaims, options_.limits);
      !s.ok()) {
    return s;
  }

  const absl::Time now = clock_.Now();
  const Uuid id = NewUuidV4();
  const RefreshToken refresh = chain_.NewToken(id);

  SessionRow session;
  session.session_id = UuidToString(id);
  session.subject = request.subject;
  session.roles = *std::move(roles);
  session.audience = audience;
  session.client = request.client;
  session.created_at = now;
  session.last_used_at = now;
  session.absolute_expires_at = now + options_.refresh_absolute_ttl;
  session.expires_at = std::min(now + options_.refresh_idle_ttl, session.absolute_expires_at);

  // Sign before writing: a failure leaves no orphan row behind.
  absl::StatusOr<IssuedTokens> tokens = MintPair(session, refresh, now);
  if (!tokens.ok()) return tokens.status();

  NewSession row;
  row.session_id = session.session_id;
  row.subject = session.subject;
  row.roles = session.roles;
  row.audience = session.audience;
  row.client = session.client;
  row.token_hash = RefreshSecretChain::StoredHash(refresh);
  row.created_at = now;
  row.expires_at = session.expires_at;
  row.absolute_expires_at = session.absolute_expires_at;
  if (absl::Status s = store_.CreateSession(row, deadline); !s.ok()) return s;
  return tokens;
}

absl::Status SessionService::RefreshFailed(const std::string& session_key,
                                           const std::string& address_key, absl::Status failure,
                                           absl::Time now) const {
  // A shared address (a NAT, a gateway) must not turn a genuine token's
  // precise answer into RATE_LIMITED: only forgeries are limited by address.
  const bool forged = ReasonOf(failure) == ErrorReason::kRefreshTokenInvalid;
  bool limited = forged && refresh_failures_.Exhausted(address_key, now);
  refresh_failures_.RecordFailure(address_key, now);
  if (!session_key.empty()) {
    limited = refresh_failures_.Exhausted(session_key, now) || limited;
    refresh_failures_.RecordFailure(session_key, now);
  }
  if (!limited) return failure;
  return MakeError(ErrorReason::kRateLimited,
                   "too many failed refresh attempts; retry later with a valid token");
}

absl::StatusOr<IssuedTokens> SessionService::Refresh(absl::string_view refresh_token,
                                                     const std::optional<ClientMetadata>& client,
                                                     absl::Time deadline,
                                                     absl::string_view peer) const {
  if (client.has_value()) {
    if (absl::Status s = ValidateClient(*client, ErrorReason::kInvalidRequest, options_.limits);
        !s.ok()) {
      return s;
    }
  }
  const std::string address_key = absl::StrCat(
      "address:",
      client.has_value() && !client->ip_address.empty() ? client->ip_address : std::string(peer));
  std::optional<RefreshToken> presented = ParseRefreshToken(refresh_token);
  // A token without our tag was never issued here: refused without any
  // database work, and it can never count as reuse.
  if (!presented.has_value() || !chain_.IsAuthentic(*presented)) {
    const std::string session_key =
        presented.has_value() ? "session:" + UuidToString(presented->session_id) : "";
    return RefreshFailed(session_key, address_key, InvalidRefreshToken(), clock_.Now());
  }
  const std::string session_key = "session:" + UuidToString(presented->session_id);
  // Only dead sessions (revoked, reused, expired) are ever charged for an
  // authentic token, so this never refuses a refresh that could succeed.
  if (refresh_failures_.Exhausted(session_key, clock_.Now())) {
    return MakeError(ErrorReason::kRateLimited,
                     "too many failed refresh attempts for this session; retry later");
  }

  const absl::Time now = clock_.Now();
  RotateRequest request;
  request.session_id = UuidToString(presented->session_id);
  request.candidate_hashes = chain_.CandidateHashes(*presented, kReuseDetectionDepth);
  request.now = now;
  request.reuse_grace = options_.reuse_grace;
  request.idle_ttl = options_.refresh_idle_ttl;
  request.client = client;
  absl::StatusOr<RotateResult> result = store_.RotateSession(request, deadline);
  if (!result.ok()) return result.status();

  switch (result->outcome) {
    case RotateOutcome::kRotated:
    case RotateOutcome::kGraceRetry:
      // Both hand out the presented token's successor: the grace retry
      // re-derives exactly the token the winning call returned.
      return MintPair(result->session, chain_.Successor(*presented), now);
    case RotateOutcome::kReuseDetected: {
      const SessionRow& s = result->session;
      revocations_.AddSession(s.session_id, s.revoked_at.value_or(now));
      Audit("refresh_token_reused",
            {{"subject", s.subject},
             {"session_id", s.session_id},
             {"reason", "refresh_token_reused"},
             {"generation", absl::StrCat(s.generation)},
             {"user_agent", client.has_value() ? client->user_agent : s.client.user_agent},
             {"ip_address", client.has_value() ? client->ip_address : s.client.ip_address}});
      return RefreshFailed(
          session_key, address_key,
          MakeError(ErrorReason::kRefreshTokenReused,
                    "refresh token was already used; the session has been revoked"),
          now);
    }
    case RotateOutcome::kRevoked:
      return RefreshFailed(session_key, address_key,
                           MakeError(ErrorReason::kSessionRevoked, "session has been revoked"),
                           now);
    case RotateOutcome::kExpired:
      return RefreshFailed(
          session_key, address_key,
          MakeError(ErrorReason::kRefreshTokenExpired, "refresh token has expired"), now);
    case RotateOutcome::kNotFound:
      return InvalidRefreshToken();
  }
  return InvalidRefreshToken();
}

absl::StatusOr<int64_t> SessionService::RevokeAll(const std::string& subject,
                                                  const std::string& reason,
                                                  absl::Time deadline) const {
  if (absl::Status s = ValidateSubject(subject); !s.ok()) return s;
  if (absl::Status s = ValidateRevokeReason(reason); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  absl::StatusOr<int64_t> revoked = store_.RevokeSubject(subject, reason, now, deadline);
  if (!revoked.ok()) return revoked.status();
  revocations_.AddSubject(subject, now);
  Audit("revoke_all",
        {{"subject", subject}, {"reason", reason}, {"revoked_sessions", absl::StrCat(*revoked)}});
  return revoked;
}

absl::StatusOr<bool> SessionService::RevokeSession(const std::string& session_id,
                                                   const std::string& reason,
                                                   absl::Time deadline) const {
  std::optional<Uuid> id = ParseUuid(session_id);
  if (!id.has_value()) {
    return MakeError(ErrorReason::kInvalidSessionId, "session_id must be a canonical UUID");
  }
  if (absl::Status s = ValidateRevokeReason(reason); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  const std::string canonical = UuidToString(*id);
  std::string subject;
  absl::StatusOr<bool> revoked = store_.RevokeSession(canonical, reason, now, deadline, &subject);
  if (!revoked.ok()) return revoked.status();
  if (*revoked) {
    revocations_.AddSession(canonical, now);
    Audit("revoke_session", {{"subject", subject}, {"session_id", canonical}, {"reason", reason}});
  }
  return revoked;
}

absl::StatusOr<SessionPage> SessionService::ListSessions(const std::string& subject, int page_size,
                                                         const std::string& page_token,
                                                         absl::Time deadline) const {
  if (absl::Status s = ValidateSubject(subject); !s.ok()) return s;
  if (page_size < 0)
    return MakeError(ErrorReason::kInvalidRequest, "page_size must not be negative");
  const int limit = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  std::optional<SessionCursor> after;
  if (!page_token.empty()) {
    after = DecodePageToken(subject, page_token);
    if (!after.has_value()) {
      return MakeError(ErrorReason::kInvalidPageToken,
                       "page_token was not issued by ListSessions for this subject");
    }
  }
  // One extra row tells whether another page exists.
  absl::StatusOr<std::vector<SessionRow>> rows =
      store_.ListSessions(subject, limit + 1, after, deadline);
  if (!rows.ok()) return rows.status();
  SessionPage page;
  page.sessions = *std::move(rows);
  if (static_cast<int>(page.sessions.size()) > limit) {
    page.sessions.resize(limit);
    const SessionRow& last = page.sessions.back();
    page.next_page_token = EncodePageToken(subject, {last.created_at, last.session_id});
  }
  return page;
}

}  // namespace token
