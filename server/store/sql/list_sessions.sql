-- $1 subject, $2 limit, $3 cursor created_at (µs, or NULL), $4 cursor
-- session_id (or NULL). Newest first; keyset pagination on the index
-- sessions_subject_created. A session that a RevokeAll did not see (its row
-- committed while the RevokeAll ran) is shown revoked by it, as its next
-- refresh will record (migrations/0003_security.sql).
SELECT s.session_id::text AS session_id, s.subject AS subject,
       array_to_json(s.roles)::text AS roles, s.audience AS audience,
       s.user_agent AS user_agent, s.ip_address AS ip_address, s.generation AS generation,
       token_us(s.created_at) AS created_at, token_us(s.last_used_at) AS last_used_at,
       token_us(s.expires_at) AS expires_at,
       token_us(s.absolute_expires_at) AS absolute_expires_at,
       token_us(coalesce(s.revoked_at, r.revoked_at)) AS revoked_at,
       coalesce(s.revoke_reason, CASE WHEN r.revoked_at IS NOT NULL THEN 'revoke_all' END, '')
         AS revoke_reason,
       s.claims::text AS claims, array_to_json(s.scopes)::text AS scopes,
       token_us(s.auth_time) AS auth_time, array_to_json(s.amr)::text AS amr, s.acr AS acr,
       s.metadata::text AS metadata
  FROM sessions AS s
  LEFT JOIN subject_revocations AS r
    ON r.subject = s.subject AND s.revoked_at IS NULL AND r.revoked_at >= s.created_at
 WHERE s.subject = $1
   AND ($3::bigint IS NULL OR (s.created_at, s.session_id) < (token_ts($3::bigint), $4::uuid))
 ORDER BY s.created_at DESC, s.session_id DESC
 LIMIT $2
