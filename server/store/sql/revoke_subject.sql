-- $1 subject, $2 reason, $3 now (µs). Revokes every live session of the
-- subject and records the subject revocation, in one statement; returns how
-- many sessions it revoked (expired ones are left alone: they cannot be used).
-- The notification carries the subject and time, never a token.
WITH revoked AS (
  UPDATE sessions
     SET revoked_at = token_ts($3), revoke_reason = $2
   WHERE subject = $1 AND revoked_at IS NULL AND expires_at > token_ts($3)
  RETURNING session_id
), marked AS (
  INSERT INTO subject_revocations (subject, revoked_at)
  VALUES ($1, token_ts($3))
  ON CONFLICT (subject) DO UPDATE
     SET revoked_at = greatest(subject_revocations.revoked_at, excluded.revoked_at)
  RETURNING revoked_at
)
SELECT (SELECT count(*) FROM revoked) AS revoked_sessions,
       pg_notify('token_revocations', 'subject ' || token_us(marked.revoked_at)::text || ' ' || $1)
  FROM marked
