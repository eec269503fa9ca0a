-- The sign-in log (issue #13), in its own database file (signins.db). One row per
-- sign-in attempt; `seq` orders them (newest first is `ORDER BY seq DESC`, and it is
-- the paging cursor). `record` is the compact Graph signIn JSON; the user's group ids
-- and the tenant's policy list it refers to are kept once per distinct set.
CREATE TABLE signins (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    user_key       TEXT,
    user_id        TEXT,
    app_id         TEXT,
    status         INTEGER NOT NULL,
    error_code     INTEGER NOT NULL,
    correlation_id TEXT NOT NULL,
    ip             TEXT,
    ca_status      INTEGER,
    interactive    INTEGER NOT NULL,
    record         TEXT NOT NULL,
    facts          TEXT,
    group_set      TEXT,
    policy_set     TEXT
);
-- "newest of the tenant" and time ranges; a user's sign-ins; an application's;
-- by correlation id; retention by time.
CREATE INDEX signins_tenant ON signins (tenant_id, seq);
CREATE INDEX signins_tenant_time ON signins (tenant_id, created_ms);
CREATE INDEX signins_user ON signins (tenant_id, user_key, seq);
CREATE INDEX signins_app ON signins (tenant_id, app_id, seq);
CREATE INDEX signins_correlation ON signins (correlation_id);
CREATE INDEX signins_time ON signins (created_ms);

CREATE TABLE group_sets (hash TEXT PRIMARY KEY, ids TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE policy_sets (hash TEXT PRIMARY KEY, policies TEXT NOT NULL) WITHOUT ROWID;
