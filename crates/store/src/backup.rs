//! Consistent copies of the SQLite databases while a server uses them (`portvakt
//! backup`), and the checks a copy passes before a server may use it (`portvakt
//! restore`). The archive around the copies is the binary's business; this module
//! only knows databases.
//!
//! A copy is `VACUUM INTO` on a read-only connection of its own: one read transaction,
//! so the copy is the database as of one commit. In WAL mode a reader never blocks the
//! writer, so the server goes on committing token requests while the copy is made
//! (SQLite, "VACUUM INTO"; "Write-Ahead Logging", §2.2 Concurrency). The only cost to
//! the server is that the WAL cannot be checkpointed past the copy's snapshot until it
//! ends, so the WAL may grow for the length of the copy.

use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// The directory's database file in a data directory.
pub const DIRECTORY_FILE: &str = "portvakt.db";
/// The sign-in log's database file in a data directory.
pub const SIGNIN_LOG_FILE: &str = "signins.db";

/// Which of the two databases a file is: they have their own schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// `portvakt.db`: tenants, users, applications, keys, tokens, policies, audit log.
    Directory,
    /// `signins.db`: the sign-in log.
    SignInLog,
}

impl Database {
    /// Its file name in a data directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Database::Directory => DIRECTORY_FILE,
            Database::SignInLog => SIGNIN_LOG_FILE,
        }
    }

    /// The newest schema version this build knows.
    pub fn newest_schema(self) -> i64 {
        let m = match self {
            Database::Directory => crate::conns::MIGRATIONS,
            Database::SignInLog => crate::conns::LOG_MIGRATIONS,
        };
        m.last().map_or(0, |(v, _)| *v)
    }
}

/// Copy the database at `src` into the new file `dest` (which must not exist) as of
/// one commit, without blocking the server that writes it. Returns the copy's schema
/// version. `dest` is synced to disk before this returns.
pub fn copy_database(src: &Path, dest: &Path) -> Result<i64> {
    if !src.is_file() {
        return Err(StoreError::NotFound(format!("database {}", src.display())));
    }
    let c = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The server's writer may hold the lock for a commit; wait for it, never fail.
    c.busy_timeout(Duration::from_secs(10))?;
    let dest_str = dest
        .to_str()
        .ok_or_else(|| StoreError::Unavailable(format!("{} is not UTF-8", dest.display())))?;
    c.execute("VACUUM INTO ?1", [dest_str])?;
    drop(c);
    let f = std::fs::File::open(dest)
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dest.display())))?;
    f.sync_all()
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dest.display())))?;
    schema_version(dest)
}

/// The schema version (`PRAGMA user_version`) of a database file.
fn schema_version(path: &Path) -> Result<i64> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Check a copy before a server uses it: it is an SQLite database that passes
/// `PRAGMA quick_check`, and its schema is one this build can open (an older one is
/// migrated when the server starts; a newer one is refused). Returns its schema
/// version.
pub fn check_copy(path: &Path, which: Database) -> Result<i64> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let problems: Vec<String> = {
        let mut st = c.prepare("PRAGMA quick_check")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    if problems != ["ok"] {
        return Err(StoreError::Corrupt(format!(
            "{} fails SQLite's quick_check: {}",
            path.display(),
            problems.join("; ")
        )));
    }
    let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let newest = which.newest_schema();
    if version > newest {
        return Err(StoreError::Unavailable(format!(
            "{} has schema version {version}, newer than this Portvakt knows ({newest}): restore it with the release that made it, or a newer one",
            path.display()
        )));
    }
    if version == 0 {
        return Err(StoreError::Corrupt(format!(
            "{} has no Portvakt schema (user_version 0)",
            path.display()
        )));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "portvakt-store-backup-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[tokio::test]
    async fn a_copy_taken_while_the_writer_commits_is_consistent_and_checks() {
        let d = temp("copy");
        let db = d.join(DIRECTORY_FILE);
        let store = crate::SqliteStore::open(&db).await.expect("open");
        let t = portvakt_core::model::Tenant {
            id: "t1".into(),
            name: "contoso".into(),
            display_name: "Contoso".into(),
            signing_algorithm: portvakt_jose::Algorithm::ES256,
            access_token_lifetime_seconds: None,
        };
        crate::Store::create_tenant(&store, &t, &[], 0)
            .await
            .expect("tenant");
        let copy = d.join("copy.db");
        let v = copy_database(&db, &copy).expect("copy");
        assert_eq!(v, Database::Directory.newest_schema());
        assert_eq!(check_copy(&copy, Database::Directory).expect("check"), v);
        let c = Connection::open(&copy).expect("open copy");
        let n: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM tenants WHERE name = 'contoso'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, 1, "the committed tenant is in the copy");
        // A second copy onto an existing file is refused, never merged.
        assert!(copy_database(&db, &copy).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_damaged_or_foreign_file_is_refused() {
        let d = temp("check");
        let junk = d.join("junk.db");
        std::fs::write(&junk, b"not a database at all, just bytes").expect("write");
        assert!(check_copy(&junk, Database::Directory).is_err());
        let empty = d.join("empty.db");
        Connection::open(&empty)
            .expect("open")
            .execute_batch("CREATE TABLE x(a)")
            .expect("create");
        let e = check_copy(&empty, Database::Directory).expect_err("no schema");
        assert!(e.to_string().contains("no Portvakt schema"), "{e}");
        let newer = d.join("newer.db");
        let c = Connection::open(&newer).expect("open");
        c.execute_batch("CREATE TABLE x(a)").expect("create");
        c.pragma_update(None, "user_version", 9999)
            .expect("version");
        drop(c);
        let e = check_copy(&newer, Database::SignInLog).expect_err("newer");
        assert!(e.to_string().contains("newer than this Portvakt"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
