-- writer: ingest. The rollup backlog (ADR 0011): a batch's transaction stores its events and, here, the
-- summary of what they add to the Founder View's rollups (services/ingest/.../summary.py, as JSON). The
-- rollup stage folds every summary committed so far into the rollups and deletes it, in one transaction
-- under the rollup lock: each summary counts exactly once, whichever replica folds it, and a crash
-- between the two leaves it here for the next fold.
CREATE TABLE rollup_backlog (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    events      integer NOT NULL CHECK (events > 0),
    summary     bytea NOT NULL
);
