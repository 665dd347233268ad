-- What the Overview, Deployments, Hints and Settings pages read. Only SELECTs, and every query is scoped by
-- `$1` = the signed-in user's id through `projects.owner_id` (pages never widen to every owner's data).
--
-- The verdict a page shows ("verdict key") comes from the `deployment_verdicts` view (migration 0006).
-- Keyset paging: `(started_at, id)` for deployments, `(created_at, id)` for hints, never OFFSET.


-- name: deployments_older
-- The page at or after a cursor, newest first. $2 project, $3 env, $4 verdict key, $5/$6 started in
-- [from, to), $7/$8 the cursor (rows strictly older), $9 limit.
SELECT * FROM (
    SELECT d.id, d.deployment_number, d.project_id, p.name AS project_name, d.env, d.branch, d.state,
           d.pipeline_result, d.started_at, d.finished_at, d.duration_ms,
           w.state AS window_state, v.verdict_id, v.confidence, v.verdict_key
    FROM deployments d
    JOIN projects p ON p.id = d.project_id
    JOIN deployment_verdicts v ON v.deployment_id = d.id
    LEFT JOIN collection_windows w ON w.deployment_id = d.id
    WHERE p.owner_id = $1
      AND ($2::uuid IS NULL OR d.project_id = $2)
      AND ($3::text IS NULL OR d.env = $3)
      AND ($5::timestamptz IS NULL OR d.started_at >= $5)
      AND ($6::timestamptz IS NULL OR d.started_at < $6)
      AND ($7::timestamptz IS NULL OR (d.started_at, d.id) < ($7::timestamptz, $8::uuid))
) listed
WHERE ($4::text IS NULL OR verdict_key = $4)
ORDER BY started_at DESC, id DESC
LIMIT $9;

-- name: deployments_newer
-- The same rows as `deployments_older`, strictly newer than the cursor, oldest first (the page reverses).
SELECT * FROM (
    SELECT d.id, d.deployment_number, d.project_id, p.name AS project_name, d.env, d.branch, d.state,
           d.pipeline_result, d.started_at, d.finished_at, d.duration_ms,
           w.state AS window_state, v.verdict_id, v.confidence, v.verdict_key
    FROM deployments d
    JOIN projects p ON p.id = d.project_id
    JOIN deployment_verdicts v ON v.deployment_id = d.id
    LEFT JOIN collection_windows w ON w.deployment_id = d.id
    WHERE p.owner_id = $1
      AND ($2::uuid IS NULL OR d.project_id = $2)
      AND ($3::text IS NULL OR d.env = $3)
      AND ($5::timestamptz IS NULL OR d.started_at >= $5)
      AND ($6::timestamptz IS NULL OR d.started_at < $6)
      AND (d.started_at, d.id) > ($7::timestamptz, $8::uuid)
) listed
WHERE ($4::text IS NULL OR verdict_key = $4)
ORDER BY started_at ASC, id ASC
LIMIT $9;

-- name: verdict_counts
-- Deployments started in the last 30 days by verdict key, and how many of them in the last 7.
SELECT verdict_key,
       count(*) FILTER (WHERE started_at >= now() - interval '7 days') AS last_7,
       count(*) AS last_30
FROM (
    SELECT d.started_at, v.verdict_key
    FROM deployments d
    JOIN projects p ON p.id = d.project_id
    JOIN deployment_verdicts v ON v.deployment_id = d.id
    WHERE p.owner_id = $1 AND d.started_at >= now() - interval '30 days'
) recent
GROUP BY verdict_key;

-- name: project_health
-- Each project with what decides whether it needs attention: its endpoint, whether it ever deployed, and
-- the latest verdict it got (of its most recent analysed deployment).
SELECT p.id, p.name, p.endpoint_state,
       p.metrics_endpoint_active IS NOT NULL AS has_active_endpoint,
       EXISTS (SELECT 1 FROM deployments d WHERE d.project_id = p.id) AS has_deployments,
       lv.deployment_id AS last_verdict_deployment_id, lv.deployment_number AS last_verdict_number,
       lv.verdict AS last_verdict, lv.insufficient_data AS last_insufficient_data,
       lv.created_at AS last_verdict_at
FROM projects p
LEFT JOIN LATERAL (
    SELECT d.id AS deployment_id, d.deployment_number, v.verdict, v.insufficient_data, v.created_at
    FROM deployments d
    JOIN LATERAL (
        SELECT v.verdict, v.insufficient_data, v.created_at
        FROM verdicts v WHERE v.deployment_id = d.id ORDER BY v.version DESC LIMIT 1
    ) v ON true
    WHERE d.project_id = p.id
    ORDER BY d.started_at DESC, d.id DESC
    LIMIT 1
) lv ON true
WHERE p.owner_id = $1
ORDER BY p.name, p.id;

-- name: project_choices
-- The viewer's projects for the filter selects, and the envs they declare.
SELECT id, name, envs FROM projects WHERE owner_id = $1 ORDER BY name, id;

-- name: hints_older
-- Hints of the latest verdict version of each deployment, newest first. $2 project, $3 severity, $4 metric
-- (the hint's own, or one of a composite's signals), $5/$6 the cursor (strictly older), $7 limit.
SELECT h.id, h.code, h.metric, h.severity, h.title, h.diagnosis, h.suggested_actions, h.observed_value,
       h.threshold, h.confidence, h.evidence, h.composite_signals, h.created_at,
       h.deployment_id, d.deployment_number, d.env, d.project_id, p.name AS project_name
FROM sdh_hints h
JOIN deployments d ON d.id = h.deployment_id
JOIN projects p ON p.id = d.project_id
WHERE p.owner_id = $1
  AND h.verdict_id = (
      SELECT v.id FROM verdicts v WHERE v.deployment_id = h.deployment_id ORDER BY v.version DESC LIMIT 1
  )
  AND ($2::uuid IS NULL OR d.project_id = $2)
  AND ($3::text IS NULL OR h.severity = $3)
  AND ($4::text IS NULL OR h.metric = $4 OR $4 = ANY (h.composite_signals))
  AND ($5::timestamptz IS NULL OR (h.created_at, h.id) < ($5::timestamptz, $6::uuid))
ORDER BY h.created_at DESC, h.id DESC
LIMIT $7;

-- name: hints_newer
-- The same hints as `hints_older`, strictly newer than the cursor, oldest first (the page reverses).
SELECT h.id, h.code, h.metric, h.severity, h.title, h.diagnosis, h.suggested_actions, h.observed_value,
       h.threshold, h.confidence, h.evidence, h.composite_signals, h.created_at,
       h.deployment_id, d.deployment_number, d.env, d.project_id, p.name AS project_name
FROM sdh_hints h
JOIN deployments d ON d.id = h.deployment_id
JOIN projects p ON p.id = d.project_id
WHERE p.owner_id = $1
  AND h.verdict_id = (
      SELECT v.id FROM verdicts v WHERE v.deployment_id = h.deployment_id ORDER BY v.version DESC LIMIT 1
  )
  AND ($2::uuid IS NULL OR d.project_id = $2)
  AND ($3::text IS NULL OR h.severity = $3)
  AND ($4::text IS NULL OR h.metric = $4 OR $4 = ANY (h.composite_signals))
  AND (h.created_at, h.id) > ($5::timestamptz, $6::uuid)
ORDER BY h.created_at ASC, h.id ASC
LIMIT $7;

-- name: account
SELECT id, email, name, is_admin, created_at, last_login_at FROM users WHERE id = $1;

-- name: access_tokens
-- The viewer's personal access tokens, never their hash.
SELECT id, name, token_prefix, scopes, created_at, last_used_at, expires_at, revoked_at,
       expires_at IS NOT NULL AND expires_at <= now() AS expired
FROM access_tokens WHERE user_id = $1
ORDER BY revoked_at IS NOT NULL, created_at DESC, id;
