//! The PostgreSQL engine (issue #17, docs/design/postgres.md): the same traits as
//! [`crate::SqliteStore`], for several `portvakt serve` nodes sharing one database.
//!
//! Driver: `tokio-postgres` through a `deadpool-postgres` pool. Every statement is
//! prepared once per connection (`prepare_cached`). A multi-statement change is one
//! transaction; a request whose future is dropped mid-transaction leaves nothing
//! behind (tokio-postgres rolls a dropped transaction back). Times arrive from the
//! caller, never from the database's clock, so both engines decide alike.

mod audit;
mod directory;
mod filter;
mod flows;
mod notify;
mod signin_blocks;
mod signin_log;

use crate::sqlite::UserKey;
use crate::{Result, StoreError};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use portvakt_core::model::User;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// The schema, in order; `portvakt_schema` counts the ones applied. Kept in step with
/// `migrations/sqlite` and `migrations/sqlite-log` by `tests/schema_in_step.rs`.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_schema.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_signins_by_day.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_rotation_in_statements.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_packed_records.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_signin_blocks.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_signin_runs.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/0007_signin_blocks_by_day.sql"),
    ),
];

/// Send a notice on the change channel ([`notify`]).
pub(crate) const NOTIFY: &str = "SELECT pg_notify('portvakt_changes', $1)";

/// Connections per node unless the URL's options say otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Connections of the sign-in log's writer: it writes one batch at a time, and a
/// second serves a retention run or a test beside it.
const SIGNIN_WRITER_CONNECTIONS: usize = 2;

/// A pool of `size` connections (at least one) to `config`.
fn build_pool(config: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot build the pool: {e}")))
}

/// An arbitrary constant: the advisory lock under which one node at a time migrates.
const MIGRATION_LOCK: i64 = 0x506f_7274_7661_6b74; // "Portvakt"

/// PostgreSQL behind the [`crate::Store`] trait.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The sign-in log's appends have connections of their own: made (and so driven,
    /// `tokio::spawn`) on the runtime of their first caller, the writer's thread of
    /// its own in the server (`server::logs::signin_events`), so that a batch's round
    /// trips do not wait behind the requests queued on the server's runtime.
    log_pool: Pool,
    /// Bumped after every committed write that can withdraw an access token (see
    /// [`crate::Flows::revocation_epoch`]). Per node for now; shared across nodes
    /// by LISTEN/NOTIFY is the next step of #17.
    revocations: Arc<AtomicU64>,
    /// What this node hears of the others (LISTEN/NOTIFY).
    feed: Arc<notify::Feed>,
    /// Messages for the other nodes ([`crate::Store::tell_peers`]).
    outbox: notify::Outbox,
    /// The days (since 1970, UTC) whose sign-in log partitions this node knows exist
    /// ([`signin_log`]): made once, before the day's first batch.
    signin_days: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    /// The sign-in log's dictionaries (`crate::record_pack`).
    pub(crate) dicts: Arc<crate::record_pack::Dicts>,
    /// Whether this node saw `signins` empty: the rows written before blocks are
    /// gone, and queries read blocks only.
    pub(crate) signin_rows_gone: Arc<std::sync::atomic::AtomicBool>,
    /// Records and blocks this node wrote to the sign-in log's tail since it last
    /// counted the tail (`signin_blocks::seal`).
    pub(crate) signin_tail_written: Arc<(AtomicI64, AtomicI64)>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://user@host:port/database`), with a pool of
    /// `pool_size` connections, and bring the schema up to date (one node at a time,
    /// under an advisory lock). Fails if the database's schema is newer than this
    /// release knows.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("invalid database URL: {e}")))?;
        // Named in pg_stat_activity, so an operator sees whose connections these are.
        if config.get_application_name().is_none() {
            config.application_name("portvakt");
        }
        let pool = build_pool(config.clone(), pool_size)?;
        let mut writer = config.clone();
        writer.application_name("portvakt-signin-writer");
        let feed = notify::Feed::new();
        let store = PgStore {
            outbox: notify::spawn_outbox(pool.clone(), &feed),
            pool,
            log_pool: build_pool(writer, SIGNIN_WRITER_CONNECTIONS)?,
            revocations: Arc::new(AtomicU64::new(0)),
            feed,
            signin_days: Arc::default(),
            dicts: Arc::default(),
            signin_rows_gone: Arc::default(),
            signin_tail_written: Arc::default(),
        };
        store.migrate().await?;
        let mut listen = config;
        listen.application_name("portvakt-notices");
        notify::spawn(listen, &store.feed, &store.revocations);
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS portvakt_schema (
                 version    BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        let applied: Option<i64> = tx
            .query_one("SELECT max(version) FROM portvakt_schema", &[])
            .await?
            .try_get(0)?;
        let applied = applied.unwrap_or(0);
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if applied > latest {
            return Err(StoreError::Unavailable(format!(
                "the database's schema is version {applied}, newer than this release knows ({latest}): run a newer Portvakt"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO portvakt_schema (version) VALUES ($1)",
                &[version],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A connection of the sign-in log's writer ([`PgStore::log_pool`]).
    pub(crate) async fn log_client(&self) -> Result<Object> {
        self.log_pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))
    }

    /// Record that a write which can withdraw access tokens has committed.
    pub(crate) fn revoked(&self) {
        self.revocations.fetch_add(1, Ordering::Release);
    }

    /// The revocation epoch; while this node cannot hear the others, a new one at
    /// every call, so that nothing cached under an epoch is trusted.
    pub(crate) fn epoch(&self) -> u64 {
        if self.feed.current() {
            self.revocations.load(Ordering::Acquire)
        } else {
            self.revocations.fetch_add(1, Ordering::AcqRel) + 1
        }
    }

    /// Tell the other nodes, in `c`'s transaction (delivered at its commit), that the
    /// directory of `tenant_id` changed.
    pub(crate) async fn notify_tenant(
        &self,
        c: &impl GenericClient,
        tenant_id: &str,
    ) -> Result<()> {
        exec(c, NOTIFY, &[&self.feed.tenant_notice(tenant_id)]).await?;
        Ok(())
    }

    /// Tell the other nodes, in `c`'s transaction, of a write that can withdraw access
    /// tokens (they move their revocation epochs).
    pub(crate) async fn notify_revoked(&self, c: &impl GenericClient) -> Result<()> {
        exec(c, NOTIFY, &[&self.feed.revoked_notice()]).await?;
        Ok(())
    }

    /// Other nodes' changes (see [`crate::Store::changes`]).
    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::Change> {
        self.feed.subscribe()
    }

    /// Whether this node hears the others now.
    pub(crate) fn hears_others(&self) -> bool {
        self.feed.current()
    }

    /// Queue `message` for the other nodes; dropped (and logged) when the outbox is
    /// full.
    pub(crate) fn queue_for_peers(&self, message: String) {
        debug_assert!(!message.contains('\n'), "one line per message");
        if self.outbox.try_send(message).is_err() {
            tracing::warn!("the outbox to the other nodes is full: a message stays on this node");
        }
    }
}

/// The columns [`user_from_row`] reads, from `users u` (which a query may LEFT JOIN):
/// the user and, in one subquery, its groups as a JSON array of `[name key, display
/// name, id]` (NULL when it has none), which [`user_from_row`] orders as
/// `crate::sqlite::user_columns!` selects them. One subquery, not one per list: each
/// costs the token read of a refresh about 12–15 µs of PostgreSQL's CPU (BENCHMARKS.md,
/// session 14).
macro_rules! user_columns {
    () => {
        "u.id AS u_id, u.user_principal_name AS u_upn, u.display_name AS u_display_name,
    u.account_enabled AS u_enabled, u.password_hash AS u_password_hash, u.tokens_valid_from AS u_valid_from,
    (SELECT json_agg(json_build_array(g.name_key, g.display_name, m.group_id))::text
       FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id) AS u_group_set,
    u.roles AS u_roles, u.totp_sealed IS NOT NULL AS u_mfa, u.password_changed_at AS u_pw_changed"
    };
}
pub(crate) use user_columns;

/// The user selected with [`user_columns!`]; `None` when a LEFT JOIN found none.
pub(crate) fn user_from_row(r: &tokio_postgres::Row) -> Result<Option<User>> {
    let Some(id) = r.try_get::<_, Option<String>>("u_id")? else {
        return Ok(None);
    };
    let set: Option<String> = r.try_get("u_group_set")?;
    let (groups, group_ids) = match set {
        None => (Vec::new(), Vec::new()),
        Some(json) => {
            let mut set: Vec<(String, String, String)> = serde_json::from_str(&json)?;
            // The names in name-key order and the ids in order, both by byte (the
            // columns' collation is C).
            set.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut ids: Vec<String> = set.iter().map(|g| g.2.clone()).collect();
            ids.sort_unstable();
            (set.into_iter().map(|g| g.1).collect(), ids)
        }
    };
    let roles: String = r.try_get("u_roles")?;
    Ok(Some(User {
        id,
        user_principal_name: r.try_get("u_upn")?,
        display_name: r.try_get("u_display_name")?,
        account_enabled: r.try_get("u_enabled")?,
        password_hash: r.try_get("u_password_hash")?,
        tokens_valid_from: r.try_get("u_valid_from")?,
        groups,
        group_ids,
        roles: serde_json::from_str(&roles)?,
        mfa_registered: r.try_get("u_mfa")?,
        password_changed_at: r.try_get("u_pw_changed")?,
    }))
}

impl PgStore {
    /// One user of a tenant, by id or by lower-cased user principal name, with its
    /// groups, in one statement.
    pub(crate) async fn user_where(
        &self,
        key: UserKey,
        tenant_id: &str,
        value: &str,
    ) -> Result<Option<User>> {
        let sql = match key {
            UserKey::Id => concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.tenant_id = $1 AND u.id = $2"
            ),
            UserKey::Upn => concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.tenant_id = $1 AND u.upn_key = $2"
            ),
        };
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await?;
        match c.query_opt(&st, &[&tenant_id, &value]).await? {
            Some(row) => user_from_row(&row),
            None => Ok(None),
        }
    }
}

/// Run `sql` (prepared once per connection) with `params`; the rows it changed.
pub(crate) async fn exec(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.execute(&st, params).await?)
}

/// The rows of `sql` (prepared once per connection) with `params`.
pub(crate) async fn rows(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query(&st, params).await?)
}

/// The row of `sql` (prepared once per connection) with `params`, if any.
pub(crate) async fn row(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&st, params).await?)
}

/// `url` with its database name replaced by `database` (`postgres://h:p/old?x` →
/// `postgres://h:p/database?x`).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

/// For tests: create an empty database `name` on the server `admin_url` points at
/// (connecting to `admin_url`'s own database to do so) and return its URL.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Unavailable(format!(
            "database name {name:?}: lower-case letters, digits and _ only"
        )));
    }
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!("cannot reach PostgreSQL at {admin_url}: {e}"))
        })?;
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    drop(client);
    let _ = task.await;
    Ok(with_database(admin_url, name))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_replaced_in_url() {
        assert_eq!(
            with_database("postgres://127.0.0.1:5432/test", "x_1"),
            "postgres://127.0.0.1:5432/x_1"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "y"),
            "postgres://u@h/y?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "z"), "postgres://h:1/z");
    }
}
