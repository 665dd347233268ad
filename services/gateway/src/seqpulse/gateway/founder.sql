-- The Founder View's reads. The ingest service writes product_events and user_daily_activity, the
-- collector collection_jobs, the gateway api_request_minutes; nothing here writes. Days are UTC days.

-- name: rolling_active_users
-- For each day d in [$1, $2]: users active on at least one day of [d - $3 + 1, d] ($3 = 1: DAU, 7: WAU,
-- 30: MAU). One pass: each activity day adds the part of [day, day + $3 - 1] that the user's previous
-- active day did not already cover, as +1/-1 deltas; a running sum gives the exact distinct count.
WITH a AS (
    SELECT day, lag(day) OVER (PARTITION BY user_key ORDER BY day) AS prev
    FROM user_daily_activity
    WHERE day BETWEEN $1::date - ($3::int - 1) AND $2::date
), iv AS (
    SELECT greatest(day, coalesce(prev + $3::int, day)) AS s, day + ($3::int - 1) AS e FROM a
), deltas AS (
    SELECT s AS day, 1 AS d FROM iv WHERE s <= e
    UNION ALL
    SELECT e + 1, -1 FROM iv WHERE s <= e
), running AS (
    SELECT day, sum(sum(d)) OVER (ORDER BY day) AS active FROM deltas GROUP BY day
)
SELECT g.day::date AS day,
       coalesce((SELECT r.active FROM running r WHERE r.day <= g.day::date ORDER BY r.day DESC LIMIT 1), 0)::int
           AS active
FROM generate_series($1::date, $2::date, interval '1 day') AS g(day)
ORDER BY 1;

-- name: countries
-- Users active in [$1, $2] by the country of their latest active day (NULL: unknown).
SELECT country, count(*)::int AS users
FROM (
    SELECT DISTINCT ON (user_key) user_key, country
    FROM user_daily_activity
    WHERE day BETWEEN $1::date AND $2::date
    ORDER BY user_key, day DESC
) latest
GROUP BY country;

-- name: churn
-- Period of $2 days ending on $1: active in the previous period and not in this one (churned), and back.
SELECT count(*) FILTER (WHERE prev)::int AS previous_active,
       count(*) FILTER (WHERE cur)::int AS current_active,
       count(*) FILTER (WHERE prev AND NOT cur)::int AS churned,
       count(*) FILTER (WHERE cur AND NOT prev)::int AS new_or_returning
FROM (
    SELECT user_key, bool_or(day > $1::date - $2::int) AS cur, bool_or(day <= $1::date - $2::int) AS prev
    FROM user_daily_activity
    WHERE day > $1::date - 2 * $2::int AND day <= $1::date
    GROUP BY user_key
) u;

-- name: cohorts
-- Weekly sign-up cohorts of the $2 weeks ending on $1 (weeks start on Monday, UTC), and for each the
-- users active k weeks after their own sign-up day (k = days since sign-up / 7).
WITH signups AS (
    SELECT user_key, min(occurred_at AT TIME ZONE 'UTC')::date AS signup_day
    FROM product_events
    WHERE event_name = 'user_signup' AND user_key IS NOT NULL
      AND occurred_at >= (date_trunc('week', $1::date) - make_interval(weeks => $2::int - 1)) AT TIME ZONE 'UTC'
      AND occurred_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY user_key
), cohort AS (
    SELECT user_key, signup_day, date_trunc('week', signup_day)::date AS week FROM signups
)
SELECT c.week, -1 AS week_offset, count(*)::int AS users FROM cohort c GROUP BY c.week
UNION ALL
SELECT c.week, (a.day - c.signup_day) / 7 AS week_offset, count(DISTINCT c.user_key)::int AS users
FROM cohort c JOIN user_daily_activity a ON a.user_key = c.user_key
WHERE a.day >= c.signup_day AND a.day <= $1::date
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: funnel
-- Of the users who signed up in [$1, $2): how many then created a project, and then got a first verdict.
WITH s AS (
    SELECT user_key, min(occurred_at) AS at FROM product_events
    WHERE event_name = 'user_signup' AND user_key IS NOT NULL AND occurred_at >= $1 AND occurred_at < $2
    GROUP BY user_key
), p AS (
    SELECT s.user_key, min(e.occurred_at) AS at FROM s
    JOIN product_events e ON e.user_key = s.user_key AND e.event_name = 'project_created'
                          AND e.occurred_at >= s.at AND e.occurred_at >= $1
    GROUP BY s.user_key
), v AS (
    SELECT DISTINCT p.user_key FROM p
    JOIN product_events e ON e.user_key = p.user_key AND e.event_name = 'analysis_completed'
                          AND e.occurred_at >= p.at AND e.occurred_at >= $1
)
SELECT (SELECT count(*) FROM s)::int AS signed_up,
       (SELECT count(*) FROM p)::int AS created_project,
       (SELECT count(*) FROM v)::int AS got_verdict;

-- name: sessions
-- Sessions in [$1, $2): a user's events with no gap over 30 minutes; length = last - first event.
WITH e AS (
    SELECT user_key, occurred_at,
           CASE WHEN occurred_at - lag(occurred_at) OVER w <= interval '30 minutes' THEN 0 ELSE 1 END AS starts
    FROM product_events
    WHERE occurred_at >= $1 AND occurred_at < $2 AND user_key IS NOT NULL
    WINDOW w AS (PARTITION BY user_key ORDER BY occurred_at)
), numbered AS (
    SELECT user_key, occurred_at, sum(starts) OVER (PARTITION BY user_key ORDER BY occurred_at) AS n FROM e
), s AS (
    SELECT user_key, extract(epoch FROM max(occurred_at) - min(occurred_at)) AS seconds
    FROM numbered GROUP BY user_key, n
)
SELECT count(*)::int AS sessions, count(DISTINCT user_key)::int AS users,
       coalesce(avg(seconds), 0)::float8 AS avg_seconds, coalesce(sum(seconds), 0)::float8 AS total_seconds
FROM s;

-- name: top_projects
-- The most active projects in [$1, $2): events and distinct users, with the project's name.
SELECT t.project_id, coalesce(p.name, '(deleted project)') AS name, p.plan, t.events, t.users
FROM (
    SELECT project_id, count(*)::int AS events, count(DISTINCT user_key)::int AS users
    FROM product_events
    WHERE occurred_at >= $1 AND occurred_at < $2 AND project_id IS NOT NULL
    GROUP BY project_id
    ORDER BY events DESC
    LIMIT $3
) t LEFT JOIN projects p ON p.id = t.project_id
ORDER BY t.events DESC;

-- name: api_by_hour
-- The gateway's own measurements since $1, per hour and status class.
SELECT date_trunc('hour', minute) AS hour, status_class, sum(requests)::bigint AS requests
FROM api_request_minutes WHERE minute >= $1
GROUP BY 1, 2 ORDER BY 1, 2;

-- name: api_latency_buckets
-- The summed latency histogram since $1 (bucket i counts requests up to BOUNDS_MS[i]).
SELECT coalesce(array_agg(total ORDER BY i), '{}')::bigint[] AS buckets
FROM (
    SELECT i, sum(b)::bigint AS total
    FROM api_request_minutes, unnest(buckets) WITH ORDINALITY AS u(b, i)
    WHERE minute >= $1
    GROUP BY i
) per_bucket;

-- name: jobs
-- $1: lease overrun (seconds) after which a running job counts as stuck.
SELECT
    (SELECT count(*) FROM collection_jobs WHERE status = 'pending')::int AS pending,
    (SELECT count(*) FROM collection_jobs WHERE status = 'running')::int AS running,
    (SELECT count(*) FROM collection_jobs
     WHERE status = 'failed' AND finished_at > now() - interval '24 hours')::int AS failed_24h,
    (SELECT count(*) FROM collection_jobs
     WHERE status = 'running' AND lease_expires_at < now() - make_interval(secs => $1))::int AS stuck;

-- name: last_event
SELECT max(received_at) FROM product_events WHERE received_at > now() - interval '7 days';
