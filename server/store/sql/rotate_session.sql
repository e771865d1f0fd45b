-- $1 session_id, $2 candidate hashes (bytea[] literal), $3 now, $4 grace,
-- $5 idle ttl (µs), $6 set client?, $7 user_agent, $8 ip_address.
SELECT * FROM token_rotate_session($1::uuid, $2::bytea[], $3, $4, $5, $6, $7, $8)
