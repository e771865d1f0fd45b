-- $1 session_id; each value NULL to keep the column: $2 roles (JSON array),
-- $3 claims (JSON object, stored as written), $4 scopes (JSON array),
-- $5 set auth_time?, $6 auth_time (µs, NULL clears it), $7 amr (JSON array),
-- $8 acr, $9 metadata (JSON object). Run after lock_session.sql found the row
-- live, in the same transaction; returns the row as updated.
UPDATE sessions AS s
   SET roles = CASE WHEN $2::json IS NULL THEN s.roles
                    ELSE ARRAY(SELECT json_array_elements_text($2::json)) END,
       claims = coalesce($3::json, s.claims),
       scopes = CASE WHEN $4::json IS NULL THEN s.scopes
                     ELSE ARRAY(SELECT json_array_elements_text($4::json)) END,
       auth_time = CASE WHEN $5::boolean THEN token_ts($6::bigint) ELSE s.auth_time END,
       amr = CASE WHEN $7::json IS NULL THEN s.amr
                  ELSE ARRAY(SELECT json_array_elements_text($7::json)) END,
       acr = coalesce($8::text, s.acr),
       metadata = coalesce($9::jsonb, s.metadata)
 WHERE s.session_id = $1::uuid
RETURNING s.session_id::text AS session_id, s.subject AS subject,
          array_to_json(s.roles)::text AS roles, s.audience AS audience,
          s.user_agent AS user_agent, s.ip_address AS ip_address, s.generation AS generation,
          token_us(s.created_at) AS created_at, token_us(s.last_used_at) AS last_used_at,
          token_us(s.expires_at) AS expires_at,
          token_us(s.absolute_expires_at) AS absolute_expires_at,
          token_us(s.revoked_at) AS revoked_at, coalesce(s.revoke_reason, '') AS revoke_reason,
          s.claims::text AS claims, array_to_json(s.scopes)::text AS scopes,
          token_us(s.auth_time) AS auth_time, array_to_json(s.amr)::text AS amr, s.acr AS acr,
          s.metadata::text AS metadata
