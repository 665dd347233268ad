-- Named queries of the ingest service. It writes product_events (and its daily partitions) and
-- user_daily_activity; it reads nothing of the other services.

-- name: create_staging
-- A per-connection staging table for COPY; emptied at every commit, kept for the connection's next batch.
CREATE TEMP TABLE IF NOT EXISTS ingest_staging (LIKE product_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS

-- name: insert_staged
-- Events not stored yet go in; only those feed user_daily_activity, so a repeat is counted nowhere.
-- Rows and users are taken in key order so that two replicas writing the same keys cannot deadlock.
WITH inserted AS (
    INSERT INTO product_events (event_id, occurred_at, received_at, event_name, user_key, project_id, plan,
                                country, source, properties)
    SELECT event_id, occurred_at, received_at, event_name, user_key, project_id, plan, country, source,
           properties
    FROM ingest_staging
    ORDER BY event_id, occurred_at
    ON CONFLICT DO NOTHING
    RETURNING occurred_at, user_key, country
), activity AS (
    INSERT INTO user_daily_activity AS a (day, user_key, events, first_at, last_at, country)
    SELECT (occurred_at AT TIME ZONE 'UTC')::date, user_key, count(*), min(occurred_at), max(occurred_at),
           (array_agg(country ORDER BY occurred_at DESC) FILTER (WHERE country IS NOT NULL))[1]
    FROM inserted
    WHERE user_key IS NOT NULL
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (day, user_key) DO UPDATE SET
        events = a.events + EXCLUDED.events,
        first_at = least(a.first_at, EXCLUDED.first_at),
        last_at = greatest(a.last_at, EXCLUDED.last_at),
        -- The country of the later events wins; either side may lack one.
        country = CASE WHEN EXCLUDED.last_at >= a.last_at THEN coalesce(EXCLUDED.country, a.country)
                       ELSE coalesce(a.country, EXCLUDED.country) END
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS stored, (SELECT count(*) FROM activity) AS users

-- name: partition_names
SELECT c.relname AS name
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'product_events'::regclass

-- name: create_partition
SELECT product_events_create_partition($1)

-- name: drop_partitions_before
SELECT product_events_drop_partitions_before($1) AS name

-- name: delete_activity_before
DELETE FROM user_daily_activity WHERE day < $1

-- name: set_lock_timeout
-- DDL on product_events waits for the batches writing to it and holds up the next ones: keep it short.
SELECT set_config('lock_timeout', $1, true)

-- name: try_maintenance_lock
-- 0x5E90005: one replica's maintenance at a time (0x5E90004 guards each partition change).
SELECT pg_try_advisory_lock(99155973)

-- name: maintenance_unlock
SELECT pg_advisory_unlock(99155973)
