-- Named queries of the ingest service's upkeep. It writes product_events (and its daily partitions) and
-- the Founder View's rollups (rollups.sql); it reads nothing of the other services.

-- name: partition_names
SELECT c.relname AS name
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'product_events'::regclass

-- name: create_partition
SELECT product_events_create_partition($1)

-- name: drop_partitions_before
SELECT product_events_drop_partitions_before($1) AS name

-- name: delete_rollups_before
-- Sessions and per-day counts of days before $1 (the events' cutoff) go; the rolling counts before it are
-- folded into day $1, so the counts from $1 on stay the same. Active days are kept until $2, 60 days
-- earlier: an event of the first kept day still finds the active day before it within its windows.
WITH uda AS (DELETE FROM user_daily_activity WHERE day < $2 RETURNING 1),
scoped AS (DELETE FROM activity_days WHERE day < $2 RETURNING 1),
sessions AS (DELETE FROM activity_sessions WHERE started_at < ($1::date)::timestamp AT TIME ZONE 'UTC' RETURNING 1),
session_totals AS (DELETE FROM session_days WHERE day < $1 RETURNING 1),
projects AS (DELETE FROM project_days WHERE day < $1 RETURNING 1),
folded AS (DELETE FROM active_user_changes WHERE day < $1 RETURNING scope, win, delta),
kept AS (
    INSERT INTO active_user_changes AS c (scope, win, day, delta)
    SELECT scope, win, $1, sum(delta) FROM folded GROUP BY 1, 2 HAVING sum(delta) <> 0
    ON CONFLICT (scope, win, day) DO UPDATE SET delta = c.delta + EXCLUDED.delta
    RETURNING 1
)
SELECT (SELECT count(*) FROM uda) AS activity_rows

-- name: set_lock_timeout
-- DDL on product_events waits for the batches writing to it and holds up the next ones: keep it short.
SELECT set_config('lock_timeout', $1, true)

-- name: try_maintenance_lock
-- 0x5E90005: one replica's maintenance at a time (0x5E90004 guards each partition change).
SELECT pg_try_advisory_lock(99155973)

-- name: maintenance_unlock
SELECT pg_advisory_unlock(99155973)

-- name: rollups_missing
SELECT NOT EXISTS (SELECT 1 FROM ingest_watermark) AND EXISTS (SELECT 1 FROM product_events)
