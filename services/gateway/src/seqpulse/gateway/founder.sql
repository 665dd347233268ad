-- The Founder View's reads. The ingest service writes the rollups (migration 0007) in the transaction
-- that stores the events, the collector collection_jobs, the gateway api_request_minutes; nothing here
-- writes, and nothing here reads the events themselves: every query reads at most a few thousand rows.
-- Days are UTC days.

-- name: active_user_changes
-- Every change of the rolling active-user counts of everyone (scope ''), DAU/WAU/MAU/60 days, up to $1:
-- the count of a window on day d is the sum of its deltas up to d (founder_metrics.rolling_counts).
SELECT win, day, delta FROM active_user_changes WHERE scope = '' AND day <= $1 ORDER BY win, day;

-- name: countries
-- Users seen in each country (and anywhere: '*') in the 30 days ending on $1.
SELECT substring(scope FROM 3) AS country, sum(delta)::int AS users
FROM active_user_changes
WHERE scope LIKE 'c:%' AND win = 30 AND day <= $1
GROUP BY scope
HAVING sum(delta) > 0;

-- name: cohorts
-- Weekly sign-up cohorts of the $2 weeks ending on $1 (weeks start on Monday, UTC), and for each the
-- users active k weeks after their own sign-up day (k = days since sign-up / 7).
WITH cohort AS (
    SELECT user_key, (signed_up_at AT TIME ZONE 'UTC')::date AS signup_day,
           date_trunc('week', signed_up_at AT TIME ZONE 'UTC')::date AS week
    FROM user_milestones
    WHERE signed_up_at >= (date_trunc('week', $1::date) - make_interval(weeks => $2::int - 1)) AT TIME ZONE 'UTC'
      AND signed_up_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'
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
SELECT count(*)::int AS signed_up,
       count(*) FILTER (WHERE first_project_at >= signed_up_at)::int AS created_project,
       count(*) FILTER (WHERE first_project_at >= signed_up_at
                          AND first_verdict_at >= first_project_at)::int AS got_verdict
FROM user_milestones
WHERE signed_up_at >= $1 AND signed_up_at < $2;

-- name: sessions
-- Sessions that started on the UTC days [$1, $2]: how many, and their summed length.
SELECT coalesce(sum(sessions), 0)::int AS sessions, coalesce(sum(micros), 0)::float8 / 1e6 AS total_seconds
FROM session_days
WHERE day BETWEEN $1 AND $2;

-- name: top_projects
-- The $3 projects with the most events on the UTC days [$1, $2], with their name and their users active
-- in the 30 days ending on $2.
SELECT t.project_id, coalesce(p.name, '(deleted project)') AS name, p.plan, t.events,
       coalesce((SELECT sum(c.delta) FROM active_user_changes c
                 WHERE c.scope = 'p:' || t.project_id AND c.win = 30 AND c.day <= $2), 0)::int AS users
FROM (
    SELECT project_id, sum(events)::int AS events
    FROM project_days
    WHERE day BETWEEN $1 AND $2
    GROUP BY project_id
    ORDER BY events DESC, project_id
    LIMIT $3
) t LEFT JOIN projects p ON p.id = t.project_id
ORDER BY t.events DESC, t.project_id;

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
SELECT last_received_at FROM ingest_watermark;
