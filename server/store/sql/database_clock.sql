-- The database server's clock (µs since the epoch): replicas measure their
-- clock offset against it.
SELECT token_us(clock_timestamp())
