-- Not a statement: the select-list that reads a sessions row `s` into the
-- columns ReadSession (server/store/pg_session_store.cc) reads by name. `r` is
-- the subject_revocations row that revokes the session without the row
-- recording it yet, or NULLs. list_sessions.sql, lock_session.sql and
-- update_session.sql name it by a placeholder that pg_session_store.cc
-- replaces with this text when it prepares them.
s.session_id::text AS session_id, s.subject AS subject,
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
