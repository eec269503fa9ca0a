-- A record by its id (GET …/signIns/{id}, the portal's record page): ids are UUIDv7,
-- so the index grows at its end.
CREATE INDEX signins_id ON signins (id);
-- The newest record naming each set: the purge deletes the sets older than the
-- oldest record left, without scanning the log.
ALTER TABLE group_sets ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE policy_sets ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE group_sets SET last_seq = coalesce((SELECT MAX(seq) FROM signins WHERE group_set = group_sets.hash), 0);
UPDATE policy_sets SET last_seq = coalesce((SELECT MAX(seq) FROM signins WHERE policy_set = policy_sets.hash), 0);
-- A user's sign-ins by day: the index on (tenant, user, seq) took every insert at a
-- random place (users sign in in no order), so past the cache each record cost a
-- leaf page of WAL. Keyed by the day first, inserts land in today's part of the
-- index, which stays in the cache; a query names the days of its window
-- (`created_ms / 86400000 IN (…)`, an index seek per day). BENCHMARKS.md.
DROP INDEX signins_user;
CREATE INDEX signins_user_day ON signins (tenant_id, created_ms / 86400000, user_key, seq);
