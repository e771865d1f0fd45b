#include "server/store/pg_session_store.h"

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/store/pg_rows.h"
#include "server/store/store_sql.h"

namespace token {
namespace {

// Every write is one statement (a stored function or one statement with
// CTEs), atomic on its own: running it without BEGIN/COMMIT makes each call
// one database round trip. Statement names label them in logs.
constexpr char kInsertSessionName[] = "insert_session";
constexpr char kRotateSessionName[] = "rotate_session";
constexpr char kRevokeSessionName[] = "revoke_session";
constexpr char kRevokeSubjectName[] = "revoke_subject";
constexpr char kRevokeSubjectExceptName[] = "revoke_subject_except";
constexpr char kUpdateSessionName[] = "update_session";
constexpr char kLockSessionName[] = "lock_session";
constexpr char kListSessionsName[] = "list_sessions";
constexpr char kLoadRevocationsName[] = "load_revocations";
constexpr char kSweepExpiredName[] = "sweep_expired";
constexpr char kSweepSubjectRevocationsName[] = "sweep_subject_revocations";
constexpr char kPingName[] = "ping";
constexpr char kDatabaseClockName[] = "database_clock";

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

// Text lists (roles, scopes, amr) travel as JSON arrays, the metadata map as
// a JSON object: one parameter each, whatever they hold.
std::string StringsJson(const std::vector<std::string>& values) {
  return nlohmann::json(values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string MetadataJson(const SessionMetadata& metadata) {
  return nlohmann::json(metadata).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> ParseStrings(const std::string& json_text) {
  std::vector<std::string> values;
  const nlohmann::json parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (!parsed.is_array()) return values;
  for (const auto& value : parsed) {
    if (value.is_string()) values.push_back(value.get<std::string>());
  }
  return values;
}

SessionMetadata ParseMetadata(const std::string& json_text) {
  SessionMetadata metadata;
  const nlohmann::json parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (!parsed.is_object()) return metadata;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_string()) metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

// libpqxx 6 passes a null pointer as SQL NULL.
const char* OrNull(const std::optional<std::string>& value) {
  return value.has_value() ? value->c_str() : nullptr;
}

// A bytea[] literal: {"\\x…","\\x…"} (the backslash is escaped for the array
// parser).
std::string ByteaArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", "\"\\\\x", absl::BytesToHexString(values[i]), "\"");
  }
  out += "}";
  return out;
}

// Reads the session columns by name: sql/session_columns.sql aliases them (for
// list_sessions.sql, lock_session.sql and update_session.sql), and
// token_rotate_session_context's RETURNS TABLE names them the same, so a
// reordered or added column cannot shift a value into the wrong field.
SessionRow ReadSession(const pqxx::row& row) {
  SessionRow s;
  s.session_id = row["session_id"].as<std::string>();
  s.subject = row["subject"].as<std::string>();
  s.roles = ParseStrings(row["roles"].as<std::string>());
  s.audience = row["audience"].as<std::string>();
  s.client.user_agent = row["user_agent"].as<std::string>();
  s.client.ip_address = row["ip_address"].as<std::string>();
  s.generation = row["generation"].as<int64_t>();
  s.created_at = FromMicros(row["created_at"].as<int64_t>());
  s.last_used_at = FromMicros(row["last_used_at"].as<int64_t>());
  s.expires_at = FromMicros(row["expires_at"].as<int64_t>());
  s.absolute_expires_at = FromMicros(row["absolute_expires_at"].as<int64_t>());
  const pqxx::field revoked_at = row["revoked_at"];
  if (!revoked_at.is_null()) s.revoked_at = FromMicros(revoked_at.as<int64_t>());
  s.revoke_reason = row["revoke_reason"].as<std::string>();
  // Claims are stored as written (a json column): already canonical.
  s.context.claims = row["claims"].as<std::string>();
  s.context.scopes = ParseStrings(row["scopes"].as<std::string>());
  const pqxx::field auth_time = row["auth_time"];
  if (!auth_time.is_null()) s.context.auth_time = FromMicros(auth_time.as<int64_t>());
  s.context.amr = ParseStrings(row["amr"].as<std::string>());
  s.context.acr = row["acr"].as<std::string>();
  s.metadata = ParseMetadata(row["metadata"].as<std::string>());
  return s;
}

// Outcome of UpdateSession for the locked row (as lock_session.sql reads it).
UpdateOutcome LockedOutcome(const SessionRow& row, absl::Time now) {
  if (row.revoked_at.has_value()) return UpdateOutcome::kRevoked;
  if (now >= row.expires_at || now >= row.absolute_expires_at) return UpdateOutcome::kExpired;
  return UpdateOutcome::kUpdated;
}

absl::Status NotASessionOfSubject() {
  return MakeError(ErrorReason::INVALID_SESSION_ID,
                   "except_session_id is not a session of this subject");
}

// ParseOutcome maps token_rotate_session's outcome; nullopt for one this
// release does not know (a newer or altered schema), which must not be
// mistaken for any outcome, least of all "not found".
std::optional<RotateOutcome> ParseOutcome(const std::string& outcome) {
  if (outcome == "rotated") return RotateOutcome::kRotated;
  if (outcome == "grace") return RotateOutcome::kGraceRetry;
  if (outcome == "reused") return RotateOutcome::kReuseDetected;
  if (outcome == "revoked") return RotateOutcome::kRevoked;
  if (outcome == "expired") return RotateOutcome::kExpired;
  if (outcome == "not_found") return RotateOutcome::kNotFound;
  if (outcome == "clock_offset") return RotateOutcome::kClockOffset;
  return std::nullopt;
}

// WithSessionColumns writes sql/session_columns.sql, the one select-list
// ReadSession reads, where `statement` names it.
std::string WithSessionColumns(absl::string_view statement) {
  return absl::StrReplaceAll(statement, {{"{session_columns}", sql::kSessionColumns}});
}

}  // namespace

std::shared_ptr<PgSessionStore> PgSessionStore::Create(const std::string& conninfo, int pool_size) {
  PgPool::Options options;
  options.conninfo = conninfo;
  options.size = pool_size;
  options.statements = {
      {kInsertSessionName, std::string(sql::kInsertSession)},
      {kRotateSessionName, std::string(sql::kRotateSession)},
      {kRevokeSessionName, std::string(sql::kRevokeSession)},
      {kRevokeSubjectName, std::string(sql::kRevokeSubject)},
      {kRevokeSubjectExceptName, std::string(sql::kRevokeSubjectExcept)},
      {kLockSessionName, WithSessionColumns(sql::kLockSession)},
      {kUpdateSessionName, WithSessionColumns(sql::kUpdateSession)},
      {kListSessionsName, WithSessionColumns(sql::kListSessions)},
      {kLoadRevocationsName, std::string(sql::kLoadRevocations)},
      {kSweepExpiredName, std::string(sql::kSweepExpired)},
      {kSweepSubjectRevocationsName, std::string(sql::kSweepSubjectRevocations)},
      {kPingName, std::string(sql::kPing)},
      {kDatabaseClockName, std::string(sql::kDatabaseClock)},
  };
  return std::make_shared<PgSessionStore>(std::move(options));
}

PgSessionStore::PgSessionStore(PgPool::Options options) : pool_(std::move(options)) {}

absl::Status PgSessionStore::CreateSession(const NewSession& session, absl::Time deadline) {
  return pool_.Run(kInsertSessionName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kInsertSessionName);
    const TokenContext& context = session.context;
    std::optional<std::string> auth_time;
    if (context.auth_time.has_value()) auth_time = std::to_string(Micros(*context.auth_time));
    tx.exec_prepared0(kInsertSessionName, session.session_id, session.subject,
                      StringsJson(session.roles), session.audience, session.client.user_agent,
                      session.client.ip_address, absl::BytesToHexString(session.token_hash),
                      Micros(session.created_at), Micros(session.expires_at),
                      Micros(session.absolute_expires_at), context.claims,
                      StringsJson(context.scopes), OrNull(auth_time), StringsJson(context.amr),
                      context.acr, MetadataJson(session.metadata));
    return absl::OkStatus();
  });
}

absl::StatusOr<RotateResult> PgSessionStore::RotateSession(const RotateRequest& request,
                                                           absl::Time deadline) {
  RotateResult result;
  absl::Status status = pool_.Run(kRotateSessionName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kRotateSessionName);
    const ClientMetadata client = request.client.value_or(ClientMetadata{});
    const pqxx::row row = tx.exec_prepared1(
        kRotateSessionName, request.session_id, ByteaArrayLiteral(request.candidate_hashes),
        Micros(request.now), Micros(request.reuse_grace), Micros(request.idle_ttl),
        request.client.has_value(), client.user_agent, client.ip_address,
        Micros(request.max_clock_offset));
    result = RotateResult{};
    const std::string outcome_name = row["outcome"].as<std::string>();
    const std::optional<RotateOutcome> outcome = ParseOutcome(outcome_name);
    if (!outcome.has_value()) {
      // The outcome is a fixed word from the schema, not request data.
      Log(LogLevel::kError, "unknown rotate outcome",
          {{"txn", std::string(kRotateSessionName)}, {"outcome", outcome_name.substr(0, 64)}});
      return absl::InternalError("unknown rotate outcome");
    }
    result.outcome = *outcome;
    if (result.outcome != RotateOutcome::kNotFound &&
        result.outcome != RotateOutcome::kClockOffset) {
      result.session = ReadSession(row);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<SubjectRevocation> PgSessionStore::RevokeSubject(
    const std::string& subject, const std::string& reason, const WriteTime& at,
    const std::optional<std::string>& except_session_id, absl::Time deadline) {
  if (except_session_id.has_value()) {
    return RevokeSubjectExcept(subject, reason, at, *except_session_id, deadline);
  }
  SubjectRevocation revoked;
  absl::Status status = pool_.Run(kRevokeSubjectName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kRevokeSubjectName);
    const pqxx::row row = tx.exec_prepared1(kRevokeSubjectName, subject, reason, Micros(at.now),
                                            Micros(at.max_clock_offset));
    revoked.sessions = row["revoked_sessions"].as<int64_t>();
    revoked.revoked_at = FromMicros(row["revoked_at"].as<int64_t>());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return revoked;
}

absl::StatusOr<SubjectRevocation> PgSessionStore::RevokeSubjectExcept(
    const std::string& subject, const std::string& reason, const WriteTime& at,
    const std::string& except_session_id, absl::Time deadline) {
  // Not a UUID: no session of anyone (and the ::uuid cast would fail).
  if (!ParseUuid(except_session_id).has_value()) return NotASessionOfSubject();
  SubjectRevocation revoked;
  bool kept = false;
  absl::Status status = pool_.Run(kRevokeSubjectExceptName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kRevokeSubjectExceptName);
    const pqxx::row row =
        tx.exec_prepared1(kRevokeSubjectExceptName, subject, reason, Micros(at.now),
                          Micros(at.max_clock_offset), except_session_id);
    kept = row["kept"].as<int64_t>() > 0;
    revoked = SubjectRevocation{};
    revoked.revoked_at = FromMicros(row["revoked_at"].as<int64_t>());
    revoked.session_ids = ParseStrings(row["session_ids"].as<std::string>());
    std::sort(revoked.session_ids.begin(), revoked.session_ids.end());
    revoked.sessions = static_cast<int64_t>(revoked.session_ids.size());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!kept) return NotASessionOfSubject();
  return revoked;
}

absl::StatusOr<UpdateResult> PgSessionStore::UpdateSession(const SessionUpdate& update,
                                                           const UpdateCheck& check,
                                                           absl::Time deadline) {
  // Not a UUID: no such session (and the ::uuid cast would fail).
  if (!ParseUuid(update.session_id).has_value()) return UpdateResult{};
  UpdateResult result;
  // The check's verdict, kept apart from the pool's status so that an
  // ABORTED from the check is not taken for a conflict and retried.
  absl::Status vetoed;
  absl::Status status = pool_.Run(kUpdateSessionName, deadline, [&](pqxx::connection& c) {
    result = UpdateResult{};
    vetoed = absl::OkStatus();
    pqxx::work tx(c, kUpdateSessionName);
    const pqxx::result locked = tx.exec_prepared(kLockSessionName, update.session_id);
    if (locked.empty()) return absl::OkStatus();  // kNotFound; the rollback changes nothing.
    result.session = ReadSession(locked[0]);
    result.outcome = LockedOutcome(result.session, update.now);
    if (result.outcome != UpdateOutcome::kUpdated) return absl::OkStatus();

    std::optional<std::string> roles, scopes, amr, metadata, auth_time;
    if (update.roles.has_value()) roles = StringsJson(*update.roles);
    if (update.scopes.has_value()) scopes = StringsJson(*update.scopes);
    if (update.amr.has_value()) amr = StringsJson(*update.amr);
    if (update.metadata.has_value()) metadata = MetadataJson(*update.metadata);
    const bool set_auth_time = update.auth_time.has_value();
    if (set_auth_time && update.auth_time->has_value()) {
      auth_time = std::to_string(Micros(**update.auth_time));
    }
    const pqxx::row row = tx.exec_prepared1(
        kUpdateSessionName, update.session_id, OrNull(roles), OrNull(update.claims), OrNull(scopes),
        set_auth_time, OrNull(auth_time), OrNull(amr), OrNull(update.acr), OrNull(metadata));
    result.session = ReadSession(row);
    if (check) vetoed = check(result.session);
    if (!vetoed.ok()) return absl::OkStatus();  // Rolled back when `tx` goes.
    tx.commit();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!vetoed.ok()) return vetoed;
  return result;
}

absl::StatusOr<bool> PgSessionStore::RevokeSession(const std::string& session_id,
                                                   const std::string& reason, const WriteTime& at,
                                                   absl::Time deadline, std::string* subject) {
  bool revoked = false;
  absl::Status status = pool_.Run(kRevokeSessionName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kRevokeSessionName);
    const pqxx::result rows = tx.exec_prepared(kRevokeSessionName, session_id, reason,
                                               Micros(at.now), Micros(at.max_clock_offset));
    revoked = !rows.empty();
    if (revoked && subject != nullptr) *subject = rows[0]["subject"].as<std::string>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return revoked;
}

absl::StatusOr<std::vector<SessionRow>> PgSessionStore::ListSessions(
    const std::string& subject, int limit, const std::optional<SessionCursor>& after,
    absl::Time deadline) {
  std::vector<SessionRow> sessions;
  absl::Status status = pool_.Run(kListSessionsName, deadline, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c, kListSessionsName);
    // libpqxx 6 passes a null pointer as SQL NULL.
    const char* cursor_time = nullptr;
    const char* cursor_id = nullptr;
    std::string time_text;
    if (after.has_value()) {
      time_text = std::to_string(Micros(after->created_at));
      cursor_time = time_text.c_str();
      cursor_id = after->session_id.c_str();
    }
    sessions.clear();
    for (const auto& row :
         tx.exec_prepared(kListSessionsName, subject, limit, cursor_time, cursor_id)) {
      sessions.push_back(ReadSession(row));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return sessions;
}

absl::StatusOr<RevocationSnapshot> PgSessionStore::LoadRevocations(absl::Time since,
                                                                   absl::Time deadline) {
  RevocationSnapshot snapshot;
  absl::Status status = pool_.Run(kLoadRevocationsName, deadline, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c, kLoadRevocationsName);
    snapshot = RevocationSnapshot{};
    for (const auto& row : tx.exec_prepared(kLoadRevocationsName, Micros(since))) {
      AddRevocation(row, snapshot);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return snapshot;
}

absl::StatusOr<int64_t> PgSessionStore::SweepExpired(absl::Time expired_before,
                                                     absl::Time revoked_before, int batch,
                                                     absl::Time deadline) {
  int64_t deleted = 0;
  absl::Status status = pool_.Run(kSweepExpiredName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kSweepExpiredName);
    const pqxx::result r =
        tx.exec_prepared(kSweepExpiredName, Micros(expired_before), Micros(revoked_before), batch);
    const pqxx::result subjects =
        tx.exec_prepared(kSweepSubjectRevocationsName, Micros(revoked_before), batch);
    deleted = r.affected_rows() + subjects.affected_rows();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return deleted;
}

absl::StatusOr<absl::Time> PgSessionStore::DatabaseClock(absl::Time deadline) {
  absl::Time clock;
  absl::Status status = pool_.Run(kDatabaseClockName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kDatabaseClockName);
    clock = FromMicros(tx.exec_prepared1(kDatabaseClockName)[0].as<int64_t>());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return clock;
}

absl::Status PgSessionStore::Ping(absl::Time deadline) {
  return pool_.Run(kPingName, deadline, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c, kPingName);
    tx.exec_prepared1(kPingName);
    return absl::OkStatus();
  });
}

}  // namespace token
