-- pgbench script prologue: what one RefreshTokens costs the database.
-- bench/run.sh appends server/store/sql/rotate_session.sql with $N written
-- :pN (and passes the values with -D), so the statement is the server's own. Each pgbench client rotates its
-- own pre-created session (subject pgbench-refresh-<client_id>), looked up
-- once on its first transaction. The candidate list repeats the stored hash
-- in its first two places, so every call takes the "rotate" path and writes
-- the same hash back: a real UPDATE each time, with nothing to derive.
\if :have_sid = 0
SELECT session_id::text AS p1 FROM sessions WHERE subject = 'pgbench-refresh-' || :client_id \gset
\set have_sid 1
\endif
