-- The gateway's SQL. It writes users, access_tokens, projects, project_api_keys,
-- project_endpoint_events, deployments and gateway_outbox; everything else here is read-only.


-- name: insert_user
INSERT INTO users (email, name, password_hash, is_admin) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: user_by_email
SELECT id, email, name, is_admin FROM users WHERE lower(email) = lower($1);

-- name: insert_access_token
INSERT INTO access_tokens (user_id, name, token_prefix, token_hash, scopes, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, name, token_prefix, scopes, created_at, last_used_at, expires_at, revoked_at;

-- name: token_principal
SELECT t.id AS token_id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, t.expires_at <= now() AS expired,
       u.id AS user_id, u.is_admin
FROM access_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1;

-- name: touch_access_token
UPDATE access_tokens SET last_used_at = now() WHERE id = $1;

-- name: list_access_tokens
SELECT id, name, token_prefix, scopes, created_at, last_used_at, expires_at, revoked_at
FROM access_tokens WHERE user_id = $1 ORDER BY created_at DESC;

-- name: revoke_access_token
UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND user_id = $2 RETURNING id;


-- name: insert_project
INSERT INTO projects (owner_id, name, description, plan, envs, window_sequences, metrics_endpoint_candidate)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: insert_api_key
INSERT INTO project_api_keys (project_id, key_prefix, key_hash) VALUES ($1, $2, $3);

-- name: revoke_api_keys
UPDATE project_api_keys SET revoked_at = now() WHERE project_id = $1 AND revoked_at IS NULL;

-- name: insert_endpoint_event
-- clock_timestamp, not now(): events of one transaction keep their order in the audit trail.
INSERT INTO project_endpoint_events (project_id, actor_user_id, event_type, payload, created_at)
VALUES ($1, $2, $3, $4, clock_timestamp());

-- name: project_visible
-- $2: the caller sees every project (an admin); $3: else only those it owns.
SELECT p.*, k.key_prefix AS api_key_prefix
FROM projects p
LEFT JOIN project_api_keys k ON k.project_id = p.id AND k.revoked_at IS NULL
WHERE p.id = $1 AND ($2::boolean OR p.owner_id = $3);

-- name: projects_visible
SELECT p.*, k.key_prefix AS api_key_prefix
FROM projects p
LEFT JOIN project_api_keys k ON k.project_id = p.id AND k.revoked_at IS NULL
WHERE $1::boolean OR p.owner_id = $2
ORDER BY p.created_at DESC, p.id;

-- name: lock_project
SELECT * FROM projects WHERE id = $1 FOR UPDATE;

-- name: update_project_settings
UPDATE projects SET name = $2, description = $3, plan = $4, envs = $5, window_sequences = $6, updated_at = now()
WHERE id = $1;

-- name: project_by_api_key
SELECT p.*, k.id AS api_key_id
FROM project_api_keys k JOIN projects p ON p.id = k.project_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL;


-- name: set_endpoint_candidate
UPDATE projects
SET metrics_endpoint_candidate = $2, endpoint_state = 'pending_verification', endpoint_last_test_error = NULL,
    updated_at = now()
WHERE id = $1;

-- name: record_endpoint_test_failure
UPDATE projects
SET endpoint_state = CASE WHEN endpoint_state = 'blocked' THEN 'blocked' ELSE 'pending_verification' END,
    endpoint_last_test_error = $2, updated_at = now()
WHERE id = $1;

-- name: activate_endpoint
UPDATE projects
SET metrics_endpoint_active = $2, endpoint_state = 'active', endpoint_last_verified_at = now(),
    endpoint_last_test_error = NULL, endpoint_host_lock = $3, endpoint_change_count = $4,
    endpoint_migration_count = $5, baseline_version = $6, updated_at = now()
WHERE id = $1;

-- name: set_hmac
-- A NULL secret (disable) keeps the last rotation time; a new secret stamps it.
UPDATE projects
SET hmac_enabled = $2, hmac_secret_enc = $3,
    hmac_rotated_at = CASE WHEN $3::bytea IS NULL THEN hmac_rotated_at ELSE now() END, updated_at = now()
WHERE id = $1;


-- name: deployment_by_idempotency_key
SELECT * FROM deployments WHERE project_id = $1 AND idempotency_key = $2;

-- name: running_deployment
SELECT * FROM deployments WHERE project_id = $1 AND env = $2 AND state = 'running';

-- name: expire_stale_running
-- A deployment never finished (a cancelled pipeline) must not block its env forever; $3 = TTL in seconds.
UPDATE deployments SET state = 'expired'
WHERE project_id = $1 AND env = $2 AND state = 'running' AND started_at < now() - make_interval(secs => $3)
RETURNING id, deployment_number;

-- name: deployments_started_this_month
SELECT count(*) FROM deployments
WHERE project_id = $1 AND started_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

-- name: next_deployment_number
-- Also locks the project row, which serialises concurrent triggers of one project.
UPDATE projects SET deployment_counter = deployment_counter + 1 WHERE id = $1 RETURNING deployment_counter;

-- name: insert_deployment
INSERT INTO deployments (project_id, deployment_number, env, idempotency_key, branch, state, metrics_endpoint,
                         plan, window_sequences, sequence_seconds)
VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9)
RETURNING *;

-- name: deployment_in_project
SELECT * FROM deployments WHERE id = $1 AND project_id = $2;

-- name: finish_deployment
UPDATE deployments
SET state = 'finished', pipeline_result = $2, finished_at = now(),
    duration_ms = greatest(0, (extract(epoch FROM now() - started_at) * 1000)::bigint)
WHERE id = $1 AND state = 'running'
RETURNING *;

-- name: project_policy
SELECT analysis_policy, policy_settings FROM projects WHERE id = $1;

-- name: set_project_policy
UPDATE projects SET analysis_policy = $2, policy_settings = $3, updated_at = now() WHERE id = $1;


-- Accounts: sign-up, sessions, the login rate limit.

-- name: count_users
SELECT count(*) FROM users;

-- name: user_for_login
SELECT id, email, name, is_admin, password_hash FROM users WHERE lower(email) = lower($1);

-- name: user_by_id
SELECT id, email, name, is_admin, created_at, last_login_at FROM users WHERE id = $1;

-- name: touch_login
UPDATE users SET last_login_at = now() WHERE id = $1;

-- name: insert_session
INSERT INTO user_sessions (user_id, token_hash, csrf_token, expires_at) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: session_principal
SELECT s.id AS session_id, s.csrf_token, s.last_seen_at, s.expires_at <= now() AS expired, s.revoked_at,
       u.id AS user_id, u.is_admin, u.email, u.name
FROM user_sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1;

-- name: touch_session
-- Sliding expiry: the session keeps the span it was opened with, counted from now.
UPDATE user_sessions SET expires_at = now() + (expires_at - last_seen_at), last_seen_at = now() WHERE id = $1;

-- name: revoke_session
UPDATE user_sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1;

-- name: record_login_failure
INSERT INTO login_failures (key_hash, window_start, failures) VALUES ($1, $2, 1)
ON CONFLICT (key_hash, window_start) DO UPDATE SET failures = login_failures.failures + 1
RETURNING failures;

-- name: login_failures
SELECT coalesce(sum(failures), 0)::int FROM login_failures WHERE key_hash = $1 AND window_start = $2;

-- name: forget_login_failures
DELETE FROM login_failures WHERE key_hash = $1 OR window_start < $2;


-- Product events.

-- name: project_plans_visible
-- POST /events with a user's credentials: which of the projects $1 the caller may speak for, and their plans.
SELECT id, plan FROM projects WHERE id = ANY($1::uuid[]) AND ($2::boolean OR owner_id = $3);
