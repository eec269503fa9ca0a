-- Device authorization grant (RFC 8628). The device code is stored as SHA-256; the
-- user code is looked up when the user types it.
CREATE TABLE device_codes (
    device_hash BLOB PRIMARY KEY,
    user_code   TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    grant_json  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
