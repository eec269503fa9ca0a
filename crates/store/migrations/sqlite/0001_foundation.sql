-- The token-service foundation: tenants and what they contain, and signing keys.
-- Lists are JSON arrays in TEXT columns; they are read whole with their row.

CREATE TABLE tenants (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    signing_algorithm     TEXT NOT NULL,
    access_token_lifetime INTEGER,
    created_at            INTEGER NOT NULL
);

CREATE TABLE groups (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_principal_name TEXT NOT NULL,
    upn_key             TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    password_hash       TEXT,
    account_enabled     INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    UNIQUE (tenant_id, upn_key)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE resources (
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    identifier            TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    access_token_lifetime INTEGER,
    PRIMARY KEY (tenant_id, identifier)
);

CREATE TABLE applications (
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id             TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    secret_sha256         BLOB,
    grant_types           TEXT NOT NULL,
    redirect_uris         TEXT NOT NULL,
    allowed_scopes        TEXT NOT NULL,
    access_token_lifetime INTEGER,
    created_at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    algorithm       TEXT NOT NULL,
    sealed_pkcs8    BLOB NOT NULL,
    public_jwk      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    active_from     INTEGER NOT NULL,
    retired_at      INTEGER,
    published_until INTEGER
);
CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id, active_from);
