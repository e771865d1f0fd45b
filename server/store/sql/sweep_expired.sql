-- $1 expired_before (µs), $2 revoked_before (µs), $3 batch size. Deletes one
-- bounded batch; SKIP LOCKED keeps the sweeper off rows a refresh holds.
WITH doomed AS (
  SELECT session_id FROM sessions
   WHERE expires_at < token_ts($1) OR revoked_at < token_ts($2)
   LIMIT $3
   FOR UPDATE SKIP LOCKED
)
DELETE FROM sessions s USING doomed WHERE s.session_id = doomed.session_id
