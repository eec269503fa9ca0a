-- PostgreSQL writes the sign-in log in blocks (docs/design/sign-in-log-blocks.md,
-- "PostgreSQL on blocks"), as SQLite does since its sign-in log migration 7; the rows
-- of `signins` and `signin_facts` written before are still read, after the blocks.
--
-- `signin_blocks` (never written before this migration, so empty) becomes
-- range-partitioned on `min_ms`, one partition per UTC day as `signins` is:
-- retention drops whole days. A partitioned table's primary key must hold the
-- partition key: (id, min_ms) here where SQLite has (id); id alone stays unique, as
-- every value comes from one sequence (tests/schema_in_step.rs knows this).
--
-- A block's id is its first seq. Several nodes write at once, so ids come from a
-- sequence, one `nextval` a block, INCREMENT 4096 (signin_block::MAX_RECORDS, the
-- most records a block holds): a block's seqs are id … id + n − 1 and the rest of its
-- range is never given. The sequence starts after every row's seq, so blocks are
-- newer than rows, as on SQLite.
DROP TABLE signin_blocks;
CREATE TABLE signin_blocks (
    id        BIGINT NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    n         BIGINT NOT NULL,
    min_ms    BIGINT NOT NULL,
    max_ms    BIGINT NOT NULL,
    dict_id   BIGINT NOT NULL,
    lookups   BYTEA NOT NULL,
    records   BYTEA NOT NULL,
    facts     BYTEA NOT NULL,
    PRIMARY KEY (id, min_ms)
) PARTITION BY RANGE (min_ms);
-- zstd frames and hash lists: out of line, never compressed again (pglz would try,
-- and fail, on every value of every block).
ALTER TABLE signin_blocks ALTER COLUMN lookups SET STORAGE EXTERNAL,
    ALTER COLUMN records SET STORAGE EXTERNAL, ALTER COLUMN facts SET STORAGE EXTERNAL;
CREATE INDEX signin_blocks_tenant ON signin_blocks (tenant_id, id);
CREATE INDEX signin_blocks_time ON signin_blocks (min_ms);

CREATE SEQUENCE signin_block_ids INCREMENT 4096 MINVALUE 1;
SELECT setval('signin_block_ids',
              greatest(coalesce((SELECT max(seq) FROM signins), 0),
                       coalesce(pg_sequence_last_value(pg_get_serial_sequence('signins', 'seq')::regclass), 0))
              + 1, false);

-- Days are made for the blocks too (migration 2's function, with a third table).
CREATE OR REPLACE FUNCTION portvakt_signin_days(days BIGINT[]) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    d BIGINT;
    t TEXT;
    part TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(5788941267575400814); -- the bytes of "PVsignin"
    FOREACH d IN ARRAY days LOOP
        FOREACH t IN ARRAY ARRAY['signins', 'signin_facts', 'signin_blocks'] LOOP
            part := t || '_' || to_char(timestamp '1970-01-01' + d * interval '1 day', 'YYYYMMDD');
            IF NOT EXISTS (
                SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = t::regclass AND c.relname = part
            ) THEN
                -- A table of this name that is not (or no longer) a partition is one a
                -- retention run detached and did not get to drop.
                IF to_regclass(part) IS NOT NULL THEN
                    EXECUTE format('DROP TABLE %I', part);
                END IF;
                EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING STORAGE)', part, t);
                EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                               t, part, d * 86400000, (d + 1) * 86400000);
            END IF;
        END LOOP;
    END LOOP;
END $$;

-- The days the rows' partitions have, for the blocks too.
SELECT portvakt_signin_days(ARRAY(
    SELECT (to_date(right(c.relname, 8), 'YYYYMMDD') - date '1970-01-01')::bigint
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'signins'::regclass));

-- A tail block's time range beside its keys (as SQLite's sign-in log migration 9): a
-- lookup narrows the tail to its window and reads a block by (id, min_ms), one day's
-- partition, and a seal gives its run its range without reading the blocks.
ALTER TABLE signin_tail ADD COLUMN min_ms BIGINT, ADD COLUMN max_ms BIGINT,
    ALTER COLUMN keys SET STORAGE EXTERNAL;
