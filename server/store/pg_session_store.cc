#include "server/store/pg_session_store.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "server/common/error_reason.h"
#include "server/common/log.h"
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
constexpr char kListSessionsName[] = "list_sessions";
constexpr char kLoadRevocationsName[] = "load_revocations";
constexpr char kSweepExpiredName[] = "sweep_expired";
constexpr char kSweepSubjectRevocationsName[] = "sweep_subject_revocations";
constexpr char kPingName[] = "ping";
constexpr char kDatabaseClockName[] = "database_clock";

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

std::string RolesJson(const std::vector<std::string>& roles) {
  return nlohmann::json(roles).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> ParseRoles(const std::string& json_text) {
  std::vector<std::string> roles;
  const nlohmann::json parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (!parsed.is_array()) return roles;
  for (const auto& role : parsed) {
    if (role.is_string()) roles.push_back(role.get<std::string>());
  }
  return roles;
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

// Reads the session columns by name: list_sessions.sql aliases them, and
// token_rotate_session's RETURNS TABLE names them the same, so a reordered
// or added column cannot shift a value into the wrong field.
SessionRow ReadSession(const pqxx::row& row) {
  SessionRow s;
  s.session_id = row["session_id"].as<std::string>();
  s.subject = row["subject"].as<std::string>();
  s.roles = ParseRoles(row["roles"].as<std::string>());
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
  return s;
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
      {kListSessionsName, std::string(sql::kListSessions)},
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
    tx.exec_prepared0(kInsertSessionName, session.session_id, session.subject,
                      RolesJson(session.roles), session.audience, session.client.user_agent,
                      session.client.ip_address, absl::BytesToHexString(session.token_hash),
                      Micros(session.created_at), Micros(session.expires_at),
                      Micros(session.absolute_expires_at));
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

absl::StatusOr<SubjectRevocation> PgSessionStore::RevokeSubject(const std::string& subject,
                                                                const std::string& reason,
                                                                const WriteTime& at,
                                                                absl::Time deadline) {
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
