-- Issue #11: which clients may introspect a resource's tokens (RFC 7662 §4), and the
-- indexes the background purge of expired rows walks in small batches.
ALTER TABLE resources ADD COLUMN introspection_clients TEXT NOT NULL DEFAULT '[]';

CREATE INDEX interactions_expiry ON interactions (expires_at);
CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX token_families_expiry ON token_families (expires_at);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
