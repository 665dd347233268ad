-- The deployment-verification core. Each table names its one writing service.

-- writer: gateway
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL,
    name            text NOT NULL,
    password_hash   text,
    is_admin        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- writer: gateway. Personal access tokens: only a SHA-256 of the (high-entropy) token is kept.
CREATE TABLE access_tokens (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    token_prefix    text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    scopes          text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    expires_at      timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id);

-- writer: gateway
CREATE TABLE projects (
    id                              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id                        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                            text NOT NULL,
    description                     text NOT NULL DEFAULT '',
    plan                            text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
    envs                            text[] NOT NULL DEFAULT ARRAY['prod'],
    window_sequences                integer CHECK (window_sequences BETWEEN 1 AND 120),
    metrics_endpoint_candidate      text,
    metrics_endpoint_active         text,
    endpoint_state                  text NOT NULL DEFAULT 'pending_verification'
                                    CHECK (endpoint_state IN ('pending_verification', 'active', 'blocked')),
    endpoint_host_lock              text,
    endpoint_change_count           integer NOT NULL DEFAULT 0,
    endpoint_migration_count        integer NOT NULL DEFAULT 0,
    endpoint_last_verified_at       timestamptz,
    endpoint_last_test_error        text,
    baseline_version                integer NOT NULL DEFAULT 1,
    hmac_enabled                    boolean NOT NULL DEFAULT false,
    -- AES-GCM ciphertext of the secret (key from SEQPULSE_SECRET_KEY): the collector needs it to sign.
    hmac_secret_enc                 bytea,
    hmac_rotated_at                 timestamptz,
    deployment_counter              bigint NOT NULL DEFAULT 0,
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_owner_idx ON projects (owner_id);

-- writer: gateway. Project API keys (`SP_…`), hashed; rotation revokes the old key.
CREATE TABLE project_api_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key_prefix      text NOT NULL,
    key_hash        bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE UNIQUE INDEX project_api_keys_one_active ON project_api_keys (project_id) WHERE revoked_at IS NULL;

-- writer: gateway. Audit of metrics-endpoint changes and tests.
CREATE TABLE project_endpoint_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    actor_user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_endpoint_events_project_idx ON project_endpoint_events (project_id, created_at);

-- writer: gateway
CREATE TABLE deployments (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id          uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    deployment_number   bigint NOT NULL,
    env                 text NOT NULL,
    idempotency_key     text,
    branch              text,
    state               text NOT NULL CHECK (state IN ('running', 'finished', 'expired')),
    pipeline_result     text CHECK (pipeline_result IN ('success', 'failed')),
    metrics_endpoint    text NOT NULL,
    plan                text NOT NULL,
    window_sequences    integer NOT NULL,
    sequence_seconds    double precision NOT NULL,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    duration_ms         bigint,
    UNIQUE (project_id, deployment_number)
);
CREATE UNIQUE INDEX deployments_idempotency_key ON deployments (project_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX deployments_one_running ON deployments (project_id, env) WHERE state = 'running';
CREATE INDEX deployments_project_started_idx ON deployments (project_id, started_at DESC);

-- One outbox per writing service: rows committed with the change they announce, published then deleted.
CREATE TABLE gateway_outbox (
    id          uuid PRIMARY KEY,
    subject     text NOT NULL,
    payload     bytea NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- writer: collector. One row per deployment once its post window is known.
CREATE TABLE collection_windows (
    deployment_id       uuid PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
    project_id          uuid NOT NULL,
    expected_post       integer NOT NULL,
    sequence_seconds    double precision NOT NULL,
    finished_at         timestamptz NOT NULL,
    deadline_at         timestamptz NOT NULL,
    state               text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'cancelled')),
    close_reason        text,
    cancel_reason       text,
    trace_headers       jsonb NOT NULL DEFAULT '{}',
    opened_at           timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz
);
CREATE INDEX collection_windows_open_idx ON collection_windows (deadline_at) WHERE state = 'open';

-- writer: collector. The persistent job table: one job per pre sample and per post sequence.
CREATE TABLE collection_jobs (
    id                  bigserial PRIMARY KEY,
    deployment_id       uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    project_id          uuid NOT NULL,
    phase               text NOT NULL CHECK (phase IN ('pre', 'post')),
    sequence_index      integer NOT NULL,
    scheduled_at        timestamptz NOT NULL,
    deadline_at         timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled', 'missed')),
    attempts            integer NOT NULL DEFAULT 0,
    lease_expires_at    timestamptz,
    last_error          text,
    trace_headers       jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    UNIQUE (deployment_id, phase, sequence_index)
);
CREATE INDEX collection_jobs_due_idx ON collection_jobs (scheduled_at) WHERE status = 'pending';
CREATE INDEX collection_jobs_lease_idx ON collection_jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX collection_jobs_failed_idx ON collection_jobs (finished_at) WHERE status = 'failed';

-- writer: collector. Liveness of each collector replica's scheduler loop, for /health/scheduler.
CREATE TABLE collector_heartbeats (
    instance_id     text PRIMARY KEY,
    beat_at         timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz NOT NULL DEFAULT now()
);

-- writer: collector
CREATE TABLE metric_samples (
    id                  bigserial PRIMARY KEY,
    deployment_id       uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    project_id          uuid NOT NULL,
    phase               text NOT NULL CHECK (phase IN ('pre', 'post')),
    sequence_index      integer NOT NULL,
    scheduled_at        timestamptz NOT NULL,
    collected_at        timestamptz NOT NULL,
    requests_per_sec    double precision NOT NULL CHECK (requests_per_sec >= 0),
    latency_p95         double precision NOT NULL CHECK (latency_p95 >= 0),
    error_rate          double precision NOT NULL CHECK (error_rate BETWEEN 0 AND 1),
    cpu_usage           double precision NOT NULL CHECK (cpu_usage BETWEEN 0 AND 1),
    memory_usage        double precision NOT NULL CHECK (memory_usage BETWEEN 0 AND 1),
    UNIQUE (deployment_id, phase, sequence_index)
);

CREATE TABLE collector_outbox (LIKE gateway_outbox INCLUDING ALL);

-- writer: analyzer. Verdicts are versioned: version 1 from the window, later versions from replays.
CREATE TABLE verdicts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    deployment_id       uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    project_id          uuid NOT NULL,
    version             integer NOT NULL,
    policy              text NOT NULL,
    verdict             text NOT NULL CHECK (verdict IN ('ok', 'warning', 'rollback_recommended')),
    confidence          double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    summary             text NOT NULL,
    details             text[] NOT NULL,
    insufficient_data   boolean NOT NULL DEFAULT false,
    data_quality        jsonb NOT NULL,
    comparisons         jsonb NOT NULL,
    cause               text NOT NULL DEFAULT 'window_closed',
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (deployment_id, version)
);
CREATE INDEX verdicts_project_idx ON verdicts (project_id, created_at DESC);

-- writer: analyzer. Every hint decided is stored: unique per verdict, code and metric.
CREATE TABLE sdh_hints (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    verdict_id          uuid NOT NULL REFERENCES verdicts (id) ON DELETE CASCADE,
    deployment_id       uuid NOT NULL,
    project_id          uuid NOT NULL,
    code                text NOT NULL,
    metric              text NOT NULL,
    severity            text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    title               text NOT NULL,
    diagnosis           text NOT NULL,
    suggested_actions   text[] NOT NULL,
    observed_value      double precision,
    threshold           double precision,
    secured_threshold   double precision,
    exceed_ratio        double precision,
    tolerance           double precision,
    confidence          double precision NOT NULL,
    evidence            jsonb NOT NULL DEFAULT '{}',
    composite_signals   text[] NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (verdict_id, code, metric)
);
CREATE INDEX sdh_hints_deployment_idx ON sdh_hints (deployment_id);
CREATE INDEX sdh_hints_project_idx ON sdh_hints (project_id, severity, created_at DESC);

CREATE TABLE analyzer_outbox (LIKE gateway_outbox INCLUDING ALL);
