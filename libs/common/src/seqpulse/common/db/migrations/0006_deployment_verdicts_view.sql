-- A read model, not a table (no writer): each deployment with its latest verdict version and the
-- "verdict key" the dashboard filters and counts on, so the rule lives in one place.
--
-- The key: an honest "not enough data" (insufficient_data, which never overrides a rollback) is its own
-- key; no verdict yet is `pending`; an expired deployment that will never get one counts as not enough
-- data, like the CLI's exit code 30. Postgres inlines the view, so queries keep their plans.
CREATE VIEW deployment_verdicts AS
SELECT d.id AS deployment_id, v.id AS verdict_id, v.verdict, v.confidence, v.insufficient_data,
       v.created_at AS verdict_created_at,
       CASE
           WHEN v.id IS NULL THEN CASE WHEN d.state = 'expired' THEN 'not_enough_data' ELSE 'pending' END
           WHEN v.insufficient_data AND v.verdict <> 'rollback_recommended' THEN 'not_enough_data'
           ELSE v.verdict
       END AS verdict_key
FROM deployments d
LEFT JOIN LATERAL (
    SELECT v.id, v.verdict, v.confidence, v.insufficient_data, v.created_at
    FROM verdicts v WHERE v.deployment_id = d.id ORDER BY v.version DESC LIMIT 1
) v ON true;
