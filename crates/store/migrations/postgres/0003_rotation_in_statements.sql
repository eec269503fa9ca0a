-- A rotation's writes in its own statement, without the row trigger (issue #17:
-- refresh on PostgreSQL against pgbench -N). Migration 1 followed SQLite: a successor's
-- INSERT fired `refresh_token_rotated`, a PL/pgSQL call that updated the parent and
-- looked for the parent's other successors, after an `INSERT … SELECT … FOR UPDATE`
-- had locked the parent: a row lock, a trigger call and an index probe beyond the
-- rotation itself. Now (crates/store/src/pg/flows.rs) a rotation is one statement,
-- `WITH parent AS (UPDATE … SET used_at … WHERE token_hash = $old AND used_at IS NULL
-- RETURNING …) INSERT … SELECT … FROM parent`: the UPDATE's row lock orders concurrent
-- rotations, and the ones that waited find the parent used and insert nothing. A
-- retry supersedes the parent's other successors with a statement of its own, in its
-- transaction. SQLite keeps its trigger (one writer; there it is the cheaper way).
DROP TRIGGER refresh_token_rotated ON refresh_tokens;
DROP FUNCTION refresh_token_rotated();

-- The foreign key from refresh_tokens to token_families checked the family on every
-- insert with a row lock (FOR KEY SHARE) on the family: one more row write a
-- rotation (about 30 µs of the statement's 100 in pg_stat_statements). A first token
-- is inserted in its family's transaction, and a successor takes its parent's family
-- (the rotation statement refuses another), so the key only ever held; what it did
-- on delete, a statement trigger does: a family's tokens go with it (families are
-- deleted when expired, or with their tenant).
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_family_id_fkey;
CREATE FUNCTION token_families_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM refresh_tokens WHERE family_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER token_families_deleted AFTER DELETE ON token_families
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION token_families_deleted();
