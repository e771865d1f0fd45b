-- $1 since (µs). Every revocation that can still affect an unexpired access
-- token: sessions and subjects revoked at or after $1.
SELECT 'session' AS kind, session_id::text AS id, token_us(revoked_at) AS revoked_at
  FROM sessions WHERE revoked_at >= token_ts($1)
UNION ALL
SELECT 'subject', subject, token_us(revoked_at)
  FROM subject_revocations WHERE revoked_at >= token_ts($1)
