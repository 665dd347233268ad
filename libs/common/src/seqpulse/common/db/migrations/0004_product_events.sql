-- Product analytics events (design-notes/founder-observability.md, phase 1: Postgres) and the exact daily
-- activity the Founder View counts DAU/WAU/MAU from. Days are UTC days throughout.
--
-- Partitions: one per UTC day, `product_events_pYYYYMMDD`, made by product_events_create_partition().
-- This migration makes today − 30 … today + 7 so the table takes events at once; the ingest service then
-- keeps SEQPULSE_INGEST_PARTITIONS_AHEAD_DAYS ahead and drops those past SEQPULSE_EVENTS_RETENTION_DAYS
-- (at start, before consuming, and periodically), and makes a missing past day's partition on demand.

-- writer: ingest. One row per event; the producer's event id (the message's Nats-Msg-Id) and its time
-- are the key, so a redelivered or republished event is stored once. No IP address, ever: `country` is
-- resolved and `user_key` pseudonymised before publishing.
CREATE TABLE product_events (
    event_id        uuid NOT NULL,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    event_name      text NOT NULL,
    user_key        text,
    project_id      uuid,
    plan            text,
    country         text,
    source          text NOT NULL,
    properties      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
-- A user's events in time order (sessions, time spent, retention); events of one kind over time (funnels,
-- activation); a project's events over time (top projects).
CREATE INDEX product_events_user_idx ON product_events (user_key, occurred_at) WHERE user_key IS NOT NULL;
CREATE INDEX product_events_name_idx ON product_events (event_name, occurred_at);
CREATE INDEX product_events_project_idx ON product_events (project_id, occurred_at)
    WHERE project_id IS NOT NULL;

-- writer: ingest. One row per user and UTC day they did anything, filled in the same transaction as the
-- events it counts and only from rows that transaction inserted, so a redelivery counts nothing twice.
-- `country` is the one of the user's latest event of the day that had one.
CREATE TABLE user_daily_activity (
    day         date NOT NULL,
    user_key    text NOT NULL,
    events      integer NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    country     text,
    PRIMARY KEY (day, user_key)
);
CREATE INDEX user_daily_activity_user_idx ON user_daily_activity (user_key, day);

-- writer: ingest. Creates the partition of one UTC day unless it exists; returns whether it created it.
-- Replicas serialise on a transaction-level advisory lock, so two never race to create the same table.
CREATE FUNCTION product_events_create_partition(p_day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := 'product_events_p' || to_char(p_day, 'YYYYMMDD');
BEGIN
    PERFORM pg_advisory_xact_lock(99155972);  -- 0x5E90004: the partitions of product_events
    IF EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'product_events'::regclass AND c.relname = part
    ) THEN
        RETURN false;
    END IF;
    -- Explicit +00 bounds: a bare timestamp literal would be read in the session's time zone.
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF product_events FOR VALUES FROM (%L) TO (%L)',
        part, to_char(p_day, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(p_day + 1, 'YYYY-MM-DD') || ' 00:00:00+00'
    );
    RETURN true;
END $$;

-- writer: ingest. Drops every daily partition of a day before `p_day`; returns the names dropped.
CREATE FUNCTION product_events_drop_partitions_before(p_day date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    part text;
BEGIN
    PERFORM pg_advisory_xact_lock(99155972);
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'product_events'::regclass
          AND c.relname ~ '^product_events_p[0-9]{8}$'
          AND to_date(substring(c.relname FROM 17), 'YYYYMMDD') < p_day
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT part;
    END LOOP;
END $$;

SELECT product_events_create_partition(day::date)
FROM generate_series(
    (now() AT TIME ZONE 'UTC')::date - 30, (now() AT TIME ZONE 'UTC')::date + 7, interval '1 day'
) AS day;
