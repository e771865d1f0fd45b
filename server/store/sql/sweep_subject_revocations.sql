-- $1 revoked_before (µs), $2 batch size. Subject revocations older than every
-- access token they could affect are dropped, one bounded batch at a time.
DELETE FROM subject_revocations
 WHERE subject IN (SELECT subject FROM subject_revocations
                    WHERE revoked_at < token_ts($1)
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED)
