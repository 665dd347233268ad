-- writer: ingest. The rollup backlog keeps which events a batch stored instead of their summary (ADR 0014):
-- the replica that wrote a batch folds it from the summary it holds in memory, so the backlog's copy is
-- only read after a crash or by another replica, and sending and storing 150 bytes of JSON per event for
-- that cost the batch's transaction more than anything but its COPY. What is kept instead: the events'
-- ids, the span of their times (it prunes the partitions to read), and the transaction that stored them,
-- which is the backlog row's own xmin (Postgres stamps every row a transaction inserts with its id): the
-- events read back are exactly the batch's, even when another batch stored the same id at another time.
--
-- A summary still waiting here cannot be turned into keys: the rollups are then emptied, and the ingest
-- rebuilds them all from the stored events when it next starts (it does so whenever events exist and
-- the rollups were never written).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM rollup_backlog) THEN
        TRUNCATE user_daily_activity, activity_days, active_user_changes, user_milestones, activity_sessions,
                 session_days, project_days, ingest_watermark, rollup_backlog;
    END IF;
END $$;

ALTER TABLE rollup_backlog
    DROP COLUMN summary,
    ADD COLUMN event_ids uuid[] NOT NULL,
    ADD COLUMN first_at timestamptz NOT NULL,
    ADD COLUMN last_at timestamptz NOT NULL;
-- 16 kB of random ids per batch of a thousand: compressing them is effort for nothing.
ALTER TABLE rollup_backlog ALTER COLUMN event_ids SET STORAGE EXTERNAL;
