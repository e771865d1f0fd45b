#include "server/session/session_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/jwt/signer.h"
#include "server/session/context_validation.h"
#include "server/session/page_token.h"
#include "server/session/request_validation.h"

namespace token {
namespace {

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

absl::Status InvalidRefreshToken() {
  return MakeError(ErrorReason::REFRESH_TOKEN_INVALID, "refresh token is not valid");
}

absl::Status RateLimited() {
  return MakeError(ErrorReason::RATE_LIMITED,
                   "too many failed refresh attempts; retry later with a valid token");
}

SessionView ViewOf(SessionRow row) {
  return SessionView{.session_id = std::move(row.session_id),
                     .subject = std::move(row.subject),
                     .roles = std::move(row.roles),
                     .client = std::move(row.client),
                     .created_at = row.created_at,
                     .last_used_at = row.last_used_at,
                     .expires_at = row.expires_at,
                     .absolute_expires_at = row.absolute_expires_at,
                     .revoked_at = row.revoked_at,
                     .revoke_reason = std::move(row.revoke_reason),
                     .context = std::move(row.context),
                     .metadata = std::move(row.metadata)};
}

}  // namespace

void SessionService::AuditGraceReplay(const SessionRow& session,
                                      const std::optional<ClientMetadata>& client) const {
  // A retry normally comes from the client that made the winning call; one
  // from elsewhere inside the window may be a thief racing the user (it gets
  // the same successor, so the next use by either side is a plain refresh).
  std::string client_matches = "unknown";
  if (client.has_value()) {
    client_matches = client->user_agent == session.client.user_agent &&
                             client->ip_address == session.client.ip_address
                         ? "true"
                         : "false";
  }
  Audit("refresh_grace_replay", {{"subject", session.subject},
                                 {"session_id", session.session_id},
                                 {"generation", absl::StrCat(session.generation)},
                                 {"client_matches", client_matches},
                                 {"user_agent", client.has_value() ? client->user_agent : ""},
                                 {"ip_address", client.has_value() ? client->ip_address : ""}});
}

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

absl::StatusOr<std::string> SessionService::MintAccess(const SessionRow& session, absl::Time now,
                                                       absl::Time* expires_at) const {
  // Only a family started after a RevokeAll of its subject may have its
  // first token moved past that revocation (below); a family that the
  // RevokeAll should have ended must not be revived by a refresh that
  // committed just before it and mints just after.
  AccessClaims claims;
  claims.issuer = options_.issuer;
  claims.subject = session.subject;
  claims.audience = session.audience;
  claims.session_id = session.session_id;
  claims.token_id = UuidToString(NewUuidV4());
  claims.roles = session.roles;
  claims.context = session.context;
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  // iat has whole seconds and a subject revocation rejects tokens with
  // iat <= its time, so a login in the same second as a RevokeAll would get a
  // dead token. Such tokens start at the next second instead (well within the
  // clock-skew leeway on nbf).
  if (std::optional<absl::Time> revoked = revocations_.SubjectRevokedAt(session.subject);
      revoked.has_value() && claims.issued_at <= *revoked && session.created_at > *revoked) {
    claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(*revoked) + 1);
  }
  claims.not_before = claims.issued_at;
  claims.expires_at = claims.issued_at + options_.access_ttl;

  const KeySetPtr keys = keys_.Current();
  // The key in force at `now`: a scheduled handover switches exactly on time.
  absl::StatusOr<std::string> access = SignAccessToken(claims, keys->SigningKeyAt(now));
  if (!access.ok()) {
    Log(LogLevel::kError, "signing failed", {{"error", std::string(access.status().message())}});
    return MakeError(ErrorReason::SERVICE_NOT_READY, "access token could not be signed");
  }
  // The verifier refuses longer tokens: never hand one out.
  if (access->size() > options_.limits.max_access_token_bytes) {
    return MakeError(
        ErrorReason::INVALID_CLAIMS,
        absl::StrCat("the access token would be ", access->size(), " bytes, over the limit of ",
                     options_.limits.max_access_token_bytes,
                     " (--max-token-bytes): fewer or shorter roles, claims or scopes"));
  }
  *expires_at = claims.expires_at;
  return access;
}

absl::StatusOr<IssuedTokens> SessionService::MintPair(const SessionRow& session,
                                                      const RefreshToken& refresh,
                                                      absl::Time now) const {
  IssuedTokens out;
  absl::StatusOr<std::string> access = MintAccess(session, now, &out.access_expires_at);
  if (!access.ok()) return access.status();
  out.access_token = *std::move(access);
  out.refresh_token = FormatRefreshToken(refresh);
  out.refresh_expires_at = session.expires_at;
  out.session_id = session.session_id;
  return out;
}

absl::StatusOr<TokenContext> SessionService::ValidateContext(const ContextInput& input,
                                                             absl::Time now) const {
  TokenContext context;
  absl::StatusOr<std::string> claims =
      CanonicalClaims(input.claims, {.max_claims_bytes = options_.limits.max_claims_bytes});
  if (!claims.ok()) return claims.status();
  context.claims = *std::move(claims);
  absl::StatusOr<std::vector<std::string>> scopes =
      NormalizeScopes(input.scopes, ErrorReason::INVALID_CLAIMS);
  if (!scopes.ok()) return scopes.status();
  context.scopes = *std::move(scopes);
  absl::StatusOr<std::optional<absl::Time>> auth_time =
      NormalizeAuthTime(input.auth_time, now, options_.clock_skew);
  if (!auth_time.ok()) return auth_time.status();
  context.auth_time = *auth_time;
  absl::StatusOr<std::vector<std::string>> amr = NormalizeAmr(input.amr);
  if (!amr.ok()) return amr.status();
  context.amr = *std::move(amr);
  if (absl::Status s = ValidateAcr(input.acr, ErrorReason::INVALID_CLAIMS); !s.ok()) return s;
  context.acr = input.acr;
  return context;
}

absl::StatusOr<IssuedTokens> SessionService::Issue(const IssueRequest& request,
                                                   absl::Time deadline) const {
  if (absl::Status s = ValidateSubject(request.subject); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> roles =
      NormalizeRoles(request.roles, ErrorReason::INVALID_CLAIMS, options_.limits);
  if (!roles.ok()) return roles.status();
  const std::string& audience =
      request.audience.empty() ? options_.default_audience : request.audience;
  if (absl::Status s = ValidateAudience(audience, ErrorReason::INVALID_CLAIMS); !s.ok()) return s;
  if (absl::Status s = ValidateClient(request.client, ErrorReason::INVALID_CLAIMS, options_.limits);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateMetadata(request.metadata); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  absl::StatusOr<TokenContext> context = ValidateContext(request.context, now);
  if (!context.ok()) return context.status();

  const Uuid id = NewUuidV4();
  const RefreshToken refresh = chain_.NewToken(id);

  SessionRow session;
  session.session_id = UuidToString(id);
  session.subject = request.subject;
  session.roles = *std::move(roles);
  session.audience = audience;
  session.client = request.client;
  session.context = *std::move(context);
  session.metadata = request.metadata;
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
  row.context = session.context;
  row.metadata = session.metadata;
  row.token_hash = RefreshSecretChain::StoredHash(refresh);
  row.created_at = now;
  row.expires_at = session.expires_at;
  row.absolute_expires_at = session.absolute_expires_at;
  if (absl::Status s = store_.CreateSession(row, deadline); !s.ok()) return s;
  return tokens;
}

absl::Status SessionService::ForgedRefresh(const std::string& address_key, absl::Time now) const {
  const bool limited = refresh_failures_.Exhausted(address_key, now);
  refresh_failures_.RecordFailure(address_key, now);
  return limited ? RateLimited() : InvalidRefreshToken();
}

absl::Status SessionService::DeadSessionRefresh(const std::string& session_key,
                                                const std::string& address_key,
                                                absl::Status failure, absl::Time now) const {
  // A shared address (a NAT, a gateway) must not turn a genuine token's
  // precise answer into RATE_LIMITED: the address is charged, but only
  // forgeries are refused by it.
  refresh_failures_.RecordFailure(address_key, now);
  const bool limited = refresh_failures_.Exhausted(session_key, now);
  refresh_failures_.RecordFailure(session_key, now);
  return limited ? RateLimited() : failure;
}

absl::StatusOr<IssuedTokens> SessionService::Refresh(absl::string_view refresh_token,
                                                     const std::optional<ClientMetadata>& client,
                                                     absl::Time deadline,
                                                     absl::string_view peer) const {
  if (client.has_value()) {
    if (absl::Status s = ValidateClient(*client, ErrorReason::INVALID_REQUEST, options_.limits);
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
    return ForgedRefresh(address_key, clock_.Now());
  }
  const std::string session_key = "session:" + UuidToString(presented->session_id);
  // Only outcomes the database proved (revoked, reused, expired: the session
  // is dead for good) are charged to a session, so this never refuses a
  // refresh that could succeed.
  if (refresh_failures_.Exhausted(session_key, clock_.Now())) {
    return MakeError(ErrorReason::RATE_LIMITED,
                     "too many failed refresh attempts for this session; retry later");
  }

  const absl::Time now = clock_.Now();
  RotateRequest request;
  request.session_id = UuidToString(presented->session_id);
  // The token is authentic, so it is current, the grace parent, or an older
  // copy (reuse), whatever its age: its own hash and its successor's decide.
  request.candidate_hashes = chain_.CandidateHashes(*presented, 1);
  request.now = now;
  request.reuse_grace = options_.reuse_grace;
  request.idle_ttl = options_.refresh_idle_ttl;
  request.client = client;
  request.max_clock_offset = options_.max_clock_offset;
  absl::StatusOr<RotateResult> result = store_.RotateSession(request, deadline);
  if (!result.ok()) return result.status();

  switch (result->outcome) {
    case RotateOutcome::kGraceRetry:
      AuditGraceReplay(result->session, client);
      [[fallthrough]];
    case RotateOutcome::kRotated:
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
      return DeadSessionRefresh(
          session_key, address_key,
          MakeError(ErrorReason::REFRESH_TOKEN_REUSED,
                    "refresh token was already used; the session has been revoked"),
          now);
    }
    case RotateOutcome::kRevoked:
      return DeadSessionRefresh(session_key, address_key,
                                MakeError(ErrorReason::SESSION_REVOKED, "session has been revoked"),
                                now);
    case RotateOutcome::kExpired:
      return DeadSessionRefresh(
          session_key, address_key,
          MakeError(ErrorReason::REFRESH_TOKEN_EXPIRED, "refresh token has expired"), now);
    case RotateOutcome::kNotFound:
      return InvalidRefreshToken();
    case RotateOutcome::kClockOffset:
      Log(LogLevel::kError, "refresh refused: this replica's clock is off the database's",
          {{"max_clock_offset", absl::FormatDuration(options_.max_clock_offset)}});
      return MakeError(ErrorReason::SERVICE_NOT_READY,
                       "this replica's clock is too far from the database's; retry");
  }
  return InvalidRefreshToken();
}

absl::StatusOr<int64_t> SessionService::RevokeAll(const std::string& subject,
                                                  const std::string& reason, absl::Time deadline,
                                                  const std::string& except_session_id) const {
  if (absl::Status s = ValidateSubject(subject); !s.ok()) return s;
  if (absl::Status s = ValidateRevokeReason(reason); !s.ok()) return s;
  std::optional<std::string> except;
  if (!except_session_id.empty()) {
    std::optional<Uuid> id = ParseUuid(except_session_id);
    if (!id.has_value()) {
      return MakeError(ErrorReason::INVALID_SESSION_ID,
                       "except_session_id must be a canonical UUID");
    }
    except = UuidToString(*id);
  }
  absl::StatusOr<SubjectRevocation> revoked = store_.RevokeSubject(
      subject, reason, {clock_.Now(), options_.max_clock_offset}, except, deadline);
  if (!revoked.ok()) return revoked.status();
  // The recorded times, which the store may have clamped to its own clock.
  if (except.has_value()) {
    for (const std::string& id : revoked->session_ids) {
      revocations_.AddSession(id, revoked->revoked_at);
    }
  } else {
    revocations_.AddSubject(subject, revoked->revoked_at);
  }
  Audit("revoke_all", {{"subject", subject},
                       {"reason", reason},
                       {"except_session_id", except.value_or("")},
                       {"revoked_sessions", absl::StrCat(revoked->sessions)}});
  return revoked->sessions;
}

absl::StatusOr<SessionView> SessionService::UpdateSession(const std::string& session_id,
                                                          const SessionChanges& changes,
                                                          absl::Time deadline) const {
  std::optional<Uuid> id = ParseUuid(session_id);
  if (!id.has_value()) {
    return MakeError(ErrorReason::INVALID_SESSION_ID, "session_id must be a canonical UUID");
  }
  if (changes.empty()) {
    return MakeError(ErrorReason::INVALID_REQUEST, "update_mask must name at least one field");
  }
  const absl::Time now = clock_.Now();
  SessionUpdate update;
  update.session_id = UuidToString(*id);
  update.now = now;
  if (changes.roles.has_value()) {
    absl::StatusOr<std::vector<std::string>> roles =
        NormalizeRoles(*changes.roles, ErrorReason::INVALID_CLAIMS, options_.limits);
    if (!roles.ok()) return roles.status();
    update.roles = *std::move(roles);
  }
  if (changes.claims.has_value()) {
    absl::StatusOr<std::string> claims =
        CanonicalClaims(*changes.claims, {.max_claims_bytes = options_.limits.max_claims_bytes});
    if (!claims.ok()) return claims.status();
    update.claims = *std::move(claims);
  }
  if (changes.scopes.has_value()) {
    absl::StatusOr<std::vector<std::string>> scopes =
        NormalizeScopes(*changes.scopes, ErrorReason::INVALID_CLAIMS);
    if (!scopes.ok()) return scopes.status();
    update.scopes = *std::move(scopes);
  }
  if (changes.auth_time.has_value()) {
    absl::StatusOr<std::optional<absl::Time>> auth_time =
        NormalizeAuthTime(*changes.auth_time, now, options_.clock_skew);
    if (!auth_time.ok()) return auth_time.status();
    update.auth_time = *auth_time;
  }
  if (changes.amr.has_value()) {
    absl::StatusOr<std::vector<std::string>> amr = NormalizeAmr(*changes.amr);
    if (!amr.ok()) return amr.status();
    update.amr = *std::move(amr);
  }
  if (changes.acr.has_value()) {
    if (absl::Status s = ValidateAcr(*changes.acr, ErrorReason::INVALID_CLAIMS); !s.ok()) return s;
    update.acr = *changes.acr;
  }
  if (changes.metadata.has_value()) {
    if (absl::Status s = ValidateMetadata(*changes.metadata); !s.ok()) return s;
    update.metadata = *changes.metadata;
  }
  // The merged row must still make a token the verifier accepts; checked
  // inside the store's transaction, so a refused update changes nothing.
  const auto token_fits = [this, now](const SessionRow& row) -> absl::Status {
    absl::Time expires_at;
    return MintAccess(row, now, &expires_at).status();
  };
  absl::StatusOr<UpdateResult> result = store_.UpdateSession(update, token_fits, deadline);
  if (!result.ok()) return result.status();
  switch (result->outcome) {
    case UpdateOutcome::kUpdated:
      break;
    case UpdateOutcome::kNotFound:
      return MakeError(ErrorReason::SESSION_NOT_FOUND, "no such session");
    case UpdateOutcome::kRevoked:
      return MakeError(ErrorReason::SESSION_REVOKED, "session has been revoked");
    case UpdateOutcome::kExpired:
      return MakeError(ErrorReason::REFRESH_TOKEN_EXPIRED, "session has expired");
  }
  std::vector<std::string> fields;
  if (update.roles) fields.push_back("roles");
  if (update.claims) fields.push_back("claims");
  if (update.scopes) fields.push_back("scopes");
  if (update.auth_time) fields.push_back("auth_time");
  if (update.amr) fields.push_back("amr");
  if (update.acr) fields.push_back("acr");
  if (update.metadata) fields.push_back("metadata");
  Audit("session_updated", {{"subject", result->session.subject},
                            {"session_id", result->session.session_id},
                            {"fields", absl::StrJoin(fields, ",")}});
  return ViewOf(std::move(result->session));
}

absl::StatusOr<bool> SessionService::RevokeSession(const std::string& session_id,
                                                   const std::string& reason,
                                                   absl::Time deadline) const {
  std::optional<Uuid> id = ParseUuid(session_id);
  if (!id.has_value()) {
    return MakeError(ErrorReason::INVALID_SESSION_ID, "session_id must be a canonical UUID");
  }
  if (absl::Status s = ValidateRevokeReason(reason); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  const std::string canonical = UuidToString(*id);
  std::string subject;
  absl::StatusOr<bool> revoked =
      store_.RevokeSession(canonical, reason, {now, options_.max_clock_offset}, deadline, &subject);
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
    return MakeError(ErrorReason::INVALID_REQUEST, "page_size must not be negative");
  const int limit = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  std::optional<SessionCursor> after;
  if (!page_token.empty()) {
    after = DecodePageToken(subject, page_token);
    if (!after.has_value()) {
      return MakeError(ErrorReason::INVALID_PAGE_TOKEN,
                       "page_token was not issued by ListSessions for this subject");
    }
  }
  // One extra row tells whether another page exists.
  absl::StatusOr<std::vector<SessionRow>> rows =
      store_.ListSessions(subject, limit + 1, after, deadline);
  if (!rows.ok()) return rows.status();
  SessionPage page;
  if (static_cast<int>(rows->size()) > limit) {
    rows->resize(limit);
    const SessionRow& last = rows->back();
    page.next_page_token = EncodePageToken(subject, {last.created_at, last.session_id});
  }
  page.sessions.reserve(rows->size());
  for (SessionRow& row : *rows) page.sessions.push_back(ViewOf(std::move(row)));
  return page;
}

}  // namespace token
