-- Key lookups by tail and runs (docs/design/sign-in-log-blocks.md, "Tail and runs"):
-- migration 7's key rows, keyed by (kind, key, …), put each insert at a random place
-- of a tree far larger than the cache, a 16 KB page of WAL each. Now a block's keys
-- travel with it as a sorted hash list while it is in the tail, and the tail is
-- sealed into runs whose rows are written in (run, hash) order, at the end of the
-- table.
--
-- The blocks written in the tail since the last run, with their `keys` lists (hash,
-- position; NULL for a block written before this migration: its records decide).
CREATE TABLE signin_tail (
    block_id INTEGER PRIMARY KEY,
    n        INTEGER NOT NULL,
    keys     BLOB
);
-- A run: the blocks with ids from `id` to `last_seq`, and their time range.
CREATE TABLE signin_runs (
    id       INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    min_ms   INTEGER NOT NULL,
    max_ms   INTEGER NOT NULL
);
-- Per run, per distinct key hash, the seqs that hold it (varint deltas from the run).
CREATE TABLE signin_run_keys (
    run  INTEGER NOT NULL,
    hash INTEGER NOT NULL,
    seqs BLOB NOT NULL,
    PRIMARY KEY (run, hash)
) WITHOUT ROWID;
-- How much the tail holds, read by every append (the rows themselves may each fill a
-- page with their list).
CREATE INDEX signin_tail_count ON signin_tail (block_id, n);
-- The tail's blocks without a list (written before this migration): a lookup by id
-- reads them, and finds them here without reading the tail.
CREATE INDEX signin_tail_unkeyed ON signin_tail (block_id) WHERE keys IS NULL;
-- Ids and correlation ids that do not carry their time (a caller's own, a test's): a
-- row each, found in one step however old; the server's own ids are found by time.
CREATE TABLE signin_id_keys (
    hash      INTEGER NOT NULL,
    block_id  INTEGER NOT NULL,
    positions BLOB NOT NULL,
    PRIMARY KEY (hash, block_id)
) WITHOUT ROWID;
CREATE INDEX signin_id_keys_block ON signin_id_keys (block_id);
-- Every block written before joins the tail; the next appends seal it into runs.
INSERT INTO signin_tail (block_id, n, keys) SELECT id, n, NULL FROM signin_blocks;
DROP TABLE signin_block_keys;
