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
  -- Returns the row as stored: lock_session.sql found it unrevoked under the
  -- lock this transaction holds, so `r` (a subject revocation, in the shared
  -- column list) is one row of NULLs here.
  FROM (SELECT NULL::timestamptz AS revoked_at) AS r
 WHERE s.session_id = $1::uuid
RETURNING {session_columns}
