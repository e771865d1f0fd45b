// TokenClient: the C++ way into token.v1.TokenService for internal services.
// Typed requests and results instead of protos, the ErrorInfo reason as an
// enum (ErrorReason), a deadline on every call, retries of UNAVAILABLE with
// exponential backoff and jitter inside that deadline (RetryPolicy), and
// single-flight refresh: concurrent Refresh calls with the same refresh token
// share one RefreshTokens RPC and all receive its result. A successor that
// answers a retry after a lost answer is held until the lost call can no
// longer reach the service (RefreshHolds), so a late copy of that call never
// looks like reuse.
//
// Usage:
//   auto client = TokenClient::Connect("127.0.0.1:50051");
//   Result<TokenPair> pair = client->Issue({.subject = "alice", .roles = {"admin"}});
//   if (!pair.ok()) return pair.error().ToString();
//   Result<AccessClaims> claims = client->Verify({.access_token = pair->access_token});
//   if (!claims.ok() && claims.error().reason == ErrorReason::TOKEN_EXPIRED) {
//     Result<TokenPair> next = client->Refresh({.refresh_token = pair->refresh_token});
//   }
//
// Step-up: a resource server demands a login at most 5 minutes old for a
// payment; after the user re-authenticated, the login service records it and
// the session's next access token (next Refresh) carries it:
//   client->Verify({.access_token = t, .max_auth_age = absl::Minutes(5)});
//     // fails UNAUTHENTICATED / INSUFFICIENT_USER_AUTHENTICATION
//   client->UpdateSession({.session_id = sid, .auth_time = absl::Now(),
//                          .amr = std::vector<std::string>{"pwd", "otp"}});
//
// Thread-safe: one TokenClient (and its channel) is meant to be shared by
// every thread of a process.
#ifndef TOKEN_CLIENT_CPP_TOKEN_CLIENT_H_
#define TOKEN_CLIENT_CPP_TOKEN_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/cpp/clock.h"
#include "client/cpp/error_reason.h"
#include "client/cpp/refresh_holds.h"
#include "client/cpp/result.h"
#include "client/cpp/retry_policy.h"
#include "client/cpp/single_flight.h"
#include "client/cpp/transport.h"
#include "grpcpp/security/credentials.h"

namespace token::client {

// SessionMetadata: kept with the session and returned by ListSessions, never
// put in a token (a device name, a login method).
using SessionMetadata = std::map<std::string, std::string>;

// ClientInfo: the end user's client, recorded with the session.
struct ClientInfo {
  std::string user_agent{};
  std::string ip_address{};
};

// TokenPair: what IssueTokens and RefreshTokens return. Both tokens are
// secrets: never log them.
struct TokenPair {
  std::string access_token{};
  absl::Time access_expires_at{};
  std::string refresh_token{};
  absl::Time refresh_expires_at{};
  std::string session_id{};
  std::string token_type{};
};

struct IssueRequest {
  std::string subject{};
  std::vector<std::string> roles{};
  // audience: empty means the service's configured default.
  std::string audience{};
  std::optional<ClientInfo> client{};
  // claims_json: custom claims as the text of a JSON object ("" = none),
  // written as top-level members of every access token of the session. Text
  // that is not a JSON object, or an integer beyond 2^53 (numbers travel as
  // doubles: send such a value as a string), fails in the client with
  // INVALID_ARGUMENT / INVALID_CLAIMS and attempts == 0. The service's own
  // rules (reserved names, size, depth) are in proto/token/v1/token.proto.
  std::string claims_json{};
  // scopes: the `scope` claim (RFC 9068), order kept, duplicates dropped.
  std::vector<std::string> scopes{};
  // auth_time: when the user last actively authenticated (not now, unless
  // they just did); sub-second parts are dropped by the service.
  std::optional<absl::Time> auth_time{};
  // amr: authentication methods (RFC 8176: "pwd", "otp", "hwk", ...).
  std::vector<std::string> amr{};
  // acr: authentication context class; "" = none.
  std::string acr{};
  SessionMetadata metadata{};
};

struct RefreshRequest {
  std::string refresh_token{};
  // client: when set, replaces the session's recorded client metadata.
  std::optional<ClientInfo> client{};
};

struct VerifyRequest {
  std::string access_token{};
  // audience: empty means the service's configured default.
  std::string audience{};
  std::vector<std::string> required_roles{};
  // required_scopes: every one must be among the token's scopes, else
  // PERMISSION_DENIED / MISSING_SCOPE.
  std::vector<std::string> required_scopes{};
  // max_auth_age: when set, the token's auth_time must be at most this old
  // (a token without one fails), else UNAUTHENTICATED /
  // INSUFFICIENT_USER_AUTHENTICATION.
  std::optional<absl::Duration> max_auth_age{};
  // acceptable_acr: when not empty, the token's acr must be one of these,
  // else UNAUTHENTICATED / INSUFFICIENT_USER_AUTHENTICATION.
  std::vector<std::string> acceptable_acr{};
};

// AccessClaims: a verified access token's claims.
struct AccessClaims {
  std::string subject{};
  std::string session_id{};
  std::vector<std::string> roles{};
  std::string audience{};
  absl::Time issued_at{};
  absl::Time expires_at{};
  std::string token_id{};
  // claims_json: the custom claims as compact JSON object text, keys sorted,
  // integral numbers as integers ("{}" when none).
  std::string claims_json = "{}";
  std::vector<std::string> scopes{};
  // auth_time: unset when the token has none.
  std::optional<absl::Time> auth_time{};
  std::vector<std::string> amr{};
  std::string acr{};
};

// SessionInfo: one session family as ListSessions reports it.
struct SessionInfo {
  std::string session_id{};
  std::string subject{};
  std::vector<std::string> roles{};
  ClientInfo client{};
  absl::Time created_at{};
  absl::Time last_used_at{};
  absl::Time expires_at{};
  absl::Time absolute_expires_at{};
  // revoked_at: unset while the session is live.
  std::optional<absl::Time> revoked_at{};
  std::string revoke_reason{};
  // What the session's access tokens carry (see AccessClaims), and its
  // metadata (never in a token).
  std::string claims_json = "{}";
  std::vector<std::string> scopes{};
  std::optional<absl::Time> auth_time{};
  std::vector<std::string> amr{};
  std::string acr{};
  SessionMetadata metadata{};
};

struct RevokeAllRequest {
  std::string subject{};
  // reason: optional free text for audit.
  std::string reason{};
  // except_session_id: "" = revoke every session of the subject.
  std::string except_session_id{};
};

// UpdateSessionRequest: the fields to change of a live session. Exactly the
// engaged fields are sent in update_mask; an engaged empty value clears the
// field (claims_json "" or "{}", an empty list, auth_time engaged with
// nullopt, acr ""). At least one field must be engaged.
struct UpdateSessionRequest {
  std::string session_id{};
  std::optional<std::vector<std::string>> roles{};
  std::optional<std::string> claims_json{};
  std::optional<std::vector<std::string>> scopes{};
  std::optional<std::optional<absl::Time>> auth_time{};
  std::optional<std::vector<std::string>> amr{};
  std::optional<std::string> acr{};
  std::optional<SessionMetadata> metadata{};
};

struct SessionPage {
  std::vector<SessionInfo> sessions{};
  // next_page_token: empty on the last page.
  std::string next_page_token{};
};

struct TokenClientOptions {
  // timeout: the deadline of a call that names none, retries included.
  absl::Duration timeout = absl::Seconds(10);
  RetryPolicy retry{};
  // clock: time source and sleeper for backoff; nullptr means the real clock.
  Clock* clock = nullptr;
  // transit_margin: how much later than the client's the service's deadline
  // of a call may end (it starts when the request arrives). A successor is
  // held until an unanswered refresh's deadline plus this margin.
  absl::Duration transit_margin = absl::Milliseconds(100);
};

class TokenClient;
using TokenClientPtr = std::unique_ptr<TokenClient>;

class TokenClient {
 public:
  // Connect opens a channel to `target` ("host:port") with `credentials`
  // (plaintext when nullptr) and returns a client over it. The connection is
  // made lazily, on the first call.
  static TokenClientPtr Connect(const std::string& target, TokenClientOptions options = {},
                                std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  // A client over any transport; tests pass a fake.
  explicit TokenClient(TokenTransportPtr transport, TokenClientOptions options = {});
  TokenClient(const TokenClient&) = delete;
  TokenClient& operator=(const TokenClient&) = delete;

  // Every call below must finish by `deadline` (default: now + options.timeout),
  // retries and backoff included, and retries only UNAVAILABLE.

  // Issue starts a new session family (IssueTokens).
  // NOTE: a retry after a response that was lost in transit starts a second
  // session; the first one is never handed out and simply expires.
  Result<TokenPair> Issue(const IssueRequest& request,
                          std::optional<absl::Time> deadline = std::nullopt);

  // Refresh rotates a refresh token (RefreshTokens). Concurrent calls with the
  // same refresh token share one RPC: one caller makes it and every caller
  // gets its result (a caller that joins and reaches its own deadline first
  // gets DEADLINE_EXCEEDED with attempts == 0). A call made after the shared
  // one finished makes a new RPC.
  //
  // After a failure without an ErrorInfo reason (no answer from the service:
  // UNAVAILABLE from the transport, DEADLINE_EXCEEDED), call Refresh again
  // with the *same* token: the service may have rotated it, and answers the
  // retry with that same successor. Such a successor is held: a Refresh that
  // presents it first waits (within its own deadline) until the unanswered
  // call's deadline plus transit_margin has passed, or fails with
  // DEADLINE_EXCEEDED and attempts == 0 if its deadline comes first.
  Result<TokenPair> Refresh(const RefreshRequest& request,
                            std::optional<absl::Time> deadline = std::nullopt);

  // Verify checks an access token online (VerifyAccess), revocation included.
  Result<AccessClaims> Verify(const VerifyRequest& request,
                              std::optional<absl::Time> deadline = std::nullopt);

  // RevokeAll revokes every session of `subject`; returns how many were live.
  Result<int64_t> RevokeAll(const std::string& subject, const std::string& reason = "",
                            std::optional<absl::Time> deadline = std::nullopt);
  // With `except_session_id` set (one of the subject's sessions, else
  // INVALID_ARGUMENT / INVALID_SESSION_ID) that session stays alive and every
  // other live one is revoked ("log out my other devices").
  Result<int64_t> RevokeAll(const RevokeAllRequest& request,
                            std::optional<absl::Time> deadline = std::nullopt);

  // RevokeSession revokes one session; false if it was already revoked or unknown.
  Result<bool> RevokeSession(const std::string& session_id, const std::string& reason = "",
                             std::optional<absl::Time> deadline = std::nullopt);

  // ListSessions returns one page of `subject`'s sessions, newest first.
  // page_size 0 means the service's default.
  Result<SessionPage> ListSessions(const std::string& subject, int page_size = 0,
                                   const std::string& page_token = "",
                                   std::optional<absl::Time> deadline = std::nullopt);

  // UpdateSession changes the engaged fields of a live session and returns
  // the session as it is afterwards. New values appear in the session's next
  // access token (its next Refresh); tokens already issued keep theirs.
  // Unknown session: NOT_FOUND / SESSION_NOT_FOUND; revoked: UNAUTHENTICATED
  // / SESSION_REVOKED. No engaged field, or claims_json that is not a JSON
  // object: INVALID_ARGUMENT, refused in the client (attempts == 0).
  // UNAVAILABLE is retried like every call: an update sets values rather
  // than adding to them, so applying it twice leaves what applying it once
  // does (an update by someone else in between is overwritten, as it would
  // be by a later call).
  Result<SessionInfo> UpdateSession(const UpdateSessionRequest& request,
                                    std::optional<absl::Time> deadline = std::nullopt);

  // RefreshWaiters returns how many Refresh calls are waiting on a shared RPC
  // for `refresh_token` (for tests and metrics).
  int RefreshWaiters(const std::string& refresh_token) const {
    return refreshes_.Followers(refresh_token);
  }

 private:
  // Attempts `attempt(deadline)` until it succeeds, fails with a code that is
  // not retryable, max_attempts is reached or the next pause would end past
  // `deadline`. Sets *attempts to the number of attempts made.
  template <typename Attempt>
  grpc::Status WithRetries(absl::Time deadline, Attempt attempt, int* attempts);

  // Call runs one RPC of the transport with WithRetries and returns its
  // response, or the error of the last attempt.
  template <typename Request, typename Response>
  Result<Response> Call(grpc::Status (TokenTransport::*rpc)(absl::Time, const Request&, Response*),
                        const Request& request, absl::Time deadline);

  absl::Time DeadlineOr(std::optional<absl::Time> deadline) const;
  Result<TokenPair> RefreshOnce(const RefreshRequest& request, absl::Time deadline);

  TokenTransportPtr transport_;
  TokenClientOptions options_;
  Clock& clock_;
  SingleFlight<std::string, Result<TokenPair>> refreshes_;
  RefreshHolds holds_;
};

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_TOKEN_CLIENT_H_
