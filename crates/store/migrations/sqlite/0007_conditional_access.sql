-- Conditional Access (issue #12): policies and named locations as Graph JSON (the
-- stored truth; the evaluator's compiled form is derived in memory), the tenant's
-- roles, users' roles, TOTP secrets (sealed like signing keys) with the last step
-- used (replay), when a password was last changed, and the second factor a pending
-- sign-in is waiting for.
CREATE TABLE ca_policies (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL,
    json         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, display_name)
);

CREATE TABLE named_locations (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL,
    json         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, display_name)
);

CREATE TABLE tenant_roles (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    template_id TEXT,
    PRIMARY KEY (tenant_id, name)
);

ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN totp_sealed BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;

ALTER TABLE interactions ADD COLUMN mfa_user_id TEXT;
ALTER TABLE interactions ADD COLUMN enroll_sealed BLOB;
ALTER TABLE interactions ADD COLUMN second_factor_at INTEGER;
