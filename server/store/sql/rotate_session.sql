-- $1 session_id, $2 candidate hashes (bytea[] literal), $3 now, $4 grace,
-- $5 idle ttl (µs), $6 set client?, $7 user_agent, $8 ip_address,
-- $9 largest tolerated replica clock offset (µs; 0 disables the check).
-- token_rotate_session_context (migrations/0004_session_context.sql) is
-- token_rotate_session plus the session's context and metadata.
SELECT * FROM token_rotate_session_context($1::uuid, $2::bytea[], $3, $4, $5, $6, $7, $8,
                                           $9::bigint)
