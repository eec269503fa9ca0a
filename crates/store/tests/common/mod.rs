//! Both engines for the store's own tests: SQLite in memory and PostgreSQL in a fresh
//! database of its own (`portvakt_t_<random>` on `PORTVAKT_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). A test that cannot reach PostgreSQL fails.

#![allow(dead_code)]

use portvakt_store::{PgStore, SqliteStore, Store};
use std::sync::{Arc, Mutex};

static LAST_URL: Mutex<String> = Mutex::new(String::new());

/// The URL of the database [`pg`] made last (for a test that reads the catalogue).
pub fn last_pg_url() -> String {
    LAST_URL.lock().expect("lock").clone()
}

/// The server the PostgreSQL databases of tests are made on.
pub fn pg_admin_url() -> String {
    portvakt_store::testing::postgres_server()
        .or_else(|| std::env::var("PORTVAKT_TEST_PG_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A new, empty, migrated PostgreSQL store of its own.
pub async fn pg() -> PgStore {
    let mut b = [0u8; 8];
    portvakt_jose::random_bytes(&mut b);
    let name = format!(
        "portvakt_t_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    );
    let admin = pg_admin_url();
    let url = portvakt_store::pg::create_database(&admin, &name)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is needed for this test and {admin} does not answer: {e}")
        });
    *LAST_URL.lock().expect("lock") = url.clone();
    PgStore::connect(&url, 4)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"))
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
