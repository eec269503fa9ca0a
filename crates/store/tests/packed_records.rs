//! Sign-in records packed with their tenant's dictionary (docs/design/
//! sign-in-log-packing.md), on both engines: what is read is what was written, the
//! rows take a fraction of the JSON's bytes, rows written before packing still read,
//! and a dictionary lives exactly as long as a record packed with it.

mod common;

use portvakt_core::signin::StoredSignIn;
use portvakt_store::{SignInLog, SignInQuery, SqliteStore};
use std::path::PathBuf;

/// 2027-01-15T08:00:00Z.
const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

/// A record as the server writes them: most of it repeats from sign-in to sign-in.
fn record(i: u32) -> StoredSignIn {
    let user = i % 40;
    let record = serde_json::json!({
        "userPrincipalName": format!("User{user}@Contoso.example"),
        "userDisplayName": format!("User {user}"),
        "appDisplayName": "Contoso Analytics",
        "resourceId": "api://analytics",
        "resourceDisplayName": "Analytics API",
        "clientAppUsed": "Browser",
        "userAgent": format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0 Safari/537.36", 120 + i % 12),
        "deviceDetail": {"operatingSystem": "Windows 10", "browser": format!("Chrome {}", 120 + i % 12)},
        "location": {"displayName": if i.is_multiple_of(3) { "Office" } else { "Home" }},
        "signInEventTypes": ["interactiveUser"],
        "authenticationRequirement": "multiFactorAuthentication",
        "authenticationDetails": [
            {"authenticationMethod": "Password", "succeeded": true, "authenticationStepDateTime": format!("2027-01-15T08:{:02}:{:02}Z", i % 60, (i * 7) % 60)},
            {"authenticationMethod": "Authenticator app (TOTP)", "succeeded": !i.is_multiple_of(9)}
        ],
        "status": {"failureReason": if i.is_multiple_of(9) { "The code was wrong." } else { "" }},
        "conditionalAccessStatus": "success",
        "processingTimeInMilliseconds": i % 50,
    })
    .to_string();
    let facts = serde_json::json!({
        "user": format!("uid-{user}"), "client": "web", "resource": "api://analytics",
        "ip": format!("203.0.113.{}", i % 200), "platform": "windows", "clientApp": "browser",
        "amr": ["pwd", "otp"], "groups": "g1",
    })
    .to_string();
    StoredSignIn {
        id: format!("0190a1b2-{i:04x}-7abc-8def-{i:012x}"),
        tenant_id: "t".into(),
        created_ms: T0 + i64::from(i) * 1000,
        user_key: Some(format!("user{user}@contoso.example")),
        user_id: Some(format!("uid-{user}")),
        app_id: Some("web".into()),
        status: u8::from(i.is_multiple_of(9)),
        error_code: if i.is_multiple_of(9) { 4002 } else { 0 },
        correlation_id: format!("0190a1b2-{i:04x}-7abc-9def-{i:012x}"),
        ip: Some(format!("203.0.113.{}", i % 200)),
        ca_status: Some(1),
        interactive: true,
        app_display_name: Some("Contoso Analytics".into()),
        resource_id: Some("api://analytics".into()),
        client_app_used: Some("Browser".into()),
        record,
        facts: Some(facts),
        group_set: Some(("g1".into(), "[\"group-1\"]".into())),
        policy_set: None,
        policy_results: vec![],
    }
}

/// Every record of tenant `t`, newest first, with facts.
async fn read_all(s: &dyn SignInLog) -> Vec<(String, String, Option<String>)> {
    let q = SignInQuery {
        tenant_id: "t".into(),
        limit: 1000,
        ..Default::default()
    };
    let page = s.signins(&q, true).await.expect("read");
    page.rows
        .into_iter()
        .map(|r| (r.id, r.record, r.facts))
        .collect()
}

/// An engine with SQL access beside the store: a SQLite store on files (its log
/// database opened with rusqlite) or a PostgreSQL one (with a client).
enum Sql {
    Sqlite(PathBuf),
    Pg(tokio_postgres::Client),
}

impl Sql {
    async fn int(&self, sql: &str) -> i64 {
        match self {
            Sql::Sqlite(p) => rusqlite::Connection::open(p)
                .expect("open signins.db")
                .query_row(sql, [], |r| r.get(0))
                .expect(sql),
            Sql::Pg(c) => common::scalar(c, &format!("SELECT ({sql})::bigint")).await,
        }
    }

    async fn exec(&self, sql: &str) {
        match self {
            Sql::Sqlite(p) => {
                rusqlite::Connection::open(p)
                    .expect("open signins.db")
                    .execute_batch(sql)
                    .expect(sql);
            }
            Sql::Pg(c) => {
                c.batch_execute(sql).await.expect(sql);
            }
        }
    }
}

/// Both engines, fresh, each with its SQL access.
async fn engines(name: &str) -> Vec<(&'static str, Box<dyn SignInLog>, Sql)> {
    let dir = std::env::temp_dir().join(format!("portvakt-packed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = SqliteStore::open(&dir.join("portvakt.db"))
        .await
        .expect("sqlite");
    let (pg, _, client) = common::pg_with_client().await;
    vec![
        (
            "sqlite",
            Box::new(sqlite) as Box<dyn SignInLog>,
            Sql::Sqlite(dir.join("signins.db")),
        ),
        ("postgres", Box::new(pg), Sql::Pg(client)),
    ]
}

#[tokio::test]
async fn records_read_back_as_written_in_a_fraction_of_their_bytes() {
    for (name, store, sql) in engines("bytes").await {
        let written: Vec<StoredSignIn> = (0..600).map(record).collect();
        for batch in written.chunks(200) {
            store.append_signins(batch).await.expect("append");
        }
        let read = read_all(store.as_ref()).await;
        assert_eq!(read.len(), written.len(), "{name}: every record");
        for (r, w) in read.iter().zip(written.iter().rev()) {
            assert_eq!(r.0, w.id, "{name}: newest first");
            assert_eq!(r.1, w.record, "{name}: the record as written");
            assert_eq!(r.2, w.facts, "{name}: the facts as written");
        }
        // Replay's read unpacks the facts too.
        let facts = store.signin_facts("t", 0, None, 1000).await.expect("facts");
        assert_eq!(facts.len(), written.len());
        assert!(
            facts
                .iter()
                .zip(written.iter().rev())
                .all(|(f, w)| f.facts == w.facts),
            "{name}: replay's facts as written"
        );

        let json: i64 = written
            .iter()
            .map(|w| (w.record.len() + w.facts.as_ref().map_or(0, String::len)) as i64)
            .sum();
        // Both engines keep them in blocks (SQLite's sign-in log migration 7,
        // PostgreSQL's migration 7).
        let stored = sql
            .int("SELECT sum(length(records)) + sum(length(facts)) + sum(length(lookups)) FROM signin_blocks")
            .await;
        let plain = sql.int("SELECT count(*) FROM signins").await;
        eprintln!("{name}: {json} bytes of JSON stored in {stored} ({plain} left as text)");
        assert_eq!(plain, 0, "{name}: no record or facts kept as text");
        assert!(
            stored * 5 < json,
            "{name}: packed with the dictionary, a fifth of the JSON at most ({stored} of {json})"
        );
        assert_eq!(
            sql.int("SELECT count(*) FROM record_dicts").await,
            1,
            "{name}: one tenant within the hour: one dictionary"
        );
    }
}

#[tokio::test]
async fn rows_written_before_packing_read_as_they_are() {
    for (name, store, sql) in engines("before").await {
        let packed = record(2);
        store
            .append_signins(std::slice::from_ref(&packed))
            .await
            .expect("append");
        // A row as the schema before packing wrote it: its text, no dictionary, and
        // an older seq than any written since.
        let old = record(1);
        sql.exec(&format!(
            "INSERT INTO signins (seq, id, tenant_id, created_ms, user_key, status, error_code,
                 correlation_id, interactive, record)
             VALUES (0, '{}', 't', {}, 'old@x', 0, 0, 'cid-old', true, '{}');
             INSERT INTO signin_facts (seq, created_ms, facts) VALUES (0, {}, '{}');",
            old.id,
            old.created_ms,
            old.record.replace('\'', "''"),
            old.created_ms,
            old.facts.as_deref().unwrap_or_default().replace('\'', "''"),
        ))
        .await;
        let read = read_all(store.as_ref()).await;
        assert_eq!(
            read,
            vec![
                (
                    packed.id.clone(),
                    packed.record.clone(),
                    packed.facts.clone()
                ),
                (old.id.clone(), old.record.clone(), old.facts.clone()),
            ],
            "{name}: the old row and the packed one"
        );
        // A `$filter` on a field only the record held reads the old row's JSON and
        // the packed row's column.
        for (f, n) in [
            ("appDisplayName eq 'Contoso Analytics'", 2),
            (
                "resourceId eq 'api://analytics' and clientAppUsed eq 'Browser'",
                2,
            ),
            ("appDisplayName eq 'Another app'", 0),
        ] {
            let q = SignInQuery {
                tenant_id: "t".into(),
                limit: 10,
                filter: Some(portvakt_core::filter::SignInFilter::parse(f).expect(f)),
                ..Default::default()
            };
            let page = store.signins(&q, false).await.expect(f);
            assert_eq!(page.rows.len(), n, "{name}: {f}");
        }
    }
}

#[tokio::test]
async fn a_dictionary_lives_as_long_as_a_record_packed_with_it() {
    for (name, store, sql) in engines("dicts").await {
        let dicts = || sql.int("SELECT count(*) FROM record_dicts");
        let at = |i: u32, t: i64| StoredSignIn {
            created_ms: t,
            ..record(i)
        };
        store
            .append_signins(&(0..50).map(|i| at(i, T0)).collect::<Vec<_>>())
            .await
            .expect("first hour");
        store
            .append_signins(&(50..100).map(|i| at(i, T0 + HOUR / 2)).collect::<Vec<_>>())
            .await
            .expect("same hour");
        assert_eq!(dicts().await, 1, "{name}: within the hour, the same one");
        store
            .append_signins(&(100..150).map(|i| at(i, T0 + 2 * HOUR)).collect::<Vec<_>>())
            .await
            .expect("two hours on");
        assert_eq!(dicts().await, 2, "{name}: an hour on, a new one");
        // Another tenant has its own.
        store
            .append_signins(&[StoredSignIn {
                tenant_id: "u".into(),
                ..at(150, T0 + 2 * HOUR)
            }])
            .await
            .expect("tenant u");
        assert_eq!(dicts().await, 3, "{name}: one per tenant");

        // The first hour's records go: so does their dictionary, not the others.
        assert_eq!(
            store.purge_signins(T0 + HOUR, 1000).await.expect("purge"),
            100
        );
        assert_eq!(dicts().await, 2, "{name}: the first hour's dictionary went");
        assert_eq!(read_all(store.as_ref()).await.len(), 50);

        // Everything goes, the writer's current dictionaries with it; the writer packs
        // with its own again and stores it again, and what it writes reads back.
        store
            .purge_signins(T0 + 3 * HOUR, 1000)
            .await
            .expect("purge all");
        assert_eq!(dicts().await, 0, "{name}: no record, no dictionary");
        let again = at(151, T0 + 2 * HOUR + 60_000);
        store
            .append_signins(std::slice::from_ref(&again))
            .await
            .expect("write after the purge");
        assert_eq!(dicts().await, 1, "{name}: its dictionary stored again");
        assert_eq!(
            read_all(store.as_ref()).await,
            vec![(again.id.clone(), again.record.clone(), again.facts.clone())],
            "{name}: read back"
        );
    }
}
