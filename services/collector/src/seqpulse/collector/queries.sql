-- Named queries of the collector. It writes collection_jobs, collection_windows, metric_samples,
-- collector_heartbeats and collector_outbox; it reads deployments and projects.

-- name: insert_job
INSERT INTO collection_jobs (deployment_id, project_id, phase, sequence_index, scheduled_at, deadline_at,
                             trace_headers)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (deployment_id, phase, sequence_index) DO NOTHING

-- name: insert_window
INSERT INTO collection_windows (deployment_id, project_id, expected_post, sequence_seconds, finished_at,
                                deadline_at, trace_headers)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (deployment_id) DO NOTHING
RETURNING deployment_id

-- name: pre_job_rejection
SELECT last_error FROM collection_jobs
WHERE deployment_id = $1 AND phase = 'pre' AND status = 'failed' AND last_error LIKE 'hmac_rejected%'
LIMIT 1

-- name: claim_due_jobs
-- Due pending jobs, and running jobs whose lease ran out (their worker died), oldest first.
WITH due AS (
    SELECT id FROM collection_jobs
    WHERE (status = 'pending' AND scheduled_at <= clock_timestamp())
       OR (status = 'running' AND lease_expires_at < clock_timestamp())
    ORDER BY scheduled_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE collection_jobs j
SET status = 'running', attempts = j.attempts + 1,
    lease_expires_at = clock_timestamp() + make_interval(secs => $2),
    started_at = clock_timestamp()
FROM due
WHERE j.id = due.id
RETURNING j.id, j.deployment_id, j.project_id, j.phase, j.sequence_index, j.scheduled_at, j.deadline_at,
          j.attempts, j.trace_headers, j.started_at,
          EXTRACT(EPOCH FROM (j.started_at - j.scheduled_at))::float8 AS start_lag_seconds

-- name: next_wakeup
SELECT LEAST(
    (SELECT min(scheduled_at) FROM collection_jobs WHERE status = 'pending'),
    (SELECT min(lease_expires_at) FROM collection_jobs WHERE status = 'running'),
    (SELECT min(deadline_at) FROM collection_windows WHERE state = 'open')
) - clock_timestamp() AS wait

-- name: probe_target
SELECT d.metrics_endpoint, p.hmac_enabled, p.hmac_secret_enc
FROM deployments d JOIN projects p ON p.id = d.project_id
WHERE d.id = $1

-- name: insert_sample
INSERT INTO metric_samples (deployment_id, project_id, phase, sequence_index, scheduled_at, collected_at,
                            requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (deployment_id, phase, sequence_index) DO NOTHING
RETURNING id

-- name: finish_job
-- Only the worker holding the lease may finish a job: a job reclaimed after a lease expiry is not
-- finished twice.
UPDATE collection_jobs
SET status = $3, last_error = COALESCE($4, last_error), finished_at = clock_timestamp(), lease_expires_at = NULL
WHERE id = $1 AND status = 'running' AND attempts = $2
RETURNING id

-- name: retry_job
UPDATE collection_jobs
SET status = 'pending', last_error = $3, scheduled_at = $4, lease_expires_at = NULL
WHERE id = $1 AND status = 'running' AND attempts = $2
RETURNING id

-- name: lock_window
SELECT deployment_id, project_id, expected_post, state, trace_headers
FROM collection_windows WHERE deployment_id = $1
FOR UPDATE

-- name: window_counts
SELECT
    count(*) FILTER (WHERE phase = 'post' AND status IN ('pending', 'running')) AS open_post,
    (SELECT count(*) FROM metric_samples s WHERE s.deployment_id = $1 AND s.phase = 'post') AS collected_post,
    (SELECT count(*) FROM metric_samples s WHERE s.deployment_id = $1 AND s.phase = 'pre') AS collected_pre
FROM collection_jobs WHERE deployment_id = $1

-- name: close_window
UPDATE collection_windows
SET state = $2, close_reason = $3, cancel_reason = $4, closed_at = clock_timestamp()
WHERE deployment_id = $1 AND state = 'open'
RETURNING deployment_id

-- name: cancel_open_jobs
UPDATE collection_jobs
SET status = 'cancelled', last_error = $2, finished_at = clock_timestamp(), lease_expires_at = NULL
WHERE deployment_id = $1 AND status IN ('pending', 'running')

-- name: miss_open_post_jobs
UPDATE collection_jobs
SET status = 'missed', last_error = 'window deadline passed', finished_at = clock_timestamp(),
    lease_expires_at = NULL
WHERE deployment_id = $1 AND phase = 'post' AND status IN ('pending', 'running')

-- name: overdue_windows
SELECT deployment_id FROM collection_windows
WHERE state = 'open' AND deadline_at < clock_timestamp()
ORDER BY deadline_at
LIMIT 50

-- name: heartbeat
INSERT INTO collector_heartbeats (instance_id) VALUES ($1)
ON CONFLICT (instance_id) DO UPDATE SET beat_at = now()

-- name: job_counts
SELECT
    count(*) FILTER (WHERE status = 'pending') AS pending,
    count(*) FILTER (WHERE status = 'running') AS running
FROM collection_jobs WHERE status IN ('pending', 'running')

-- name: window_trace
SELECT trace_headers FROM collection_windows WHERE deployment_id = $1
