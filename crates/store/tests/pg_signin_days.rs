//! PostgreSQL keeps the sign-in log in one partition per UTC day (migration 2,
//! docs/design/postgres.md): the writer makes a day's partitions before its first
//! record, retention drops whole days (and finishes a drop that was stopped
//! halfway), a node that wrote a day another node dropped makes it again, and a
//! database with the unpartitioned log of migration 1 keeps its records. Always on
//! PostgreSQL; fails without it.

mod common;

use common::{pg_client as connect, scalar};
use portvakt_core::signin::StoredSignIn;
use portvakt_store::{PgStore, SignInLog, SignInQuery};

const DAY: i64 = 86_400_000;
/// 2027-01-15T00:00:00Z, a day's start.
const D0: i64 = 1_799_971_200_000;
const BUCKET: i64 = 300_000;

/// A record of tenant `t` at `created_ms`, with facts and a group set named after its
/// day.
fn record(n: u32, created_ms: i64) -> StoredSignIn {
    let day = created_ms.div_euclid(DAY) - D0 / DAY;
    StoredSignIn {
        id: format!("0190a1b2-{n:04x}-7abc-8def-{n:012x}"),
        tenant_id: "t".into(),
        created_ms,
        user_key: Some("kim@x".into()),
        user_id: Some("uid-kim".into()),
        app_id: Some("web".into()),
        status: 0,
        error_code: 0,
        correlation_id: format!("c-{n}"),
        ip: None,
        ca_status: None,
        interactive: true,
        app_display_name: None,
        resource_id: None,
        client_app_used: None,
        record: format!("{{\"n\":{n}}}"),
        facts: Some(format!("{{\"n\":{n}}}")),
        group_set: Some((format!("g{day}"), format!("[\"group-{day}\"]"))),
        policy_set: None,
        policy_results: vec![],
    }
}

/// A new database, a store on it and a plain connection to look at the catalogue.
async fn fresh() -> (String, PgStore, tokio_postgres::Client) {
    let (store, url, c) = common::pg_with_client().await;
    (url, store, c)
}

/// The partitions of `parent`, by name, oldest first.
async fn partitions(c: &tokio_postgres::Client, parent: &str) -> Vec<String> {
    c.query(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = $1::text::regclass ORDER BY 1",
        &[&parent],
    )
    .await
    .expect("partitions")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Every table named like a day partition, attached or not.
async fn day_tables(c: &tokio_postgres::Client) -> Vec<String> {
    c.query(
        "SELECT relname::text FROM pg_class WHERE relkind = 'r'
            AND relname ~ '^(signins|signin_facts|signin_blocks)_[0-9]{8}$' ORDER BY 1",
        &[],
    )
    .await
    .expect("tables")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn tenant_q() -> SignInQuery {
    SignInQuery {
        tenant_id: "t".into(),
        limit: 1000,
        ..Default::default()
    }
}

#[tokio::test]
async fn each_day_has_its_partition_and_retention_drops_whole_days() {
    let (_, st, c) = fresh().await;
    // Four records a day on 2027-01-15..=2027-01-19, six hours apart.
    let all: Vec<StoredSignIn> = (0..20u32)
        .map(|i| record(i, D0 + i64::from(i) * DAY / 4))
        .collect();
    st.append_signins(&all).await.expect("append");
    // Each day's partition of both tables, and the day after the last (made ahead,
    // so the next day's first batch finds it).
    let days = [
        "20270115", "20270116", "20270117", "20270118", "20270119", "20270120",
    ];
    assert_eq!(
        partitions(&c, "signins").await,
        days.map(|d| format!("signins_{d}"))
    );
    assert_eq!(
        partitions(&c, "signin_facts").await,
        days.map(|d| format!("signin_facts_{d}"))
    );
    assert_eq!(
        partitions(&c, "signin_blocks").await,
        days.map(|d| format!("signin_blocks_{d}"))
    );
    assert_eq!(
        scalar(&c, "SELECT sum(n)::bigint FROM signin_blocks_20270116").await,
        4,
        "a day's records are in its partition"
    );

    // Retention with the cutoff in the middle of 2027-01-17: the two days before it
    // go whole, the cutoff's day is left to the batched purge.
    let cutoff = D0 + 2 * DAY + DAY / 2;
    assert_eq!(st.drop_signin_days(cutoff).await.expect("drop"), 8);
    for t in ["signins", "signin_facts", "signin_blocks"] {
        assert_eq!(
            partitions(&c, t).await,
            days[2..]
                .iter()
                .map(|d| format!("{t}_{d}"))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(
        day_tables(&c).await.len(),
        12,
        "the dropped days' tables are gone"
    );
    assert_eq!(
        st.drop_signin_days(cutoff).await.expect("drop"),
        0,
        "nothing more to drop"
    );
    // The sets only the dropped days named went, the rest stay; the counts of the
    // buckets before the cutoff went.
    assert_eq!(
        st.group_sets(&["g0".into(), "g1".into(), "g2".into()])
            .await
            .expect("sets")
            .len(),
        1
    );
    assert_eq!(
        scalar(
            &c,
            &format!(
                "SELECT count(*) FROM signin_counts WHERE bucket < {}",
                cutoff / BUCKET
            )
        )
        .await,
        0
    );
    // The batched purge takes the cutoff day's two older records.
    assert_eq!(st.purge_signins(cutoff, 500).await.expect("purge"), 2);
    let left: Vec<i64> = st
        .signins(&tenant_q(), false)
        .await
        .expect("query")
        .rows
        .iter()
        .map(|r| r.created_ms)
        .collect();
    let expected: Vec<i64> = all
        .iter()
        .rev()
        .map(|s| s.created_ms)
        .filter(|t| *t >= cutoff)
        .collect();
    assert_eq!(left, expected);
    assert_eq!(
        st.signin_facts("t", 0, None, 1000)
            .await
            .expect("facts")
            .len(),
        10
    );
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM signin_tail").await,
        10,
        "the purged blocks left the tail"
    );
}

#[tokio::test]
async fn a_drop_stopped_halfway_is_finished_by_the_next_run() {
    let (url, st, c) = fresh().await;
    let all: Vec<StoredSignIn> = (0..12u32)
        .map(|i| record(i, D0 + i64::from(i) * DAY / 4))
        .collect();
    st.append_signins(&all).await.expect("append");
    // Day one detached but not dropped (a run stopped between the two steps).
    c.batch_execute("ALTER TABLE signin_blocks DETACH PARTITION signin_blocks_20270115")
        .await
        .expect("detach");
    // Day two left detaching: DETACH … CONCURRENTLY waits for a transaction that
    // still sees the partition, and is cancelled by its statement timeout.
    let reader = connect(&url).await;
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM signin_blocks")
        .await
        .expect("a reader");
    c.batch_execute("SET statement_timeout = '500ms'")
        .await
        .expect("set");
    let e = c
        .batch_execute(
            "ALTER TABLE signin_blocks DETACH PARTITION signin_blocks_20270116 CONCURRENTLY",
        )
        .await
        .expect_err("the detach waits for the reader and times out");
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{e:?}"
    );
    c.batch_execute("RESET statement_timeout")
        .await
        .expect("reset");
    reader.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(
        scalar(
            &c,
            "SELECT count(*) FROM pg_inherits WHERE inhdetachpending"
        )
        .await,
        1,
        "day two is left detaching"
    );

    // The next run drops both (and their facts' days), counting their records.
    assert_eq!(st.drop_signin_days(D0 + 2 * DAY).await.expect("drop"), 8);
    assert_eq!(
        day_tables(&c).await,
        [
            "signin_blocks_20270117",
            "signin_blocks_20270118",
            "signin_facts_20270117",
            "signin_facts_20270118",
            "signins_20270117",
            "signins_20270118"
        ]
    );
    assert_eq!(st.count_signins("t").await.expect("count"), 4);
}

#[tokio::test]
async fn a_node_writing_a_day_another_node_dropped_makes_it_again() {
    let (url, a, c) = fresh().await;
    let b = PgStore::connect(&url, 2).await.expect("node B");
    a.append_signins(&[record(1, D0 + 1000)])
        .await
        .expect("A writes");
    b.append_signins(&[record(2, D0 + 2000)])
        .await
        .expect("B writes");
    // B's retention drops the day A knows it made; A writes that day again (a clock
    // behind, or records held back): the day is made again, nothing is lost.
    assert_eq!(b.drop_signin_days(D0 + DAY).await.expect("drop"), 2);
    a.append_signins(&[record(3, D0 + 3000), record(4, D0 + DAY + 1)])
        .await
        .expect("A writes after the drop");
    assert_eq!(a.count_signins("t").await.expect("count"), 2);
    assert_eq!(
        scalar(&c, "SELECT sum(n)::bigint FROM signin_blocks_20270115").await,
        1
    );
    // Two nodes' retention at once: one drops, the other finds the lock taken or
    // nothing left; neither fails, and each record is counted once.
    let (x, y) = tokio::join!(a.drop_signin_days(D0 + DAY), b.drop_signin_days(D0 + DAY));
    assert_eq!(x.expect("A") + y.expect("B"), 1);
    assert_eq!(a.count_signins("t").await.expect("count"), 1);
}

#[tokio::test]
async fn records_of_the_unpartitioned_log_move_into_their_days() {
    // A database at schema version 1 (before the log was partitioned), with records.
    let url = common::pg_empty().await;
    let c = connect(&url).await;
    c.batch_execute(include_str!("../migrations/postgres/0001_schema.sql"))
        .await
        .expect("schema 1");
    c.batch_execute(
        "CREATE TABLE portvakt_schema (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
         INSERT INTO portvakt_schema (version) VALUES (1);
         INSERT INTO signins (id, tenant_id, created_ms, status, error_code, correlation_id, interactive, record)
              VALUES ('a', 't', 1800000000000, 0, 0, 'c-a', true, '{}'),
                     ('b', 't', 1800090000000, 1, 50126, 'c-b', true, '{}');
         INSERT INTO signin_facts (seq, created_ms, facts) VALUES (1, 1800000000000, '{\"n\":1}');",
    )
    .await
    .expect("version 1 with records");

    let st = PgStore::connect(&url, 2).await.expect("migrates");
    assert_eq!(
        partitions(&c, "signins").await,
        ["signins_20270115", "signins_20270116"]
    );
    let page = st.signins(&tenant_q(), false).await.expect("query");
    let seqs: Vec<(String, i64)> = page.rows.iter().map(|r| (r.id.clone(), r.seq)).collect();
    assert_eq!(seqs, [("b".to_string(), 2), ("a".to_string(), 1)]);
    let facts: Vec<(i64, Option<String>)> = st
        .signin_facts("t", 0, None, 10)
        .await
        .expect("facts")
        .into_iter()
        .map(|f| (f.seq, f.facts))
        .collect();
    assert_eq!(facts, [(2, None), (1, Some("{\"n\":1}".to_string()))]);
    // New records continue after the old ones' seqs.
    st.append_signins(&[record(9, D0 + 5000)])
        .await
        .expect("append");
    let page = st.signins(&tenant_q(), false).await.expect("query");
    assert_eq!(page.rows[0].seq, 3);
    // Every migration was applied, from 2 on.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations")
        .count() as i64;
    assert_eq!(
        scalar(&c, "SELECT max(version) FROM portvakt_schema").await,
        files
    );
}
