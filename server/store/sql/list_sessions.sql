-- $1 subject, $2 limit, $3 cursor created_at (µs, or NULL), $4 cursor
-- session_id (or NULL). Newest first; keyset pagination on the index
-- sessions_subject_created. A session that a RevokeAll did not see (its row
-- committed while the RevokeAll ran) is shown revoked by it, as its next
-- refresh will record (migrations/0003_security.sql).
SELECT {session_columns}
  FROM sessions AS s
  LEFT JOIN subject_revocations AS r
    ON r.subject = s.subject AND s.revoked_at IS NULL AND r.revoked_at >= s.created_at
 WHERE s.subject = $1
   AND ($3::bigint IS NULL OR (s.created_at, s.session_id) < (token_ts($3::bigint), $4::uuid))
 ORDER BY s.created_at DESC, s.session_id DESC
 LIMIT $2
