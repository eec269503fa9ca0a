//! For the tests of this and the other crates: which engine a test runs on.
//!
//! `PORTVAKT_TEST_DATABASE` unset or `sqlite`: SQLite. A `postgres://` URL: every
//! store (or server) a test makes gets a fresh database of its own on that server,
//! `portvakt_t_<random>`, so tests never see each other's data. `./test.sh` runs the
//! whole suite once per engine. A test that asks for PostgreSQL and cannot reach it
//! fails; it never skips.

use crate::{PgStore, SqliteStore, Store};
use std::sync::Arc;

/// The variable that chooses the engine.
pub const ENGINE_VAR: &str = "PORTVAKT_TEST_DATABASE";

/// The PostgreSQL server tests run on, when `PORTVAKT_TEST_DATABASE` chooses one.
///
/// # Panics
/// On a value that is neither `sqlite` nor a `postgres://` URL.
pub fn postgres_server() -> Option<String> {
    match std::env::var(ENGINE_VAR) {
        Err(_) => None,
        Ok(v) if v.is_empty() || v == "sqlite" => None,
        Ok(v) if v.starts_with("postgres://") || v.starts_with("postgresql://") => Some(v),
        Ok(v) => panic!("{ENGINE_VAR}={v:?}: use sqlite or a postgres:// URL"),
    }
}

/// A new empty database `portvakt_t_<random>` on `server`; its URL.
///
/// # Panics
/// When the server cannot be reached or refuses: a test that needs PostgreSQL fails.
pub async fn fresh_postgres(server: &str) -> String {
    let mut b = [0u8; 8];
    portvakt_jose::random_bytes(&mut b);
    let name = format!(
        "portvakt_t_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    );
    crate::pg::create_database(server, &name)
        .await
        .unwrap_or_else(|e| panic!("this test needs PostgreSQL at {server}: {e}"))
}

/// [`fresh_postgres`] from synchronous code, even inside an async runtime (on a
/// thread of its own).
pub fn fresh_postgres_blocking(server: &str) -> String {
    let server = server.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(fresh_postgres(&server))
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A fresh store on the engine `PORTVAKT_TEST_DATABASE` chooses: SQLite in memory,
/// or PostgreSQL in a new database.
pub async fn store() -> Arc<dyn Store> {
    match postgres_server() {
        None => Arc::new(SqliteStore::in_memory().await.expect("SQLite in memory")),
        Some(server) => {
            let url = fresh_postgres(&server).await;
            Arc::new(
                PgStore::connect(&url, 4)
                    .await
                    .unwrap_or_else(|e| panic!("cannot open {url}: {e}")),
            )
        }
    }
}
