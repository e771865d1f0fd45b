-- $1 session_id, $2 subject, $3 roles (JSON array), $4 audience, $5 user_agent,
-- $6 ip_address, $7 token_hash (hex), $8 created_at, $9 expires_at,
-- $10 absolute_expires_at (µs since epoch), $11 claims (JSON object, stored
-- as written), $12 scopes (JSON array), $13 auth_time (µs, or NULL), $14 amr
-- (JSON array), $15 acr, $16 metadata (JSON object).
INSERT INTO sessions (session_id, subject, roles, audience, user_agent, ip_address,
                      token_hash, generation, created_at, last_used_at, expires_at,
                      absolute_expires_at, claims, scopes, auth_time, amr, acr, metadata)
VALUES ($1::uuid, $2, ARRAY(SELECT json_array_elements_text($3::json)), $4, $5, $6,
        decode($7, 'hex'), 0, token_ts($8), token_ts($8), token_ts($9), token_ts($10),
        $11::json, ARRAY(SELECT json_array_elements_text($12::json)), token_ts($13::bigint),
        ARRAY(SELECT json_array_elements_text($14::json)), $15, $16::jsonb)
