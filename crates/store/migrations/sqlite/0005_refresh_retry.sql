-- A lost token response must not lock the client out (issue #10): a used refresh
-- token presented again within the reuse window, by the same client, may be rotated
-- once more while its successor is unused. At most one successor is live: inserting a
-- child supersedes its siblings, and presenting a superseded token counts as reuse.
-- The window is compared in milliseconds (issued_at_ms / used_at_ms), so a window of
-- 0 means no retry at all. used_at keeps the FIRST use: a retry does not extend the
-- window.
ALTER TABLE refresh_tokens ADD COLUMN issued_at_ms INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN used_at_ms INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN superseded_at INTEGER;
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash) WHERE parent_hash IS NOT NULL;

DROP TRIGGER refresh_token_rotated;
CREATE TRIGGER refresh_token_rotated AFTER INSERT ON refresh_tokens
WHEN NEW.parent_hash IS NOT NULL
BEGIN
    UPDATE refresh_tokens
       SET used_at = COALESCE(used_at, NEW.issued_at),
           used_at_ms = COALESCE(used_at_ms, NEW.issued_at_ms, NEW.issued_at * 1000)
     WHERE token_hash = NEW.parent_hash;
    UPDATE refresh_tokens SET superseded_at = NEW.issued_at
     WHERE parent_hash = NEW.parent_hash AND token_hash <> NEW.token_hash AND superseded_at IS NULL;
END;
