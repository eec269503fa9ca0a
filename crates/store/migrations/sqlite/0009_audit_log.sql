-- The audit log of admin changes (issue #13), shaped like Graph's directoryAudit.
-- Each row is one record as JSON (portvakt_core::audit::DirectoryAudit) beside the
-- columns the queries need. `seq` is the paging cursor: AUTOINCREMENT so that it only
-- ever grows, even after the purge has deleted the newest rows, and a cursor handed
-- out before a purge still means "older than this record". No foreign key to
-- tenants: `tenant` is the tenant's name (`system` for instance-wide changes), and a
-- record must outlive whatever it describes.
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT    NOT NULL,
    at_ms          INTEGER NOT NULL,
    correlation_id TEXT    NOT NULL,
    record         TEXT    NOT NULL
);

-- "The newest records of a tenant", page after page (seq < cursor).
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant, seq);
-- "Everything one admin request did".
CREATE INDEX audit_log_correlation ON audit_log (tenant, correlation_id, seq);
-- The retention purge (oldest first, by time).
CREATE INDEX audit_log_at ON audit_log (at_ms);
