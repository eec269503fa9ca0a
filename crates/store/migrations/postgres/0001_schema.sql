-- The PostgreSQL engine's schema: the SQLite directory (migrations/sqlite, up to
-- version 10) and the sign-in log (migrations/sqlite-log, up to version 5) in one
-- database, translated. Times are BIGINT (seconds, or ms where the name says so),
-- hashes and sealed keys BYTEA, JSON TEXT (read and written whole, never queried, so
-- both engines answer alike), flags BOOLEAN. Every TEXT column is COLLATE "C":
-- compared and ordered by bytes, as SQLite does, whatever the database's default
-- collation. `tests/schema_in_step.rs` compares this schema with SQLite's: the same
-- tables, columns (name and kind), unique constraints and indexes. A later change is a new numbered file here and in migrations/sqlite.

CREATE TABLE tenants (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    name                  TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name          TEXT COLLATE "C" NOT NULL,
    signing_algorithm     TEXT COLLATE "C" NOT NULL,
    access_token_lifetime BIGINT,
    created_at            BIGINT NOT NULL
);
CREATE TABLE groups (
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name TEXT COLLATE "C" NOT NULL,
    name_key     TEXT COLLATE "C" NOT NULL,
    UNIQUE (tenant_id, name_key)
);
CREATE TABLE users (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    tenant_id           TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_principal_name TEXT COLLATE "C" NOT NULL,
    upn_key             TEXT COLLATE "C" NOT NULL,
    display_name        TEXT COLLATE "C" NOT NULL,
    password_hash       TEXT COLLATE "C",
    account_enabled     BOOLEAN NOT NULL,
    created_at          BIGINT NOT NULL,
    tokens_valid_from   BIGINT NOT NULL DEFAULT 0,
    roles               TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    totp_sealed         BYTEA,
    totp_last_step      BIGINT NOT NULL DEFAULT 0,
    password_changed_at BIGINT,
    UNIQUE (tenant_id, upn_key)
);
CREATE TABLE group_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);
CREATE TABLE resources (
    tenant_id             TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    identifier            TEXT COLLATE "C" NOT NULL,
    display_name          TEXT COLLATE "C" NOT NULL,
    scopes                TEXT COLLATE "C" NOT NULL,
    access_token_lifetime BIGINT,
    group_claims          BOOLEAN NOT NULL DEFAULT FALSE,
    introspection_clients TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, identifier)
);
CREATE TABLE applications (
    tenant_id              TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id              TEXT COLLATE "C" NOT NULL,
    display_name           TEXT COLLATE "C" NOT NULL,
    secret_sha256          BYTEA,
    grant_types            TEXT COLLATE "C" NOT NULL,
    redirect_uris          TEXT COLLATE "C" NOT NULL,
    allowed_scopes         TEXT COLLATE "C" NOT NULL,
    access_token_lifetime  BIGINT,
    created_at             BIGINT NOT NULL,
    admin_consented        BOOLEAN NOT NULL DEFAULT FALSE,
    refresh_token_lifetime BIGINT,
    PRIMARY KEY (tenant_id, client_id)
);
CREATE TABLE signing_keys (
    kid             TEXT COLLATE "C" PRIMARY KEY,
    tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    algorithm       TEXT COLLATE "C" NOT NULL,
    sealed_pkcs8    BYTEA NOT NULL,
    public_jwk      TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    active_from     BIGINT NOT NULL,
    retired_at      BIGINT,
    published_until BIGINT
);
CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id, active_from);
CREATE TABLE interactions (
    id               TEXT COLLATE "C" PRIMARY KEY,
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    browser_hash     BYTEA NOT NULL,
    csrf             TEXT COLLATE "C" NOT NULL,
    request          TEXT COLLATE "C" NOT NULL,
    user_id          TEXT COLLATE "C",
    sid              TEXT COLLATE "C",
    expires_at       BIGINT NOT NULL,
    mfa_user_id      TEXT COLLATE "C",
    enroll_sealed    BYTEA,
    second_factor_at BIGINT
);
CREATE INDEX interactions_expiry ON interactions (expires_at);
CREATE TABLE sessions (
    id_hash    BYTEA PRIMARY KEY,
    sid        TEXT COLLATE "C" NOT NULL UNIQUE,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time  BIGINT NOT NULL,
    amr        TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE consents (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id   TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT COLLATE "C" NOT NULL,
    scopes    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id)
);
CREATE TABLE auth_codes (
    code_hash  BYTEA PRIMARY KEY,
    grant_json TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    family_id  TEXT COLLATE "C",
    access_jti TEXT COLLATE "C",
    access_exp BIGINT
);
CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);
CREATE TABLE token_families (
    id             TEXT COLLATE "C" PRIMARY KEY,
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id        TEXT COLLATE "C" NOT NULL,
    client_id      TEXT COLLATE "C" NOT NULL,
    sid            TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT COLLATE "C"
);
CREATE INDEX token_families_user ON token_families (user_id);
CREATE INDEX token_families_sid ON token_families (sid);
CREATE INDEX token_families_expiry ON token_families (expires_at);
CREATE TABLE refresh_tokens (
    token_hash    BYTEA PRIMARY KEY,
    family_id     TEXT COLLATE "C" NOT NULL REFERENCES token_families(id) ON DELETE CASCADE,
    grant_json    TEXT COLLATE "C" NOT NULL,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    parent_hash   BYTEA,
    issued_at_ms  BIGINT,
    used_at_ms    BIGINT,
    superseded_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash) WHERE parent_hash IS NOT NULL;
-- As SQLite's trigger of the same name (migrations/sqlite/0004 and 0005): inserting a
-- successor marks its parent used and supersedes the parent's other successors, in the
-- inserting statement's transaction.
CREATE FUNCTION refresh_token_rotated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refresh_tokens
       SET used_at = COALESCE(used_at, NEW.issued_at),
           used_at_ms = COALESCE(used_at_ms, NEW.issued_at_ms, NEW.issued_at * 1000)
     WHERE token_hash = NEW.parent_hash;
    UPDATE refresh_tokens SET superseded_at = NEW.issued_at
     WHERE parent_hash = NEW.parent_hash AND token_hash <> NEW.token_hash AND superseded_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER refresh_token_rotated AFTER INSERT ON refresh_tokens
    FOR EACH ROW WHEN (NEW.parent_hash IS NOT NULL) EXECUTE FUNCTION refresh_token_rotated();
CREATE TABLE revoked_tokens (
    jti        TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
CREATE TABLE device_codes (
    device_hash BYTEA PRIMARY KEY,
    user_code   TEXT COLLATE "C" NOT NULL UNIQUE,
    status      TEXT COLLATE "C" NOT NULL,
    grant_json  TEXT COLLATE "C" NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
CREATE TABLE ca_policies (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    json         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, display_name)
);
CREATE TABLE named_locations (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    json         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, display_name)
);
CREATE TABLE tenant_roles (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    template_id TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE audit_log (
    seq            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant         TEXT COLLATE "C"   NOT NULL,
    at_ms          BIGINT NOT NULL,
    correlation_id TEXT COLLATE "C"   NOT NULL,
    record         TEXT COLLATE "C"   NOT NULL
);
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant, seq);
CREATE INDEX audit_log_correlation ON audit_log (tenant, correlation_id, seq);
CREATE INDEX audit_log_at ON audit_log (at_ms);

-- The sign-in log (SQLite keeps it in signins.db of its own). `seq` comes from an
-- identity: unique and increasing per node, not gap-free. `facts` stays for parity
-- with SQLite's rows from before its migration 3; this engine keeps facts in
-- signin_facts only (log_meta.facts_inline_until is 0).
CREATE TABLE signins (
    seq            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id             TEXT COLLATE "C" NOT NULL,
    tenant_id      TEXT COLLATE "C" NOT NULL,
    created_ms     BIGINT NOT NULL,
    user_key       TEXT COLLATE "C",
    user_id        TEXT COLLATE "C",
    app_id         TEXT COLLATE "C",
    status         BIGINT NOT NULL,
    error_code     BIGINT NOT NULL,
    correlation_id TEXT COLLATE "C" NOT NULL,
    ip             TEXT COLLATE "C",
    ca_status      BIGINT,
    interactive    BOOLEAN NOT NULL,
    record         TEXT COLLATE "C" NOT NULL,
    facts          TEXT COLLATE "C",
    group_set      TEXT COLLATE "C",
    policy_set     TEXT COLLATE "C"
);
CREATE INDEX signins_tenant ON signins (tenant_id, seq);
CREATE INDEX signins_app ON signins (tenant_id, app_id, seq);
CREATE INDEX signins_correlation ON signins (correlation_id);
CREATE INDEX signins_time ON signins (created_ms);
CREATE INDEX signins_id ON signins (id);
CREATE INDEX signins_user_day ON signins (tenant_id, (created_ms / 86400000), user_key, seq);
CREATE TABLE group_sets (hash TEXT COLLATE "C" PRIMARY KEY, ids TEXT COLLATE "C" NOT NULL, last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE policy_sets (hash TEXT COLLATE "C" PRIMARY KEY, policies TEXT COLLATE "C" NOT NULL, last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE signin_facts (
    seq        BIGINT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    user_key   TEXT COLLATE "C",
    app_id     TEXT COLLATE "C",
    facts      TEXT COLLATE "C" NOT NULL,
    group_set  TEXT COLLATE "C"
);
CREATE TABLE log_meta (key TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO log_meta (key, value) VALUES ('facts_inline_until', 0);
CREATE TABLE signin_counts (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    bucket     BIGINT NOT NULL,
    status     BIGINT NOT NULL,
    error_code BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, bucket, status, error_code)
);
CREATE TABLE policy_counts (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    bucket     BIGINT NOT NULL,
    policy_set TEXT COLLATE "C" NOT NULL,
    position   BIGINT NOT NULL,
    result     TEXT COLLATE "C" NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, bucket, policy_set, position, result)
);
