-- User sign-in: interactions (pending sign-ins), browser sessions, consents,
-- authorization codes, refresh-token families, and the access-token denylist.
-- Every secret value (session cookie, code, refresh token) is stored as SHA-256.

ALTER TABLE users ADD COLUMN tokens_valid_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN admin_consented INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN refresh_token_lifetime INTEGER;
ALTER TABLE resources ADD COLUMN group_claims INTEGER NOT NULL DEFAULT 0;

CREATE TABLE interactions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    browser_hash BLOB NOT NULL,
    csrf         TEXT NOT NULL,
    request      TEXT NOT NULL,
    user_id      TEXT,
    sid          TEXT,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY,
    sid        TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time  INTEGER NOT NULL,
    amr        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE consents (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scopes    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id)
);

CREATE TABLE auth_codes (
    code_hash    BLOB PRIMARY KEY,
    grant_json   TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    family_id    TEXT,
    access_jti   TEXT,
    access_exp   INTEGER
);

CREATE TABLE token_families (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    sid            TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
);
CREATE INDEX token_families_user ON token_families (user_id);
CREATE INDEX token_families_sid ON token_families (sid);

CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_families(id) ON DELETE CASCADE,
    grant_json TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
