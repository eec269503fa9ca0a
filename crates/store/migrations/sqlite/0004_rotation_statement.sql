-- A refresh-token rotation is one statement. The new token names the token it
-- replaces (parent_hash); it is inserted only if that token is still unused, and
-- inserting it marks that token used, in the same statement and so atomically. Two
-- requests rotating the same token: exactly one inserts (the other's EXISTS is false).
ALTER TABLE refresh_tokens ADD COLUMN parent_hash BLOB;

CREATE TRIGGER refresh_token_rotated AFTER INSERT ON refresh_tokens
WHEN NEW.parent_hash IS NOT NULL
BEGIN
    UPDATE refresh_tokens SET used_at = NEW.issued_at WHERE token_hash = NEW.parent_hash;
END;
