-- Replays and per-project analysis policies.

-- writer: gateway. The policy deciding a project's windows (NULL: the analyzer's default) and its settings.
ALTER TABLE projects ADD COLUMN analysis_policy text;
ALTER TABLE projects ADD COLUMN policy_settings jsonb NOT NULL DEFAULT '{}';

-- writer: analyzer. A replay request id, so a retried request stores one version, not two.
ALTER TABLE verdicts ADD COLUMN request_id uuid UNIQUE;
