//! The SQLite connections: one writer and a few readers, each behind a mutex, used
//! synchronously on the calling thread.
//!
//! An indexed read or a one-row write takes SQLite a few tens of microseconds, less
//! than handing the statement to another thread and waking the caller again; on a
//! small machine those hand-offs were most of the cost (a refresh-token rotation spent
//! 0.1–1.6 ms waiting for a connection thread to be scheduled). So statements run
//! right here, as Kanidm does with its SQLite backend, and no `.await` ever holds a
//! connection: a request whose future is dropped cannot leave a statement or a
//! transaction half done.
//!
//! One writer, so writes queue on its mutex instead of sleeping in SQLite's busy
//! handler; WAL readers never wait for it.

use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The schema, in order. `PRAGMA user_version` counts the ones applied.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, include_str!("../migrations/sqlite/0002_user_flows.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_device_codes.sql"),
    ),
    (
        4,
        include_str!("../migrations/sqlite/0004_rotation_statement.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_refresh_retry.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_bounds.sql")),
    (
        7,
        include_str!("../migrations/sqlite/0007_conditional_access.sql"),
    ),
    (9, include_str!("../migrations/sqlite/0009_audit_log.sql")),
    (
        10,
        include_str!("../migrations/sqlite/0010_group_members_by_user.sql"),
    ),
];

/// The schema of the sign-in log, a database of its own (`signins.db` beside the main
/// one): its writes never wait for the main database's writer, nor the other way
/// round, and its retention purge touches nothing else.
pub(crate) const LOG_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite-log/0001_signins.sql")),
    (
        2,
        include_str!("../migrations/sqlite-log/0002_lookups_and_set_cleanup.sql"),
    ),
    (
        3,
        include_str!("../migrations/sqlite-log/0003_facts_apart.sql"),
    ),
    (
        4,
        include_str!("../migrations/sqlite-log/0004_overview_counts.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite-log/0005_drop_tenant_time.sql"),
    ),
    (
        6,
        include_str!("../migrations/sqlite-log/0006_packed_records.sql"),
    ),
    (
        7,
        include_str!("../migrations/sqlite-log/0007_signin_blocks.sql"),
    ),
    (
        8,
        include_str!("../migrations/sqlite-log/0008_signin_runs.sql"),
    ),
    (
        9,
        include_str!("../migrations/sqlite-log/0009_tail_times.sql"),
    ),
];

/// How a database is used, which decides its page size, cache and checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tuning {
    /// The directory: small rows, random reads and writes; SQLite's defaults.
    Directory,
    /// An append-mostly log written in batches (the sign-in log's blocks): 4 KiB
    /// pages, a 64 MiB writer cache, a checkpoint every 64 MiB of WAL.
    AppendLog,
}

/// The database holds password hashes, sealed keys and session hashes: only its owner
/// may read it. The file is created 0600 before SQLite opens it (an existing one is
/// narrowed to 0600); SQLite gives the `-wal` and `-shm` files the database file's
/// mode, and existing ones are narrowed too.
fn private_files(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            if let Ok(m) = std::fs::metadata(&p) {
                if m.permissions().mode() & 0o077 != 0 {
                    let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Read-only connections beside the writer.
const READERS: usize = 4;

/// One writer and its readers.
#[derive(Debug)]
pub(crate) struct Conns {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Conns {
    /// Open (creating if needed) the database file, bring its schema up to date on the
    /// writer, then open the readers read-only (a write routed to a reader fails
    /// loudly instead of racing the writer for the lock).
    ///
    /// WAL journal, `synchronous=NORMAL` (a crashed process loses nothing committed; a
    /// power cut may lose the last transactions but never corrupts), foreign keys on,
    /// and a busy timeout for another process holding the lock.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, MIGRATIONS, Tuning::Directory)
    }

    /// Open `path` with the schema `migrations`.
    pub(crate) fn open_with(
        path: &Path,
        migrations: &[(i64, &str)],
        tuning: Tuning,
    ) -> Result<Self> {
        private_files(path);
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        if tuning == Tuning::AppendLog {
            // Before the first table exists (it has no effect on an existing file).
            // 4 KiB: every commit rewrites the last, partly filled page of each tree
            // it appends to (blocks, their indexes, the tail, counts): at 16 KiB, as
            // the row-per-record log had, ingest of 600 k records ran at ~50,000/s
            // against ~56,000/s at 4 KiB, in a file 3 % larger (session 12).
            writer.pragma_update(None, "page_size", 4096)?;
        }
        writer.pragma_update(None, "journal_mode", "WAL")?;
        if tuning == Tuning::AppendLog {
            // Batches dirty many index pages: keep them cached, and checkpoint every
            // 64 MiB of WAL instead of every 4 MiB (BENCHMARKS.md, "Sign-in log").
            writer.pragma_update(None, "cache_size", -65536)?;
            writer.pragma_update(None, "wal_autocheckpoint", 4096)?;
        }
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut writer, migrations)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&r)?;
            readers.push(Mutex::new(r));
        }
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    /// A private in-memory database: one connection for reads and writes.
    pub(crate) fn in_memory() -> Result<Self> {
        Self::in_memory_with(MIGRATIONS)
    }

    /// An in-memory database with the schema `migrations`.
    pub(crate) fn in_memory_with(migrations: &[(i64, &str)]) -> Result<Self> {
        let mut c = Connection::open_in_memory()?;
        configure(&c)?;
        migrate(&mut c, migrations)?;
        Ok(Self {
            writer: Mutex::new(c),
            readers: Vec::new(),
            next: AtomicUsize::new(0),
        })
    }

    /// Run `f` on the writer.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut lock(&self.writer))
    }

    /// Run `f` in one transaction on the writer: committed if it returns `Ok`, rolled
    /// back otherwise.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut c = lock(&self.writer);
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Run `f` on a reader: the first free one, else wait for the next in turn.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.readers.is_empty() {
            return f(&lock(&self.writer));
        }
        for r in &self.readers {
            if let Ok(c) = r.try_lock() {
                return f(&c);
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        f(&lock(&self.readers[i]))
    }
}

/// A poisoned mutex means a panic while a statement ran; SQLite itself is consistent
/// (an open transaction was rolled back when it was dropped), so go on.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn configure(c: &Connection) -> Result<()> {
    c.busy_timeout(Duration::from_secs(10))?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    // No memory map: in WAL mode a connection unmaps the whole file whenever it finds
    // the database changed since its last read (every commit), and each munmap is a
    // TLB shoot-down across cores. Under rotations that cost 10 % of the server's CPU;
    // reading pages with pread from the OS cache is cheaper while anything writes.
    c.pragma_update(None, "mmap_size", 0)?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Apply the migrations not yet applied, each in its own transaction. A database made
/// by an earlier Portvakt (which tracked its schema in sqlx's `_sqlx_migrations`) is
/// picked up where it was.
fn migrate(c: &mut Connection, migrations: &[(i64, &str)]) -> Result<()> {
    let mut version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == 0 {
        let sqlx: bool = c.query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |r| r.get(0),
        )?;
        if sqlx {
            version = c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
                [],
                |r| r.get(0),
            )?;
        }
    }
    if let Some((newest, _)) = migrations.last() {
        if version > *newest {
            return Err(StoreError::Unavailable(format!(
                "the database has schema version {version}, newer than this Portvakt knows ({newest}); use a newer release"
            )));
        }
    }
    for (v, sql) in migrations.iter().filter(|(v, _)| *v > version) {
        let tx = c.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Unavailable(format!("migration {v} failed: {e}")))?;
        tx.pragma_update(None, "user_version", v)?;
        tx.commit()?;
    }
    // Catch up a database adopted from `_sqlx_migrations` even when nothing was applied.
    c.pragma_update(None, "user_version", migrations.last().map_or(0, |m| m.0))?;
    Ok(())
}

/// The first row of `sql`, mapped by `f`, or `None`.
pub(crate) fn one<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query(params)?;
    match rows.next()? {
        Some(r) => f(r).map(Some),
        None => Ok(None),
    }
}

/// Every row of `sql`, each mapped by `f`.
pub(crate) fn all<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// Run one statement; the number of rows it changed (not counting trigger rows).
pub(crate) fn exec(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    Ok(c.prepare_cached(sql)?.execute(params)?)
}
