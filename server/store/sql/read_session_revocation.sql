-- $1 session_id. The session's revocation time (µs), if it is revoked: a
-- notification only names the session, the row is what counts.
SELECT token_us(revoked_at) AS revoked_at FROM sessions
 WHERE session_id = $1::uuid AND revoked_at IS NOT NULL
