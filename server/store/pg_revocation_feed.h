// PgRevocationFeed: keeps a replica's revocation view in step with the
// database. It LISTENs on the `token_revocations` channel (revocations send
// NOTIFY in the same transaction), and after every (re)connect reloads the
// full recent set from the tables, so a notification missed while
// disconnected is never lost. While disconnected it reports `on_lost`, and the
// replica stops answering VerifyAccess until the next snapshot.
#ifndef TOKEN_SERVER_STORE_PG_REVOCATION_FEED_H_
#define TOKEN_SERVER_STORE_PG_REVOCATION_FEED_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/store/session_store.h"

namespace token {

class PgRevocationFeed {
 public:
  struct Callbacks {
    // A full snapshot of revocations since now - retention.
    std::function<void(const RevocationSnapshot&)> on_snapshot;
    std::function<void(const std::string& session_id, absl::Time at)> on_session;
    std::function<void(const std::string& subject, absl::Time at)> on_subject;
    // The feed is down; state may be stale until the next on_snapshot.
    std::function<void()> on_lost;
  };

  PgRevocationFeed(std::string conninfo, absl::Duration retention, const Clock& clock,
                   Callbacks callbacks);
  // Stops the feed thread (within about 200 ms).
  ~PgRevocationFeed();

  void Start();

 private:
  void Loop();
  // Returns by exception when the connection is lost; `synced` is set once
  // the snapshot has been delivered.
  void RunConnected(bool& synced);
  bool stopping() const;

  const std::string conninfo_;
  const absl::Duration retention_;
  const Clock& clock_;
  const Callbacks callbacks_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace token

#endif  // TOKEN_SERVER_STORE_PG_REVOCATION_FEED_H_
