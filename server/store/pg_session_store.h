// PgSessionStore: SessionStore on PostgreSQL, through a PgPool. All SQL lives
// in server/store/sql/*.sql (compiled in as prepared statements); the schema
// lives in migrations/.
#ifndef TOKEN_SERVER_STORE_PG_SESSION_STORE_H_
#define TOKEN_SERVER_STORE_PG_SESSION_STORE_H_

#include <memory>
#include <optional>
#include <string>

#include "server/store/pg_pool.h"
#include "server/store/session_store.h"

namespace token {

class PgSessionStore final : public SessionStore {
 public:
  // Create returns a store with `pool_size` lazily opened connections; it
  // does not touch the database, so it succeeds while the database is down.
  static std::shared_ptr<PgSessionStore> Create(const std::string& conninfo, int pool_size);

  explicit PgSessionStore(PgPool::Options options);

  absl::Status CreateSession(const NewSession& session, absl::Time deadline) override;
  absl::StatusOr<RotateResult> RotateSession(const RotateRequest& request,
                                             absl::Time deadline) override;
  absl::StatusOr<SubjectRevocation> RevokeSubject(
      const std::string& subject, const std::string& reason, const WriteTime& at,
      const std::optional<std::string>& except_session_id, absl::Time deadline) override;
  absl::StatusOr<UpdateResult> UpdateSession(const SessionUpdate& update, const UpdateCheck& check,
                                             absl::Time deadline) override;
  absl::StatusOr<bool> RevokeSession(const std::string& session_id, const std::string& reason,
                                     const WriteTime& at, absl::Time deadline,
                                     std::string* subject) override;
  absl::StatusOr<std::vector<SessionRow>> ListSessions(const std::string& subject, int limit,
                                                       const std::optional<SessionCursor>& after,
                                                       absl::Time deadline) override;
  absl::StatusOr<RevocationSnapshot> LoadRevocations(absl::Time since,
                                                     absl::Time deadline) override;
  absl::StatusOr<int64_t> SweepExpired(absl::Time expired_before, absl::Time revoked_before,
                                       int batch, absl::Time deadline) override;
  absl::Status Ping(absl::Time deadline) override;
  absl::StatusOr<absl::Time> DatabaseClock(absl::Time deadline) override;

  PgPool::Stats pool_stats() const { return pool_.stats(); }

 private:
  absl::StatusOr<SubjectRevocation> RevokeSubjectExcept(const std::string& subject,
                                                        const std::string& reason,
                                                        const WriteTime& at,
                                                        const std::string& except_session_id,
                                                        absl::Time deadline);

  PgPool pool_;
};

}  // namespace token

#endif  // TOKEN_SERVER_STORE_PG_SESSION_STORE_H_
