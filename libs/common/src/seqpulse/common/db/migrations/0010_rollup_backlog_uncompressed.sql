-- writer: ingest. A summary waits in the backlog for a fraction of a second before its fold deletes it:
-- compressing it (100-150 kB of JSON per batch of a thousand events) cost the batch's transaction more
-- than storing it whole. Kept out of line, uncompressed.
ALTER TABLE rollup_backlog ALTER COLUMN summary SET STORAGE EXTERNAL;
