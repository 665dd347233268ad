-- Named queries of the analyzer. It writes verdicts, sdh_hints and analyzer_outbox; it reads
-- deployments, projects (policy; owner and plan for the `analysis_completed` product event) and metric_samples.

-- name: deployment_for_analysis
SELECT d.id, d.project_id, d.window_sequences, d.sequence_seconds, d.finished_at, d.state, d.plan,
       p.owner_id, p.analysis_policy, p.policy_settings, w.state AS window_state, w.closed_at, w.cancel_reason
FROM deployments d
JOIN projects p ON p.id = d.project_id
LEFT JOIN collection_windows w ON w.deployment_id = d.id
WHERE d.id = $1

-- name: samples
SELECT phase, sequence_index, collected_at, requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage
FROM metric_samples WHERE deployment_id = $1
ORDER BY phase, sequence_index

-- name: latest_verdict
SELECT id, version, verdict FROM verdicts WHERE deployment_id = $1 ORDER BY version DESC LIMIT 1

-- name: insert_verdict
INSERT INTO verdicts (deployment_id, project_id, version, policy, verdict, confidence, summary, details,
                      insufficient_data, data_quality, comparisons, cause, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (deployment_id, version) DO NOTHING
RETURNING id

-- name: insert_hint
INSERT INTO sdh_hints (verdict_id, deployment_id, project_id, code, metric, severity, title, diagnosis,
                       suggested_actions, observed_value, threshold, secured_threshold, exceed_ratio, tolerance,
                       confidence, evidence, composite_signals)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)

-- name: verdict_by_request
SELECT id, version, verdict, policy FROM verdicts WHERE request_id = $1

-- name: project_analysed_deployments
-- The latest verdict of each analysed deployment of a project, newest first.
SELECT * FROM (
    SELECT DISTINCT ON (v.deployment_id) v.deployment_id, v.version, v.verdict, v.policy, v.confidence,
           d.deployment_number, d.started_at
    FROM verdicts v JOIN deployments d ON d.id = v.deployment_id
    WHERE v.project_id = $1
    ORDER BY v.deployment_id, v.version DESC
) latest
ORDER BY started_at DESC
LIMIT $2
