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
