-- The ingest service finds the stored sessions near a batch's ones with two probes of activity_sessions'
-- primary key (rollups.sql, merge_sessions; ADR 0009): the index on (user_key, ended_at) had no reader
-- left and cost every session written an index entry.
DROP INDEX activity_sessions_end_idx;
