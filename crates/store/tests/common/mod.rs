//! Both engines for the store's own tests: SQLite in memory and PostgreSQL in a fresh
//! database of its own (`portvakt_t_<random>` on `PORTVAKT_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). A test that cannot reach PostgreSQL fails.

#![allow(dead_code)]

use portvakt_store::{PgStore, SqliteStore, Store};
use std::sync::Arc;

/// The server the PostgreSQL databases of tests are made on.
pub fn pg_admin_url() -> String {
    portvakt_store::testing::postgres_server()
        .or_else(|| std::env::var("PORTVAKT_TEST_PG_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A new empty database `portvakt_t_<random>` of its own (no schema yet): its URL.
pub async fn pg_empty() -> String {
    let mut b = [0u8; 8];
    portvakt_jose::random_bytes(&mut b);
    let name = format!(
        "portvakt_t_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    );
    let admin = pg_admin_url();
    portvakt_store::pg::create_database(&admin, &name)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is needed for this test and {admin} does not answer: {e}")
        })
}

/// A new, empty, migrated PostgreSQL store of its own.
pub async fn pg() -> PgStore {
    let url = pg_empty().await;
    PgStore::connect(&url, 4)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"))
}

/// [`pg`], its database's URL and a plain connection to it (for a test that reads the
/// catalogue or the tables, which the store's API does not expose).
pub async fn pg_with_client() -> (PgStore, String, tokio_postgres::Client) {
    let url = pg_empty().await;
    let store = PgStore::connect(&url, 4)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    let client = pg_client(&url).await;
    (store, url, client)
}

/// A plain connection to `url`, driven in the background.
pub async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    c
}

/// The one `bigint` `sql` answers.
pub async fn scalar(c: &tokio_postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[])
        .await
        .expect(sql)
        .try_get(0)
        .expect("a bigint")
}

/// Each engine, named, fresh.
pub async fn engines() -> Vec<(&'static str, Arc<dyn Store>)> {
    vec![
        (
            "sqlite",
            Arc::new(SqliteStore::in_memory().await.expect("sqlite")) as Arc<dyn Store>,
        ),
        ("postgres", Arc::new(pg().await) as Arc<dyn Store>),
    ]
}
