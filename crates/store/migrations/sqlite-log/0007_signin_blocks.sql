-- The sign-in log in blocks (docs/design/sign-in-log-blocks.md): a block is one
-- tenant's records of one writer batch; its id is its first seq, a record's seq is
-- id + its position. Small columns first: a query reads the time range and the
-- lookups without reading the packed columns after them.
CREATE TABLE signin_blocks (
    id        INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    min_ms    INTEGER NOT NULL,
    max_ms    INTEGER NOT NULL,
    dict_id   INTEGER NOT NULL,
    lookups   BLOB NOT NULL,
    records   BLOB NOT NULL,
    facts     BLOB NOT NULL
);
-- The tenant's blocks newest first; the blocks of a time (ids and correlation ids
-- that carry one, retention).
CREATE INDEX signin_blocks_tenant ON signin_blocks (tenant_id, id);
CREATE INDEX signin_blocks_time ON signin_blocks (min_ms);
-- One row per distinct user, user id, application, address, and id or correlation
-- id without a time of its own, per block: which positions of the block hold it.
CREATE TABLE signin_block_keys (
    kind      INTEGER NOT NULL,
    key       TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    block_id  INTEGER NOT NULL,
    positions BLOB NOT NULL,
    PRIMARY KEY (kind, key, tenant_id, block_id)
) WITHOUT ROWID;
-- The newest seq given (rows' and blocks'): a seq names one record for ever, even
-- after retention took every record.
INSERT INTO log_meta (key, value)
    SELECT 'last_seq', coalesce(max(seq), 0) FROM signins;
