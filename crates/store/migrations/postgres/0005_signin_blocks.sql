-- The sign-in log in blocks (docs/design/sign-in-log-blocks.md), as SQLite's sign-in
-- log migration 7. The tables are here so both engines keep one schema
-- (tests/schema_in_step.rs); PostgreSQL's writer still writes rows into the day
-- partitions of `signins` (its batches are COPY, and a day partition is dropped
-- whole), and reads no blocks yet.
CREATE TABLE signin_blocks (
    id        BIGINT PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL,
    n         BIGINT NOT NULL,
    min_ms    BIGINT NOT NULL,
    max_ms    BIGINT NOT NULL,
    dict_id   BIGINT NOT NULL,
    lookups   BYTEA NOT NULL,
    records   BYTEA NOT NULL,
    facts     BYTEA NOT NULL
);
CREATE INDEX signin_blocks_tenant ON signin_blocks (tenant_id, id);
CREATE INDEX signin_blocks_time ON signin_blocks (min_ms);
CREATE TABLE signin_block_keys (
    kind      BIGINT NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    block_id  BIGINT NOT NULL,
    positions BYTEA NOT NULL,
    PRIMARY KEY (kind, key, tenant_id, block_id)
);
INSERT INTO log_meta (key, value) VALUES ('last_seq', 0);
