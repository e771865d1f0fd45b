-- $1 subject, $2 limit, $3 cursor created_at (µs, or NULL), $4 cursor
-- session_id (or NULL). Newest first; keyset pagination on the index
-- sessions_subject_created.
SELECT session_id::text, subject, array_to_json(roles)::text, audience, user_agent, ip_address,
       generation, token_us(created_at), token_us(last_used_at), token_us(expires_at),
       token_us(absolute_expires_at), token_us(revoked_at), coalesce(revoke_reason, '')
  FROM sessions
 WHERE subject = $1
   AND ($3::bigint IS NULL OR (created_at, session_id) < (token_ts($3::bigint), $4::uuid))
 ORDER BY created_at DESC, session_id DESC
 LIMIT $2
