-- pgbench script: what one RefreshTokens costs the database. The statement in
-- the script is server/store/sql/rotate_session.sql with $N written :pN
-- (bench/run.sh passes the values with -D). Each pgbench client rotates its
-- own pre-created session (subject pgbench-refresh-<client_id>), looked up
-- once on its first transaction. The candidate list repeats the stored hash
-- in its first two places, so every call takes the "rotate" path and writes
-- the same hash back: a real UPDATE each time, with nothing to derive.
\if :have_sid = 0
SELECT session_id::text AS p1 FROM sessions WHERE subject = 'pgbench-refresh-' || :client_id \gset
\set have_sid 1
\endif
-- One autocommit statement, as the server sends it (no BEGIN/COMMIT).
SELECT * FROM token_rotate_session(:p1::uuid, :p2::bytea[], :p3, :p4, :p5, :p6, :p7, :p8);
