-- $1 subject. The subject's revocation time (µs), if it has one: a
-- notification only names the subject, the row is what counts.
SELECT token_us(revoked_at) AS revoked_at FROM subject_revocations WHERE subject = $1
