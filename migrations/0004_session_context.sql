-- Session context: what a session carries into its access tokens besides
-- subject, roles and audience (custom claims, scopes, step-up context), and
-- metadata kept with it but never put in a token (server/common/
-- session_context.h).
--
-- Safe on a live table: every new column is nullable or has a constant
-- default, which PostgreSQL records in the catalog without rewriting rows,
-- so rows written by the previous release read as an empty context. The one
-- ALTER TABLE takes its lock once, and waits for it at most lock_timeout, so
-- a long transaction on the table makes the migration fail (nothing
-- applied; the next run retries) instead of queueing every refresh behind it.
-- Idempotent: IF NOT EXISTS, CREATE OR REPLACE, constraints added only when
-- missing.

-- Functions are created in, and capture, the same path as in 0003.
SELECT pg_catalog.set_config(
  'search_path', pg_catalog.quote_ident(pg_catalog.current_schema()) || ', pg_temp', true);
SELECT pg_catalog.set_config('lock_timeout', '5s', true);

-- claims is `json`, not `jsonb`: json keeps the text as written, and the
-- service writes the canonical form it signs (keys sorted, integers without a
-- fraction), which jsonb would reorder and re-space on every read.
ALTER TABLE sessions
  ADD COLUMN IF NOT EXISTS claims    json        NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS scopes    text[]      NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS auth_time timestamptz,
  ADD COLUMN IF NOT EXISTS amr       text[]      NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS acr       text        NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS metadata  jsonb       NOT NULL DEFAULT '{}';

-- Both must be objects. NOT VALID: checked on every write from now on,
-- without scanning the existing rows (which hold the '{}' default).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                  WHERE conrelid = 'sessions'::pg_catalog.regclass
                    AND conname = 'sessions_claims_object') THEN
    ALTER TABLE sessions ADD CONSTRAINT sessions_claims_object
      CHECK (pg_catalog.json_typeof(claims) = 'object') NOT VALID;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                  WHERE conrelid = 'sessions'::pg_catalog.regclass
                    AND conname = 'sessions_metadata_object') THEN
    ALTER TABLE sessions ADD CONSTRAINT sessions_metadata_object
      CHECK (pg_catalog.jsonb_typeof(metadata) = 'object') NOT VALID;
  END IF;
END;
$$;

-- token_rotate_session_context: token_rotate_session (0003, unchanged and
-- still there for replicas of the previous release during a rolling upgrade)
-- plus the session's context and metadata, still one round trip. The rotate
-- function locks the row; the SELECT after it runs on a new snapshot, so it
-- sees the latest committed UpdateSession, and no later one can commit before
-- this transaction does. Context columns are NULL when there is no row
-- (not_found, clock_offset). Context is returned as text: claims as written,
-- scopes and amr as JSON arrays, auth_time in µs, metadata as a JSON object.
CREATE OR REPLACE FUNCTION token_rotate_session_context(
    p_session_id uuid,
    p_candidates bytea[],
    p_now_us bigint,
    p_grace_us bigint,
    p_idle_us bigint,
    p_set_client boolean,
    p_user_agent text,
    p_ip_address text,
    p_max_offset_us bigint)
  RETURNS TABLE (outcome text, session_id text, subject text, roles text, audience text,
                 user_agent text, ip_address text, generation bigint, created_at bigint,
                 last_used_at bigint, expires_at bigint, absolute_expires_at bigint,
                 revoked_at bigint, revoke_reason text, claims text, scopes text,
                 auth_time bigint, amr text, acr text, metadata text)
  LANGUAGE plpgsql
  SET search_path FROM CURRENT
AS $$
DECLARE
  r record;
BEGIN
  SELECT * INTO STRICT r
    FROM token_rotate_session(p_session_id, p_candidates, p_now_us, p_grace_us, p_idle_us,
                              p_set_client, p_user_agent, p_ip_address, p_max_offset_us);
  RETURN QUERY
    SELECT r.outcome, r.session_id, r.subject, r.roles, r.audience, r.user_agent,
           r.ip_address, r.generation, r.created_at, r.last_used_at, r.expires_at,
           r.absolute_expires_at, r.revoked_at, r.revoke_reason,
           s.claims::text, pg_catalog.array_to_json(s.scopes)::text, token_us(s.auth_time),
           pg_catalog.array_to_json(s.amr)::text, s.acr, s.metadata::text
      FROM (SELECT 1) AS one
      LEFT JOIN sessions AS s
        ON r.session_id IS NOT NULL AND s.session_id = p_session_id;
END;
$$;
