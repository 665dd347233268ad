-- The Founder View's rollups (ADR 0007). The ingest service keeps them in the transaction that stores
-- the events, from the rows that transaction inserted, one batch at a time under the rollup lock
-- (advisory lock 0x5E90006), so every number the view shows is exact and reads a few thousand rows
-- instead of millions of events. Days are UTC days throughout.

-- Countries are counted from the located facts below, exactly; the "latest country of the day" this
-- column held could not be kept exact when events of a day arrive out of order.
ALTER TABLE user_daily_activity DROP COLUMN country;

-- writer: ingest. Which days a user was active in a scope other than "anywhere" (that one is
-- user_daily_activity): 'c:FR' an event located in France, 'c:*' an event located anywhere,
-- 'p:<project uuid>' an event of that project.
CREATE TABLE activity_days (
    user_key    text NOT NULL,
    scope       text NOT NULL,
    day         date NOT NULL,
    PRIMARY KEY (user_key, scope, day)
);

-- Every (user, scope, day) fact; scope '' is plain activity.
CREATE VIEW activity_facts AS
    SELECT user_key, ''::text AS scope, day FROM user_daily_activity
    UNION ALL
    SELECT user_key, scope, day FROM activity_days;

-- The rolling windows counted for a scope: DAU, WAU, MAU and the 60 days churn needs for everyone;
-- 30 days (monthly active users) for a country or a project.
CREATE FUNCTION active_user_windows(p_scope text) RETURNS int[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_scope = '' THEN '{1,7,30,60}'::int[] ELSE '{30}'::int[] END
$$;

-- writer: ingest. Rolling active users as a difference array: the users of `scope` active on at least
-- one of the `win` days ending on day d number sum(delta) over the rows of (scope, win) with day <= d.
-- Each active day adds +1 from itself to the end of its window or the user's next active day, whichever
-- comes first, so a user counts once per day whatever order their days arrive in.
CREATE TABLE active_user_changes (
    scope       text NOT NULL,
    win         smallint NOT NULL,
    day         date NOT NULL,
    delta       integer NOT NULL,
    PRIMARY KEY (scope, win, day)
);

-- writer: ingest. When each user first signed up, created a project, got a verdict (funnel, cohorts).
-- Kept past the events' retention: a first step stays a first step.
CREATE TABLE user_milestones (
    user_key            text PRIMARY KEY,
    signed_up_at        timestamptz,
    first_project_at    timestamptz,
    first_verdict_at    timestamptz
);
CREATE INDEX user_milestones_signup_idx ON user_milestones (signed_up_at) WHERE signed_up_at IS NOT NULL;

-- writer: ingest. Sessions: a user's events with no gap over 30 minutes. An event that arrives late
-- joins, extends or bridges the sessions within 30 minutes of it, so the table is the same whatever the
-- arrival order. Length = last event - first event.
CREATE TABLE activity_sessions (
    user_key    text NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL,
    events      integer NOT NULL,
    PRIMARY KEY (user_key, started_at)
);
CREATE INDEX activity_sessions_end_idx ON activity_sessions (user_key, ended_at);

-- writer: ingest. Sessions by the UTC day they started: how many, and their summed length.
CREATE TABLE session_days (
    day         date PRIMARY KEY,
    sessions    integer NOT NULL,
    micros      bigint NOT NULL
);

-- writer: ingest. Events per project and UTC day (top projects).
CREATE TABLE project_days (
    day         date NOT NULL,
    project_id  uuid NOT NULL,
    events      integer NOT NULL,
    PRIMARY KEY (day, project_id)
);

-- writer: ingest. One row: when the newest stored event was received ("no events lately").
CREATE TABLE ingest_watermark (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_received_at    timestamptz NOT NULL
);
