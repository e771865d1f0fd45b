-- $1 session_id, $2 reason, $3 now (µs). Returns the subject when this call
-- revoked a live session; no row when unknown or already revoked.
WITH revoked AS (
  UPDATE sessions
     SET revoked_at = token_ts($3), revoke_reason = $2
   WHERE session_id = $1::uuid AND revoked_at IS NULL
  RETURNING session_id, subject, revoked_at
)
SELECT subject, pg_notify('token_revocations',
                          'session ' || session_id::text || ' ' || token_us(revoked_at)::text)
  FROM revoked
