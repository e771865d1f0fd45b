-- $1 subject, $2 reason, $3 now, $4 largest tolerated replica clock offset
-- (µs). Revokes every live session of the subject and records the subject
-- revocation, in one statement, at one time; returns how many sessions it
-- revoked (expired ones are left alone: they cannot be used) and the
-- subject's recorded revocation time. Notifications (each session, and the
-- subject) come from the triggers of migrations/0003_security.sql.
WITH at AS (
  SELECT token_write_time($3, $4) AS t
), revoked AS (
  UPDATE sessions
     SET revoked_at = at.t, revoke_reason = $2
    FROM at
   WHERE subject = $1 AND revoked_at IS NULL AND expires_at > at.t
  RETURNING session_id
), marked AS (
  INSERT INTO subject_revocations (subject, revoked_at)
  SELECT $1, at.t FROM at
  ON CONFLICT (subject) DO UPDATE
     SET revoked_at = greatest(subject_revocations.revoked_at, excluded.revoked_at)
  RETURNING revoked_at
)
SELECT (SELECT count(*) FROM revoked) AS revoked_sessions,
       token_us(marked.revoked_at) AS revoked_at
  FROM marked
