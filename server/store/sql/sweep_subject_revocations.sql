-- $1 revoked_before (µs), $2 batch size. Subject revocations older than every
-- access token they could affect are dropped, one bounded batch at a time.
-- A session of that subject created before the revocation and still live
-- (its row committed while the RevokeAll ran, so the RevokeAll did not see
-- it, and no refresh has met the revocation since) is revoked first: the
-- subject revocation is the only record that it should be. (A data-modifying
-- CTE always runs to completion, referenced or not.)
WITH doomed AS (
  SELECT subject, revoked_at FROM subject_revocations
   WHERE revoked_at < token_ts($1)
   LIMIT $2
   FOR UPDATE SKIP LOCKED
), late AS (
  UPDATE sessions AS s
     SET revoked_at = doomed.revoked_at, revoke_reason = 'revoke_all'
    FROM doomed
   WHERE s.subject = doomed.subject AND s.revoked_at IS NULL
     AND s.created_at <= doomed.revoked_at
  RETURNING s.session_id
)
DELETE FROM subject_revocations
 WHERE subject IN (SELECT subject FROM doomed)
