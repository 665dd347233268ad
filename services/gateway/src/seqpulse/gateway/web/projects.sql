-- What the Projects pages read beyond the API's own queries. Only SELECTs.
-- Visibility: $1 = the viewer sees every project (admin), $2 = else only projects it owns.

-- name: project_summaries
-- Each project with its latest deployment and that deployment's latest verdict (replays add versions).
SELECT p.id, p.name, p.plan, p.endpoint_state, p.created_at,
       d.id AS deployment_id, d.deployment_number, d.env, d.state, d.started_at,
       w.state AS window_state, v.verdict
FROM projects p
LEFT JOIN LATERAL (
    SELECT * FROM deployments d WHERE d.project_id = p.id
    ORDER BY d.started_at DESC, d.deployment_number DESC LIMIT 1
) d ON true
LEFT JOIN collection_windows w ON w.deployment_id = d.id
LEFT JOIN LATERAL (
    SELECT v.verdict FROM verdicts v WHERE v.deployment_id = d.id ORDER BY v.version DESC LIMIT 1
) v ON true
WHERE $1::boolean OR p.owner_id = $2
ORDER BY p.created_at DESC, p.id;
