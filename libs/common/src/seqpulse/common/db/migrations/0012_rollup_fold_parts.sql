-- writer: ingest. The rollup backlog is folded by two folds that run at the same time (ADR 0016): `facts`
-- (daily activity, scoped active days, first steps, project days, the rolling counts, the watermark) and
-- `sessions` (activity_sessions, session_days). Each marks here, in the transaction that folds a backlog
-- row into its rollups, that it has done so, so each counts a batch once; the row and its marks are
-- deleted once both have. A row left by an older version has no mark: both folds take it in.
CREATE TABLE rollup_backlog_folded (
    backlog_id  bigint NOT NULL,
    part        text NOT NULL CHECK (part IN ('facts', 'sessions')),
    PRIMARY KEY (backlog_id, part)
);
