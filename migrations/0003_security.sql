-- Security hardening (the findings table in docs/SECURITY.md):
--
-- * Every function runs with a pinned search_path (pg_catalog implicitly
--   first, then the schema these tables live in, pg_temp last) and calls operators and
--   functions by their pg_catalog names, so a role that can create objects in
--   a schema on a caller's path cannot shadow `array_position` or
--   `bigint * interval` and run code as the service. (With pg_catalog first,
--   only calls that need an implicit cast or match a polymorphic built-in
--   could still be outbid by an exact match elsewhere: those are qualified.)
-- * Only the owner of schema public may create objects in it.
-- * Revocations notify the `token_revocations` channel from two triggers, the
--   one place a notification is made, whichever statement revoked.
-- * token_rotate_session gains the rules of findings 6, 8 and 13 (below).
--
-- Write access to `sessions` is equivalent to minting tokens: a role that
-- can UPDATE token_hash can take over any session. Grant it to the service
-- role only.

-- The CREATE statements below create in, and capture (SET search_path FROM
-- CURRENT), this path: the schema 0001 created the tables in, then pg_temp.
-- pg_catalog, not listed, is searched before both; pg_temp, listed last, is
-- never searched first.
SELECT pg_catalog.set_config(
  'search_path', pg_catalog.quote_ident(pg_catalog.current_schema()) || ', pg_temp', true);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public') THEN
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION token_ts(us bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path FROM CURRENT
  AS $$ SELECT 'epoch'::pg_catalog.timestamptz
               OPERATOR(pg_catalog.+) (us OPERATOR(pg_catalog.*) '1 microsecond'::pg_catalog.interval) $$;

CREATE OR REPLACE FUNCTION token_us(ts timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path FROM CURRENT
  AS $$ SELECT (EXTRACT(epoch FROM ts) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8 $$;

-- token_write_time: the time a revocation is recorded at. The replica's clock
-- (p_now_us) is trusted only within p_max_offset_us of the database's own
-- clock; beyond that it is clamped, so a replica whose clock jumped cannot
-- write a revocation far in the future (locking a subject out) or far in the
-- past (letting tokens issued since survive). p_max_offset_us <= 0: unclamped.
CREATE OR REPLACE FUNCTION token_write_time(p_now_us bigint, p_max_offset_us bigint)
  RETURNS timestamptz
  LANGUAGE sql VOLATILE STRICT
  SET search_path FROM CURRENT
  AS $$
    SELECT CASE WHEN p_max_offset_us <= 0 THEN token_ts(p_now_us)
                ELSE token_ts(LEAST(GREATEST(p_now_us, db_us - p_max_offset_us),
                                    db_us + p_max_offset_us))
           END
      FROM (SELECT token_us(pg_catalog.clock_timestamp()) AS db_us) AS db
  $$;

-- Revocation times a replica with a jumped clock wrote in the future would
-- reject a subject's new tokens for as long as they exist: bring them back to
-- now (5 minutes is the largest --max-clock-offset).
UPDATE subject_revocations SET revoked_at = pg_catalog.statement_timestamp()
 WHERE revoked_at > pg_catalog.statement_timestamp() + interval '5 minutes';
UPDATE sessions SET revoked_at = pg_catalog.statement_timestamp()
 WHERE revoked_at > pg_catalog.statement_timestamp() + interval '5 minutes';

-- The earlier rotate function stays (pinned) for replicas of the previous
-- release during a rolling upgrade; this release calls the overload below.
ALTER FUNCTION token_rotate_session(uuid, bytea[], bigint, bigint, bigint, boolean, text, text)
  SET search_path FROM CURRENT;

-- One notification per revocation, from the row change itself. Payloads:
-- "session <uuid> <µs>" and "subject <µs> <subject>" (subject last: it may
-- hold spaces). Receivers treat them as hints and re-read the row.
CREATE OR REPLACE FUNCTION token_notify_session_revoked() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path FROM CURRENT
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('token_revocations',
                               'session ' || NEW.session_id::text || ' '
                               || token_us(NEW.revoked_at)::text);
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION token_notify_subject_revoked() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path FROM CURRENT
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('token_revocations',
                               'subject ' || token_us(NEW.revoked_at)::text || ' ' || NEW.subject);
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS sessions_notify_revoked ON sessions;
CREATE TRIGGER sessions_notify_revoked
  AFTER UPDATE OF revoked_at ON sessions
  FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION token_notify_session_revoked();

DROP TRIGGER IF EXISTS subject_revocations_notify ON subject_revocations;
CREATE TRIGGER subject_revocations_notify
  AFTER INSERT OR UPDATE OF revoked_at ON subject_revocations
  FOR EACH ROW
  EXECUTE FUNCTION token_notify_subject_revoked();

-- token_rotate_session: the whole RefreshTokens decision in one round trip.
--
-- The caller has checked the presented token's MAC tag, so the token is one
-- this service issued for p_session_id. p_candidates[1] is SHA-256 of its
-- secret and p_candidates[2] that of its successor. Matching the row's
-- token_hash at:
--   k = 0  the presented token is current: rotate to p_candidates[2];
--   k = 1  it is the immediate parent of the current token, whose successor is
--          still unused: inside the grace window an idempotent retry, else reuse;
--   none   an older generation of this family, however old: reuse, the family
--          is revoked (an authentic token that is neither current nor the
--          grace parent can only be a copy of one rotated away).
-- Before that:
--   * a replica whose clock is more than p_max_offset_us from the database's
--     is refused ('clock_offset', nothing changes), so its clock can neither
--     turn a legitimate retry into reuse nor stretch the window for others;
--   * a live session that a RevokeAll did not see (its row committed while
--     the RevokeAll ran) but whose subject revocation is at or after its
--     creation is revoked now ('revoked'), so RevokeAll leaves no window.
-- The row lock serialises concurrent refreshes of one session: exactly one
-- caller sees k = 0; the others then see k = 1 and share its successor.
CREATE OR REPLACE FUNCTION token_rotate_session(
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
                 revoked_at bigint, revoke_reason text)
  LANGUAGE plpgsql
  SET search_path FROM CURRENT
AS $$
DECLARE
  s sessions%ROWTYPE;
  k integer;
  v_now timestamptz := token_ts(p_now_us);
  v_microsecond constant interval := '1 microsecond';
  v_subject_revoked timestamptz;
  v_outcome text;
BEGIN
  IF p_max_offset_us > 0
     AND abs(p_now_us - token_us(pg_catalog.clock_timestamp())) > p_max_offset_us THEN
    v_outcome := 'clock_offset';
  ELSE
    SELECT * INTO s FROM sessions AS t WHERE t.session_id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
      v_outcome := 'not_found';
    END IF;
  END IF;
  IF v_outcome IS NOT NULL THEN
    RETURN QUERY SELECT v_outcome, NULL::text, NULL::text, NULL::text, NULL::text,
                        NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
    RETURN;
  END IF;

  IF s.revoked_at IS NULL THEN
    SELECT r.revoked_at INTO v_subject_revoked
      FROM subject_revocations AS r
     WHERE r.subject = s.subject AND r.revoked_at >= s.created_at;
    IF FOUND THEN
      UPDATE sessions AS t
         SET revoked_at = v_subject_revoked, revoke_reason = 'revoke_all'
       WHERE t.session_id = p_session_id
      RETURNING * INTO s;
    END IF;
  END IF;

  k := pg_catalog.array_position(p_candidates, s.token_hash) - 1;
  IF s.revoked_at IS NOT NULL THEN
    v_outcome := 'revoked';
  ELSIF v_now >= s.expires_at OR v_now >= s.absolute_expires_at THEN
    v_outcome := 'expired';
  ELSIF k = 0 THEN
    UPDATE sessions AS t
       SET token_hash = p_candidates[2],
           generation = t.generation + 1,
           rotated_at = v_now,
           last_used_at = v_now,
           expires_at = LEAST(v_now + (p_idle_us OPERATOR(pg_catalog.*) v_microsecond),
                              t.absolute_expires_at),
           user_agent = CASE WHEN p_set_client THEN p_user_agent ELSE t.user_agent END,
           ip_address = CASE WHEN p_set_client THEN p_ip_address ELSE t.ip_address END
     WHERE t.session_id = p_session_id
    RETURNING * INTO s;
    v_outcome := 'rotated';
  ELSIF k = 1 AND p_grace_us > 0 AND s.rotated_at IS NOT NULL
        AND v_now <= s.rotated_at + (p_grace_us OPERATOR(pg_catalog.*) v_microsecond) THEN
    v_outcome := 'grace';
  ELSE
    UPDATE sessions AS t
       SET revoked_at = v_now, revoke_reason = 'refresh_token_reused'
     WHERE t.session_id = p_session_id
    RETURNING * INTO s;
    v_outcome := 'reused';
  END IF;

  RETURN QUERY SELECT v_outcome, s.session_id::text, s.subject,
                      pg_catalog.array_to_json(s.roles)::text,
                      s.audience, s.user_agent, s.ip_address, s.generation,
                      token_us(s.created_at), token_us(s.last_used_at), token_us(s.expires_at),
                      token_us(s.absolute_expires_at), token_us(s.revoked_at),
                      coalesce(s.revoke_reason, '');
END;
$$;
