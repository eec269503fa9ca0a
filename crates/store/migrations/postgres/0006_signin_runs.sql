-- The sign-in log's tail and runs, as SQLite's sign-in log migration 8 (the tables
-- are here so both engines keep one schema, tests/schema_in_step.rs; PostgreSQL
-- still writes rows, see 0005).
CREATE TABLE signin_tail (
    block_id BIGINT PRIMARY KEY,
    n        BIGINT NOT NULL,
    keys     BYTEA
);
CREATE TABLE signin_runs (
    id       BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    min_ms   BIGINT NOT NULL,
    max_ms   BIGINT NOT NULL
);
CREATE TABLE signin_run_keys (
    run  BIGINT NOT NULL,
    hash BIGINT NOT NULL,
    seqs BYTEA NOT NULL,
    PRIMARY KEY (run, hash)
);
CREATE INDEX signin_tail_count ON signin_tail (block_id, n);
CREATE INDEX signin_tail_unkeyed ON signin_tail (block_id) WHERE keys IS NULL;
CREATE TABLE signin_id_keys (
    hash      BIGINT NOT NULL,
    block_id  BIGINT NOT NULL,
    positions BYTEA NOT NULL,
    PRIMARY KEY (hash, block_id)
);
CREATE INDEX signin_id_keys_block ON signin_id_keys (block_id);
DROP TABLE signin_block_keys;
