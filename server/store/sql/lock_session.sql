-- $1 session_id. UpdateSession's first statement: locks the row (so a
-- concurrent refresh waits, and then reads what this update wrote) and reads
-- it as list_sessions.sql shows it, revoked by a subject revocation at or
-- after its creation that the row does not record yet.
SELECT {session_columns}
  FROM sessions AS s
  LEFT JOIN subject_revocations AS r
    ON r.subject = s.subject AND s.revoked_at IS NULL AND r.revoked_at >= s.created_at
 WHERE s.session_id = $1::uuid
   FOR UPDATE OF s
