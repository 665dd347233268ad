-- Browser sessions and the login rate limit.

-- writer: gateway. A signed-in browser: only a SHA-256 of the cookie value is kept, like access tokens.
CREATE TABLE user_sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL UNIQUE,
    -- Sent back by the page in `X-CSRF-Token` on every state-changing request (synchronizer token).
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

-- writer: gateway. Failed sign-ins per account and fixed window, shared by every gateway replica.
-- The key is a SHA-256 of the lower-cased email: the table says nothing about who tried.
CREATE TABLE login_failures (
    key_hash        bytea NOT NULL,
    window_start    timestamptz NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (key_hash, window_start)
);
