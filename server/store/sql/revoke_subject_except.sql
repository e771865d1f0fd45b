-- $1 subject, $2 reason, $3 now, $4 largest tolerated replica clock offset
-- (µs), $5 the session to keep. RevokeAll with except_session_id: when $5 is
-- a session of $1, revokes every other live session of $1 at one time, each
-- on its own (the sessions_notify_revoked trigger tells the feed), and
-- records no subject revocation (it would end the kept session's tokens too).
-- A session a subject revocation already covers is left as it is. Returns
-- kept (0: $5 is no session of $1, nothing was revoked), the time, and the
-- ids revoked (JSON array).
WITH at AS (
  SELECT token_write_time($3, $4) AS t
), kept AS (
  SELECT k.session_id FROM sessions AS k WHERE k.session_id = $5::uuid AND k.subject = $1
), revoked AS (
  UPDATE sessions AS s
     SET revoked_at = at.t, revoke_reason = $2
    FROM at, kept
   WHERE s.subject = $1 AND s.session_id <> kept.session_id
     AND s.revoked_at IS NULL AND s.expires_at > at.t
     AND NOT EXISTS (SELECT 1 FROM subject_revocations AS r
                      WHERE r.subject = s.subject AND r.revoked_at >= s.created_at)
  RETURNING s.session_id::text AS session_id
)
SELECT (SELECT count(*) FROM kept) AS kept, token_us(at.t) AS revoked_at,
       coalesce((SELECT json_agg(revoked.session_id) FROM revoked), '[]'::json)::text
         AS session_ids
  FROM at
