-- $1 session_id, $2 candidate hashes (bytea[] literal), $3 now, $4 grace,
-- $5 idle ttl (µs), $6 set client?, $7 user_agent, $8 ip_address,
-- $9 largest tolerated replica clock offset (µs; 0 disables the check).
SELECT * FROM token_rotate_session($1::uuid, $2::bytea[], $3, $4, $5, $6, $7, $8, $9::bigint)
