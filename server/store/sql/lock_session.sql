-- $1 session_id. UpdateSession's first statement: locks the row (so a
-- concurrent refresh waits, and then reads what this update wrote) and reads
-- it as list_sessions.sql shows it, revoked by a subject revocation at or
-- after its creation that the row does not record yet.
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
 WHERE s.session_id = $1::uuid
   FOR UPDATE OF s
