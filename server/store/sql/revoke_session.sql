-- $1 session_id, $2 reason, $3 now, $4 largest tolerated replica clock
-- offset (µs). Returns the subject and the recorded time when this call
-- revoked a live session; no row when unknown or already revoked. The
-- notification comes from the sessions_notify_revoked trigger.
UPDATE sessions
   SET revoked_at = token_write_time($3, $4), revoke_reason = $2
 WHERE session_id = $1::uuid AND revoked_at IS NULL
RETURNING subject, token_us(revoked_at)
