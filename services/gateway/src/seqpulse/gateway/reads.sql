-- What the dashboard reads. Only SELECTs: collection_*, metric_samples, verdicts and sdh_hints belong
-- to the collector and the analyzer; the gateway never writes them.
-- Visibility: $1 = the caller sees every project (admin), $2 = else only projects it owns.

-- name: deployment_views
SELECT d.*, p.name AS project_name,
       w.state AS window_state, w.cancel_reason, w.close_reason, w.closed_at AS window_closed_at,
       coalesce(s.pre, 0) AS collected_pre, coalesce(s.post, 0) AS collected_post,
       v.id AS verdict_id, v.verdict, v.confidence, v.summary, v.details, v.policy, v.version AS verdict_version,
       v.data_quality, v.insufficient_data, v.comparisons, v.created_at AS verdict_created_at
FROM deployments d
JOIN projects p ON p.id = d.project_id
LEFT JOIN collection_windows w ON w.deployment_id = d.id
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE m.phase = 'pre') AS pre, count(*) FILTER (WHERE m.phase = 'post') AS post
    FROM metric_samples m WHERE m.deployment_id = d.id
) s ON true
-- Replays add versions: the latest one is the verdict.
LEFT JOIN LATERAL (
    SELECT * FROM verdicts v WHERE v.deployment_id = d.id ORDER BY v.version DESC LIMIT 1
) v ON true
WHERE ($1::boolean OR p.owner_id = $2)
  AND ($3::uuid IS NULL OR d.id = $3)
  AND ($4::uuid IS NULL OR d.project_id = $4)
  AND ($5::text IS NULL OR d.env = $5)
  AND ($6::timestamptz IS NULL OR d.started_at < $6)
ORDER BY d.started_at DESC, d.deployment_number DESC
LIMIT $7;

-- name: deployment_id_by_number
SELECT d.id FROM deployments d JOIN projects p ON p.id = d.project_id
WHERE ($1::boolean OR p.owner_id = $2) AND d.project_id = $3 AND d.deployment_number = $4;

-- name: hints_of_verdict
SELECT * FROM sdh_hints WHERE verdict_id = $1
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, created_at, code, metric;

-- name: samples_of_deployment
SELECT phase, sequence_index, scheduled_at, collected_at,
       requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage
FROM metric_samples WHERE deployment_id = $1
ORDER BY collected_at, phase DESC, sequence_index;

-- name: sdh_hints
-- Hints of the latest verdict version of each deployment, newest first.
SELECT h.*, d.deployment_number, d.env, p.name AS project_name, v.version AS verdict_version
FROM sdh_hints h
JOIN verdicts v ON v.id = h.verdict_id
JOIN deployments d ON d.id = h.deployment_id
JOIN projects p ON p.id = d.project_id
WHERE ($1::boolean OR p.owner_id = $2)
  AND v.version = (SELECT max(v2.version) FROM verdicts v2 WHERE v2.deployment_id = h.deployment_id)
  AND ($3::uuid IS NULL OR d.project_id = $3)
  AND ($4::uuid IS NULL OR h.deployment_id = $4)
  AND ($5::text IS NULL OR h.severity = $5)
  AND ($6::text IS NULL OR h.metric = $6)
ORDER BY h.created_at DESC, h.id
LIMIT $7;

-- name: scheduler_snapshot
-- $1: lease overrun (seconds) after which a running job counts as stuck.
SELECT
    (SELECT count(*) FROM collection_jobs WHERE status = 'pending') AS pending,
    (SELECT count(*) FROM collection_jobs WHERE status = 'running') AS running,
    (SELECT count(*) FROM collection_jobs
     WHERE status = 'failed' AND finished_at > now() - interval '1 hour') AS failed_last_hour,
    (SELECT count(*) FROM collection_jobs
     WHERE status = 'running' AND lease_expires_at < now() - make_interval(secs => $1)) AS stuck,
    (SELECT max(beat_at) FROM collector_heartbeats) AS heartbeat_at,
    now() AS now;
