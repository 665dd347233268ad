-- The Founder View's rollups (migration 0007, ADRs 0007, 0009, 0011, 0014 and 0016). The transaction that
-- stores a batch adds which events it inserted to the rollup backlog, and the replica keeps their summary
-- (summary.py) in memory; the rollup stage folds the backlog into the rollups in two parts at once, on two
-- connections: `facts` (every rollup but the sessions) and `sessions`. Each part runs under its own lock,
-- one fold of that part at a time across every replica, so each statement below sees every rollup of its
-- part committed before it and nothing half-done; and each marks the backlog rows it folds in the same
-- transaction (rollup_backlog_folded), so it counts a batch once. A row is deleted once both parts have
-- folded it. A redelivered event is not summed: it counts nowhere. A fold's columns arrive as the text of
-- array literals (summary.array_literal), cast here: `$1::text::date[]`.

-- name: create_staging
-- Per connection, emptied at every commit: a batch that repeats stored events is staged here first.
CREATE TEMP TABLE IF NOT EXISTS ingest_staging (LIKE product_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS

-- name: insert_staged
-- The staged events not stored yet go in, in the order of the COPY's (repository._key: by UTC day, the
-- partition, then by key), so two replicas writing the same keys cannot deadlock; returns their keys. A
-- repeat is not returned: it counts nowhere.
INSERT INTO product_events (event_id, occurred_at, received_at, event_name, user_key, project_id, plan,
                            country, source, properties)
SELECT event_id, occurred_at, received_at, event_name, user_key, project_id, plan, country, source,
       properties
FROM ingest_staging
ORDER BY (occurred_at AT TIME ZONE 'UTC')::date, event_id, occurred_at
ON CONFLICT DO NOTHING
RETURNING event_id, occurred_at

-- name: add_to_backlog
-- The batch's new events: their ids (the text of an array literal), the span of their times, and, as the
-- row's xmin, this transaction, which also stamped every event it inserted.
INSERT INTO rollup_backlog (events, event_ids, first_at, last_at) VALUES ($1, $2::text::uuid[], $3, $4)
RETURNING id

-- name: take_backlog
-- The oldest $2 rows of the backlog that part $3 has not folded yet, marked as folded by it (the mark
-- commits with the fold, or not at all); the keys of those whose id is in $1 are not sent back (the
-- folding replica still holds their summary).
WITH taken AS (
    SELECT b.id, b.events, b.event_ids, b.first_at, b.last_at, b.xmin
    FROM rollup_backlog b
    WHERE NOT EXISTS (SELECT 1 FROM rollup_backlog_folded f WHERE f.backlog_id = b.id AND f.part = $3)
    ORDER BY b.id
    LIMIT $2
), marked AS (
    INSERT INTO rollup_backlog_folded (backlog_id, part) SELECT id, $3 FROM taken
)
SELECT id, events, CASE WHEN id = ANY ($1::bigint[]) THEN NULL ELSE event_ids END AS event_ids,
       first_at, last_at, xmin::text::bigint AS stored_by
FROM taken
ORDER BY id

-- name: clear_folded
-- The backlog rows both parts have folded, deleted with their marks; returns them. Two replicas clearing
-- at once delete each row once (the second waits for the first, then finds it gone).
WITH done AS (
    -- Only the marks are read: a backlog left by an outage may be long, its marks are few (unless one part
    -- keeps failing).
    DELETE FROM rollup_backlog b
    WHERE b.id IN (SELECT backlog_id FROM rollup_backlog_folded GROUP BY backlog_id HAVING count(*) = 2)
    RETURNING b.id, b.events
), marks AS (
    DELETE FROM rollup_backlog_folded f WHERE f.backlog_id IN (SELECT id FROM done)
)
SELECT id, events FROM done ORDER BY id

-- name: read_back
-- A batch's events, to sum up again when no replica holds their summary: by id within their span of
-- times (an index probe each, in the partitions of those days only), and only those the batch's own
-- transaction inserted. Only the columns a summary reads (the properties are not detoasted).
SELECT event_id::text, occurred_at, received_at, event_name, user_key, project_id, country
FROM product_events
WHERE event_id = ANY ($1::uuid[]) AND occurred_at BETWEEN $2 AND $3 AND xmin = $4::text::xid

-- name: clear_backlog
-- Before a rebuild, which counts every stored event itself.
TRUNCATE rollup_backlog, rollup_backlog_folded

-- name: lock_part
-- The lock of one part of the fold ($1: 0x5E90006 for `facts`, 0x5E90007 for `sessions`), held to the end
-- of the transaction. JIT off for the rest of the transaction: the planner cannot know how small a fold's
-- arrays are, and compiling the statements it then thinks are costly takes ten times longer than running
-- them.
SELECT pg_advisory_xact_lock($1), set_config('jit', 'off', true)

-- name: lock_rollups
-- Both parts' locks ($1 then $2), held to the end of the transaction: a rebuild and the retention's
-- deletes change every rollup; batches never take either.
SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2), set_config('jit', 'off', true)

-- name: plan_mode
-- How the fold's next statements are planned, for the rest of the transaction: `add_facts` only inserts
-- the rows it is given, and its plan is the same whatever the tables hold, so it runs on its generic
-- plan ('force_generic_plan', made once per connection), which saves a tenth of its time; the
-- statements that probe the rollups are planned for their arrays' lengths at every fold ('auto').
SELECT set_config('plan_cache_mode', $1, true)

-- name: add_facts
-- Daily activity, the scoped active days, first steps, per-project counts and the watermark, from the
-- fold's summary (summary.py: $1-$5 user days, $6-$8 scoped facts, $9-$12 first steps, $13-$15 project
-- days, $16 the latest received_at). Returns the (user, scope, day) facts that did not exist before, scope
-- '' for plain activity, for add_active_user_changes.
WITH activity AS (
    INSERT INTO user_daily_activity AS a (day, user_key, events, first_at, last_at)
    SELECT * FROM unnest($1::text::date[], $2::text::text[], $3::text::int[],
                         $4::text::timestamptz[], $5::text::timestamptz[])
    ON CONFLICT (day, user_key) DO UPDATE SET
        events = a.events + EXCLUDED.events,
        first_at = least(a.first_at, EXCLUDED.first_at),
        last_at = greatest(a.last_at, EXCLUDED.last_at)
    RETURNING user_key, day, xmax = 0 AS created
), scoped AS (
    INSERT INTO activity_days (user_key, scope, day)
    SELECT * FROM unnest($6::text::text[], $7::text::text[], $8::text::date[])
    ON CONFLICT DO NOTHING
    RETURNING user_key, scope, day
), milestones AS (
    INSERT INTO user_milestones AS m (user_key, signed_up_at, first_project_at, first_verdict_at)
    SELECT * FROM unnest($9::text::text[], $10::text::timestamptz[], $11::text::timestamptz[],
                         $12::text::timestamptz[])
    ON CONFLICT (user_key) DO UPDATE SET
        signed_up_at = least(m.signed_up_at, EXCLUDED.signed_up_at),
        first_project_at = least(m.first_project_at, EXCLUDED.first_project_at),
        first_verdict_at = least(m.first_verdict_at, EXCLUDED.first_verdict_at)
), projects AS (
    INSERT INTO project_days AS p (day, project_id, events)
    SELECT * FROM unnest($13::text::date[], $14::text::uuid[], $15::text::int[])
    ON CONFLICT (day, project_id) DO UPDATE SET events = p.events + EXCLUDED.events
), watermark AS (
    -- None when the fold counts no event: batches whose events were gone before they were read back
    -- (their partition dropped by the retention, or the table emptied by hand) fold into nothing.
    INSERT INTO ingest_watermark AS w (last_received_at)
    SELECT $16::timestamptz WHERE $16::timestamptz IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET last_received_at = greatest(w.last_received_at, EXCLUDED.last_received_at)
)
SELECT user_key, ''::text AS scope, day FROM activity WHERE created
UNION ALL
SELECT user_key, scope, day FROM scoped

-- name: add_active_user_changes
-- What the new facts change in the rolling counts. For a user and scope, an active day A counts on the
-- days [A, min(A + win - 1, next(A) - 1)], next(A) being the user's next active day in the scope. A new
-- day A adds its own range; the old day P just before it (if any) loses the part of its range from A on.
-- Lookups go no further than 60 days (the longest window): a day further away changes nothing.
-- $1-$3: the new facts (what add_facts returned), column by column.
WITH facts AS MATERIALIZED (
    SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::text::date[]) AS f(user_key, scope, day)
), new AS (
    -- Each lookup reads the fact's own table, plain activity (scope '') user_daily_activity and the others
    -- activity_days: CASE runs the probe of its branch only (through the view activity_facts, each probe
    -- merged two index scans, one of them stopped by a filter).
    SELECT f.user_key, f.scope, f.day,
           CASE WHEN f.scope = '' THEN
               (SELECT min(a.day) FROM user_daily_activity a
                WHERE a.user_key = f.user_key AND a.day > f.day AND a.day <= f.day + 60)
           ELSE
               (SELECT min(a.day) FROM activity_days a
                WHERE a.user_key = f.user_key AND a.scope = f.scope AND a.day > f.day AND a.day <= f.day + 60)
           END AS next_day,
           CASE WHEN f.scope = '' THEN
               (SELECT max(a.day) FROM user_daily_activity a
                WHERE a.user_key = f.user_key AND a.day < f.day AND a.day >= f.day - 60)
           ELSE
               (SELECT max(a.day) FROM activity_days a
                WHERE a.user_key = f.user_key AND a.scope = f.scope AND a.day < f.day AND a.day >= f.day - 60)
           END AS prev_day
    FROM facts f
), prev_old AS (
    -- The previous day when it is an old one, and the old day that used to follow it.
    SELECT n.scope, n.prev_day AS day, n.day AS next_day,
           (SELECT min(a.day) FROM activity_facts a
            WHERE a.user_key = n.user_key AND a.scope = n.scope
              AND a.day > n.day AND a.day <= n.prev_day + 60
              AND NOT EXISTS (SELECT 1 FROM facts x
                              WHERE x.user_key = a.user_key AND x.scope = a.scope AND x.day = a.day))
               AS old_next
    FROM new n
    WHERE n.prev_day IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM facts x
                      WHERE x.user_key = n.user_key AND x.scope = n.scope AND x.day = n.prev_day)
), ranges AS (
    SELECT n.scope, w.win, n.day AS first, least(n.day + w.win - 1, n.next_day - 1) AS last, 1 AS sign
    FROM new n, unnest(active_user_windows(n.scope)) AS w(win)
    UNION ALL
    SELECT p.scope, w.win, least(p.day + w.win - 1, p.next_day - 1) + 1,
           least(p.day + w.win - 1, p.old_next - 1), -1
    FROM prev_old p, unnest(active_user_windows(p.scope)) AS w(win)
), deltas AS (
    SELECT scope, win, first AS day, sign AS delta FROM ranges WHERE first <= last
    UNION ALL
    SELECT scope, win, last + 1, -sign FROM ranges WHERE first <= last
)
INSERT INTO active_user_changes AS c (scope, win, day, delta)
SELECT scope, win, day, sum(delta) FROM deltas
GROUP BY 1, 2, 3
HAVING sum(delta) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (scope, win, day) DO UPDATE SET delta = c.delta + EXCLUDED.delta

-- name: merge_sessions
-- The fold's own sessions ($1-$4: user, start, end, events; summary.py cut them at gaps over 30
-- minutes) each take in the stored sessions within 30 minutes of them, and the pieces that now touch
-- become one session. session_days loses the sessions taken in and gains the merged ones.
WITH own AS MATERIALIZED (
    SELECT * FROM unnest($1::text::text[], $2::text::timestamptz[], $3::text::timestamptz[], $4::text::int[])
        AS o(user_key, started_at, ended_at, events)
), touching AS (
    -- A user's stored sessions are apart by more than 30 minutes, so those within 30 minutes of `o` are
    -- the ones starting in (o.start - 30 min, o.end + 30 min] and, before those, only the latest one:
    -- two probes of the primary key, which also give the rows' places for the delete.
    SELECT DISTINCT t.ctid
    FROM own o
    CROSS JOIN LATERAL (
        SELECT s.ctid FROM activity_sessions s
        WHERE s.user_key = o.user_key
          AND s.started_at > o.started_at - interval '30 minutes'
          AND s.started_at <= o.ended_at + interval '30 minutes'
        UNION ALL
        SELECT b.ctid FROM (
            SELECT s.ctid, s.ended_at FROM activity_sessions s
            WHERE s.user_key = o.user_key AND s.started_at <= o.started_at - interval '30 minutes'
            ORDER BY s.started_at DESC
            LIMIT 1
        ) b
        WHERE b.ended_at >= o.started_at - interval '30 minutes'
    ) t
), taken AS (
    DELETE FROM activity_sessions s
    WHERE s.ctid = ANY (ARRAY(SELECT ctid FROM touching))
    RETURNING s.user_key, s.started_at, s.ended_at, s.events
), pieces AS (
    -- Only a user with a stored session taken in has pieces to join: the fold's own sessions of any
    -- other user are more than 30 minutes apart already, and go in as they are (below).
    SELECT o.user_key, o.started_at, o.ended_at, o.events FROM own o
    WHERE EXISTS (SELECT 1 FROM taken t WHERE t.user_key = o.user_key)
    UNION ALL
    SELECT user_key, started_at, ended_at, events FROM taken
), joined AS (
    SELECT *, CASE WHEN started_at - max(ended_at) OVER w <= interval '30 minutes' THEN 0 ELSE 1 END AS starts
    FROM pieces
    WINDOW w AS (PARTITION BY user_key ORDER BY started_at, ended_at
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), islands AS (
    SELECT *, sum(starts) OVER (PARTITION BY user_key ORDER BY started_at, ended_at) AS n FROM joined
), merged AS (
    INSERT INTO activity_sessions (user_key, started_at, ended_at, events)
    SELECT o.user_key, o.started_at, o.ended_at, o.events FROM own o
    WHERE NOT EXISTS (SELECT 1 FROM taken t WHERE t.user_key = o.user_key)
    UNION ALL
    SELECT user_key, min(started_at), max(ended_at), sum(events)
    FROM islands GROUP BY user_key, n
    ORDER BY 1, 2
    RETURNING started_at, ended_at
), changes AS (
    SELECT (started_at AT TIME ZONE 'UTC')::date AS day, 1 AS sessions,
           (extract(epoch FROM ended_at - started_at) * 1000000)::bigint AS micros
    FROM merged
    UNION ALL
    SELECT (started_at AT TIME ZONE 'UTC')::date, -1,
           -(extract(epoch FROM ended_at - started_at) * 1000000)::bigint
    FROM taken
)
INSERT INTO session_days AS d (day, sessions, micros)
SELECT day, sum(sessions), sum(micros) FROM changes
GROUP BY day
ORDER BY day
ON CONFLICT (day) DO UPDATE SET sessions = d.sessions + EXCLUDED.sessions, micros = d.micros + EXCLUDED.micros

-- name: rebuild
-- Every rollup recomputed from the events kept (after restoring a backup, or to check the incremental
-- upkeep): the same tables the folds keep, built in one pass. Run under the rollup lock.
TRUNCATE user_daily_activity, activity_days, active_user_changes, user_milestones, activity_sessions,
         session_days, project_days, ingest_watermark;
INSERT INTO user_daily_activity (day, user_key, events, first_at, last_at)
SELECT (occurred_at AT TIME ZONE 'UTC')::date, user_key, count(*), min(occurred_at), max(occurred_at)
FROM product_events WHERE user_key IS NOT NULL
GROUP BY 1, 2;
INSERT INTO activity_days (user_key, scope, day)
SELECT DISTINCT e.user_key, s.scope, (e.occurred_at AT TIME ZONE 'UTC')::date
FROM product_events e,
     LATERAL (VALUES ('c:' || e.country), (CASE WHEN e.country IS NOT NULL THEN 'c:*' END),
                     ('p:' || e.project_id)) AS s(scope)
WHERE e.user_key IS NOT NULL AND s.scope IS NOT NULL;
WITH f AS (
    SELECT user_key, scope, day, lead(day) OVER (PARTITION BY user_key, scope ORDER BY day) AS next_day
    FROM activity_facts
), r AS (
    SELECT f.scope, w.win, f.day AS first, least(f.day + w.win - 1, f.next_day - 1) AS last
    FROM f, unnest(active_user_windows(f.scope)) AS w(win)
)
INSERT INTO active_user_changes (scope, win, day, delta)
SELECT scope, win, day, sum(delta)
FROM (
    SELECT scope, win, first AS day, 1 AS delta FROM r
    UNION ALL
    SELECT scope, win, last + 1, -1 FROM r
) d
GROUP BY 1, 2, 3
HAVING sum(delta) <> 0;
INSERT INTO user_milestones (user_key, signed_up_at, first_project_at, first_verdict_at)
SELECT user_key,
       min(occurred_at) FILTER (WHERE event_name = 'user_signup'),
       min(occurred_at) FILTER (WHERE event_name = 'project_created'),
       min(occurred_at) FILTER (WHERE event_name = 'analysis_completed')
FROM product_events
WHERE user_key IS NOT NULL AND event_name IN ('user_signup', 'project_created', 'analysis_completed')
GROUP BY user_key;
INSERT INTO activity_sessions (user_key, started_at, ended_at, events)
SELECT user_key, min(occurred_at), max(occurred_at), count(*)
FROM (
    SELECT user_key, occurred_at, sum(starts) OVER (PARTITION BY user_key ORDER BY occurred_at) AS n
    FROM (
        SELECT user_key, occurred_at,
               CASE WHEN occurred_at - lag(occurred_at) OVER (PARTITION BY user_key ORDER BY occurred_at)
                         <= interval '30 minutes' THEN 0 ELSE 1 END AS starts
        FROM product_events WHERE user_key IS NOT NULL
    ) gaps
) numbered
GROUP BY user_key, n;
INSERT INTO session_days (day, sessions, micros)
SELECT (started_at AT TIME ZONE 'UTC')::date, count(*),
       sum((extract(epoch FROM ended_at - started_at) * 1000000)::bigint)
FROM activity_sessions GROUP BY 1;
INSERT INTO project_days (day, project_id, events)
SELECT (occurred_at AT TIME ZONE 'UTC')::date, project_id, count(*)
FROM product_events WHERE project_id IS NOT NULL GROUP BY 1, 2;
INSERT INTO ingest_watermark (last_received_at)
SELECT max(received_at) FROM product_events HAVING count(*) > 0
