-- The facts of each sign-in (what policy replay evaluates), beside the records rather
-- than inside their rows: replay of a million sign-ins read every page of the log
-- (~2.5 KB a row) to use ~0.5 KB of each. Keyed by the record's seq, with what replay
-- filters and reports on (time, user, application), so replay reads this table and
-- the (tenant, seq) index, never a record row. Rows written before this migration
-- keep their facts in signins.facts: `log_meta.facts_inline_until` is the newest row
-- written before (0 on a new log), and reads at or below it look there.
CREATE TABLE signin_facts (
    seq        INTEGER PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    user_key   TEXT,
    app_id     TEXT,
    facts      TEXT NOT NULL,
    group_set  TEXT
);
CREATE TABLE log_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
-- (The newest row of all: a lookup of the largest rowid, not a scan. Rows without
-- facts below it read as having none, as before.)
INSERT INTO log_meta (key, value)
    SELECT 'facts_inline_until', coalesce(MAX(seq), 0) FROM signins;
