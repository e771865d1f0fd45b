-- token_rotate_session: the whole RefreshTokens decision in one round trip.
--
-- p_candidates[1] is SHA-256 of the presented secret, p_candidates[k+1] that of
-- its k-th derived successor (the service derives them; see
-- docs/REFRESH_TOKENS.md). Matching the row's token_hash at:
--   k = 0  the presented token is current: rotate to p_candidates[2];
--   k = 1  it is the immediate parent of the current token, whose successor is
--          still unused: inside the grace window an idempotent retry, else reuse;
--   k > 1  an older generation: reuse, the family is revoked.
-- No match means the token was not issued by us (or is older than the
-- candidates reach): nothing changes, so forging cannot log anyone out.
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
    p_ip_address text)
  RETURNS TABLE (outcome text, session_id text, subject text, roles text, audience text,
                 user_agent text, ip_address text, generation bigint, created_at bigint,
                 last_used_at bigint, expires_at bigint, absolute_expires_at bigint,
                 revoked_at bigint, revoke_reason text)
  LANGUAGE plpgsql
AS $$
DECLARE
  s sessions%ROWTYPE;
  k integer;
  v_now timestamptz := token_ts(p_now_us);
  v_outcome text;
BEGIN
  SELECT * INTO s FROM sessions AS t WHERE t.session_id = p_session_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::text, NULL::text, NULL::text,
                        NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  k := array_position(p_candidates, s.token_hash) - 1;

  IF k IS NULL THEN
    v_outcome := 'not_found';
  ELSIF s.revoked_at IS NOT NULL THEN
    v_outcome := 'revoked';
  ELSIF v_now >= s.expires_at OR v_now >= s.absolute_expires_at THEN
    v_outcome := 'expired';
  ELSIF k = 0 THEN
    UPDATE sessions AS t
       SET token_hash = p_candidates[2],
           generation = t.generation + 1,
           rotated_at = v_now,
           last_used_at = v_now,
           expires_at = least(v_now + p_idle_us * interval '1 microsecond',
                              t.absolute_expires_at),
           user_agent = CASE WHEN p_set_client THEN p_user_agent ELSE t.user_agent END,
           ip_address = CASE WHEN p_set_client THEN p_ip_address ELSE t.ip_address END
     WHERE t.session_id = p_session_id
    RETURNING * INTO s;
    v_outcome := 'rotated';
  ELSIF k = 1 AND p_grace_us > 0 AND s.rotated_at IS NOT NULL
        AND v_now <= s.rotated_at + p_grace_us * interval '1 microsecond' THEN
    v_outcome := 'grace';
  ELSE
    UPDATE sessions AS t
       SET revoked_at = v_now, revoke_reason = 'refresh_token_reused'
     WHERE t.session_id = p_session_id
    RETURNING * INTO s;
    PERFORM pg_notify('token_revocations',
                      'session ' || s.session_id::text || ' ' || token_us(s.revoked_at)::text);
    v_outcome := 'reused';
  END IF;

  IF v_outcome = 'not_found' THEN
    RETURN QUERY SELECT v_outcome, NULL::text, NULL::text, NULL::text, NULL::text,
                        NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT v_outcome, s.session_id::text, s.subject, array_to_json(s.roles)::text,
                      s.audience, s.user_agent, s.ip_address, s.generation,
                      token_us(s.created_at), token_us(s.last_used_at), token_us(s.expires_at),
                      token_us(s.absolute_expires_at), token_us(s.revoked_at),
                      coalesce(s.revoke_reason, '');
END;
$$;
