-- One row per session family (one login). The refresh token itself is never
-- stored: token_hash is SHA-256 of the current token's secret, and earlier
-- generations are recognised by re-deriving their successors (see
-- docs/REFRESH_TOKENS.md), so a dump of this table cannot refresh anything.
CREATE TABLE IF NOT EXISTS sessions (
  session_id          uuid        PRIMARY KEY,
  subject             text        NOT NULL,
  roles               text[]      NOT NULL DEFAULT '{}',
  audience            text        NOT NULL,
  user_agent          text        NOT NULL DEFAULT '',
  ip_address          text        NOT NULL DEFAULT '',
  token_hash          bytea       NOT NULL,
  generation          bigint      NOT NULL DEFAULT 0,
  -- When the current token replaced its parent; NULL for generation 0.
  rotated_at          timestamptz,
  created_at          timestamptz NOT NULL,
  last_used_at        timestamptz NOT NULL,
  -- Idle expiry of the current token, never later than absolute_expires_at.
  expires_at          timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  revoked_at          timestamptz,
  revoke_reason       text,
  CONSTRAINT sessions_token_hash_len CHECK (octet_length(token_hash) = 32),
  CONSTRAINT sessions_expiry_order CHECK (expires_at <= absolute_expires_at)
);

-- ListSessions pages newest first; RevokeAll finds a subject's live sessions.
CREATE INDEX IF NOT EXISTS sessions_subject_created
  ON sessions (subject, created_at DESC, session_id DESC);
-- The sweeper deletes expired rows in batches.
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
-- Revocation-feed resync and the sweeper read recent/old revocations.
CREATE INDEX IF NOT EXISTS sessions_revoked_at
  ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- RevokeAll also records the subject, so access tokens issued before the
-- revocation fail VerifyAccess even for sessions created concurrently.
CREATE TABLE IF NOT EXISTS subject_revocations (
  subject    text        PRIMARY KEY,
  revoked_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS subject_revocations_revoked_at
  ON subject_revocations (revoked_at);

-- The service passes times as microseconds since the Unix epoch (its own
-- injected clock), converted here so every statement reads the same way.
CREATE OR REPLACE FUNCTION token_ts(us bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT 'epoch'::timestamptz + us * interval '1 microsecond' $$;

CREATE OR REPLACE FUNCTION token_us(ts timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT (extract(epoch FROM ts) * 1000000)::bigint $$;
