//! The two engines' schemas cannot drift: SQLite's (migrations/sqlite and
//! migrations/sqlite-log, applied in order) and PostgreSQL's (migrations/postgres)
//! define the same tables, the same columns (name, kind, nullability), the same
//! primary keys and unique constraints, and the same indexes (name, table, columns).
//!
//! One difference is by design: PostgreSQL keeps the sign-in log partitioned by day
//! (migrations/postgres/0002 and 0007), and a partitioned table's primary key must
//! hold the partition key, so there `signins` and `signin_facts` have (seq,
//! created_ms) where SQLite has (seq), and `signin_blocks` (id, min_ms) where SQLite
//! has (id). The test checks that those three tables, and no other, are partitioned,
//! by those columns, and then compares their keys without them. Partitions
//! themselves (one per day) are not part of the schema.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

/// One fact about a schema, comparable across engines.
type Facts = BTreeSet<String>;

fn kind_of_sqlite(declared: &str) -> &'static str {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" => "integer",
        "TEXT" => "text",
        "BLOB" => "blob",
        _ => "unknown",
    }
}

fn kind_of_pg(data_type: &str) -> &'static str {
    match data_type {
        // SQLite has no boolean: its flags are INTEGER 0/1.
        "bigint" | "integer" | "boolean" => "integer",
        "text" => "text",
        "bytea" => "blob",
        _ => "unknown",
    }
}

/// Apply every `.sql` file of `dir`, in name order, to `c`.
fn apply_dir(c: &rusqlite::Connection, dir: &Path) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in {}", dir.display());
    for f in files {
        c.execute_batch(&std::fs::read_to_string(&f).expect("read"))
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

fn sqlite_facts() -> Facts {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut facts = Facts::new();
    for dir in ["sqlite", "sqlite-log"] {
        let c = rusqlite::Connection::open_in_memory().expect("sqlite");
        apply_dir(&c, &root.join(dir));
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        for t in &tables {
            facts.insert(format!("table {t}"));
            let mut pk: Vec<(i64, String)> = Vec::new();
            let mut st = c
                .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
                .expect("prepare");
            let cols = st
                .query_map([t], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .expect("query");
            for col in cols {
                let (name, ty, not_null, pk_pos) = col.expect("row");
                // A primary key column is NOT NULL in PostgreSQL (and should be here).
                let not_null = not_null || pk_pos > 0;
                facts.insert(format!(
                    "column {t}.{name} {} {}",
                    kind_of_sqlite(&ty),
                    if not_null { "not null" } else { "null" }
                ));
                if pk_pos > 0 {
                    pk.push((pk_pos, name));
                }
            }
            pk.sort();
            let pk: Vec<_> = pk.into_iter().map(|p| p.1).collect();
            facts.insert(format!("primary key {t} ({})", pk.join(", ")));
            let mut st = c
                .prepare("SELECT name, origin FROM pragma_index_list(?1)")
                .expect("prepare");
            let indexes: Vec<(String, String)> = st
                .query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            for (index, origin) in indexes {
                let cols: Vec<String> = c
                    .prepare(
                        "SELECT coalesce(name, '<expr>') FROM pragma_index_info(?1) ORDER BY seqno",
                    )
                    .expect("prepare")
                    .query_map([&index], |r| r.get(0))
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                match origin.as_str() {
                    "u" => {
                        facts.insert(format!("unique {t} ({})", cols.join(", ")));
                    }
                    "c" => {
                        facts.insert(format!("index {index} on {t} ({})", cols.join(", ")));
                    }
                    _ => {} // "pk": the primary key, above
                }
            }
        }
    }
    facts
}

async fn pg_facts() -> Facts {
    // A plain connection to the database the store just migrated: the test reads
    // the catalogue, which the store's API does not expose.
    let (store, _, c) = common::pg_with_client().await;
    drop(store);
    let mut facts = Facts::new();
    let q = |sql: &'static str| {
        let c = &c;
        async move { c.query(sql, &[]).await.expect(sql) }
    };
    // Partitioned tables and their partition keys.
    let mut partitioned = std::collections::BTreeMap::new();
    for r in q("SELECT c.relname::text, a.attname::text
                  FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
                  JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = ANY(p.partattrs::int2[])").await {
        partitioned.insert(r.get::<_, String>(0), r.get::<_, String>(1));
    }
    assert_eq!(
        partitioned,
        [
            ("signin_blocks", "min_ms"),
            ("signin_facts", "created_ms"),
            ("signins", "created_ms")
        ]
        .map(|(t, k)| (t.to_string(), k.to_string()))
        .into(),
        "the sign-in log's three tables, and only they, are partitioned, by time"
    );
    for r in q("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'portvakt_schema'
                   AND table_name::text NOT IN (SELECT relname FROM pg_class WHERE relispartition)").await {
        facts.insert(format!("table {}", r.get::<_, String>(0)));
    }
    for r in q("SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'portvakt_schema'
                   AND table_name::text NOT IN (SELECT relname FROM pg_class WHERE relispartition)").await {
        let (t, name, ty, nullable): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        facts.insert(format!(
            "column {t}.{name} {} {}",
            kind_of_pg(&ty),
            if nullable == "NO" { "not null" } else { "null" }
        ));
    }
    // Constraints (primary keys, uniques) with their columns in order.
    for r in q("SELECT con.contype::text, rel.relname::text,
                       (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
                          FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)
                  FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
                  JOIN pg_namespace n ON n.oid = rel.relnamespace
                 WHERE n.nspname = 'public' AND con.contype IN ('p', 'u') AND rel.relname <> 'portvakt_schema'
                   AND NOT rel.relispartition").await {
        let (kind, t, mut cols): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let kind = if kind == "p" { "primary key" } else { "unique" };
        if let Some(key) = partitioned.get(&t) {
            let suffix = format!(", {key}");
            assert!(cols.ends_with(&suffix), "{kind} {t} ({cols}) ends with its partition key");
            cols.truncate(cols.len() - suffix.len());
        }
        facts.insert(format!("{kind} {t} ({cols})"));
    }
    // Indexes that back no constraint, with their key columns (an expression as
    // "<expr>").
    for r in q("SELECT i.relname::text, t.relname::text,
                       (SELECT string_agg(CASE WHEN k.attnum = 0 THEN '<expr>' ELSE a.attname::text END, ', ' ORDER BY k.ord)
                          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                          LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum)
                  FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
                  JOIN pg_namespace n ON n.oid = t.relnamespace
                 WHERE n.nspname = 'public' AND t.relname <> 'portvakt_schema' AND NOT t.relispartition
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid)").await {
        let (index, t, cols): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        facts.insert(format!("index {index} on {t} ({cols})"));
    }
    facts
}

#[tokio::test]
async fn both_engines_define_the_same_schema() {
    let sqlite = sqlite_facts();
    let pg = pg_facts().await;
    assert!(sqlite.len() > 150, "too few facts read: {}", sqlite.len());
    let only_sqlite: Vec<_> = sqlite.difference(&pg).collect();
    let only_pg: Vec<_> = pg.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "the schemas differ.\nonly in SQLite's migrations:\n  {}\nonly in PostgreSQL's:\n  {}",
        only_sqlite
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        only_pg
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
