//! # portvakt-store
//!
//! Persistence behind one trait, [`Store`]. SQLite ([`SqliteStore`]) is the embedded
//! default; PostgreSQL ([`PgStore`]) sits behind the same traits.
//!
//! API boundary: the trait speaks in domain types from `portvakt-core`, never in SQL
//! rows, and assumes nothing SQLite-specific (no rowids, no single-writer tricks):
//! every multi-row change is one transaction, and uniqueness is enforced by the schema.

mod audit;
pub mod backup;
mod conns;
mod error;
mod flows;
mod group_commit;
pub mod pg;
mod record_pack;
mod signin_block;
mod signin_log;
mod sqlite;
mod sqlite_access;
mod sqlite_audit;
mod sqlite_filter;
mod sqlite_flows;
mod sqlite_signin_blocks;
mod sqlite_signin_log;
pub mod testing;

pub use audit::{AuditLog, AuditPage, AuditQuery};
pub use error::StoreError;
pub use flows::{
    AccessTokenStatus, CodeTake, Flows, GrantRevocation, Interaction, RefreshClaim, RefreshRecord,
    SessionRecord, TokenUser,
};
pub use pg::PgStore;
pub use signin_log::{
    FactsRow, SignInLog, SignInPage, SignInQuery, SignInRow, SignInStats, StatsQuery,
};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use portvakt_core::model::{Application, Group, Resource, SigningKeyInfo, Tenant, User};

/// Which engine holds the data, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: `portvakt.db` (and `signins.db` beside it) at this path.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database, shared by every node given the same URL.
    Postgres {
        /// `postgres://user@host:port/database`.
        url: String,
        /// Connections this node keeps.
        pool_size: usize,
    },
}

impl std::fmt::Display for Engine {
    /// What the banner and errors say: the file, or the URL with any password
    /// replaced by `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Sqlite(path) => write!(f, "SQLite {} (WAL)", path.display()),
            Engine::Postgres { url, pool_size } => {
                write!(
                    f,
                    "PostgreSQL {} (pool of {pool_size})",
                    redact_password(url)
                )
            }
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Open the engine (creating the database file, or the schema, if needed).
pub async fn open(engine: &Engine) -> Result<std::sync::Arc<dyn Store>> {
    Ok(match engine {
        Engine::Sqlite(path) => std::sync::Arc::new(SqliteStore::open(path).await?),
        Engine::Postgres { url, pool_size } => {
            std::sync::Arc::new(PgStore::connect(url, *pool_size).await?)
        }
    })
}

/// A change another node made to the database this node shares (see
/// [`Store::changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Something of this tenant's directory (applications, resources, keys, policies,
    /// named locations, users, groups): drop cached views of it. The tenant's id.
    Tenant(String),
    /// A write that can withdraw access tokens (the store's revocation epoch moved).
    Revoked,
    /// Notices may have been missed (the connection that hears them was lost or is
    /// back): drop every cached view.
    Resync,
    /// Messages another node's server layer handed to [`Store::tell_peers`] (e.g.
    /// its brute-force counts), in order.
    Peer(Vec<String>),
}

/// Result of a store call.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A signing key as stored: its lifecycle, its public JWK and the sealed private key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Lifecycle.
    pub info: SigningKeyInfo,
    /// Public JWK, JSON.
    pub public_jwk: String,
    /// PKCS#8, sealed with the master key (AAD = kid).
    pub sealed_pkcs8: Vec<u8>,
}

/// Everything the token endpoint needs of one tenant, loaded in one go for the cache.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The tenant.
    pub tenant: Tenant,
    /// Its resources.
    pub resources: Vec<Resource>,
    /// Its applications (with secret hashes).
    pub applications: Vec<Application>,
    /// Its signing keys, oldest first.
    pub keys: Vec<StoredKey>,
    /// Its roles.
    pub roles: Vec<portvakt_core::model::Role>,
    /// Its Conditional Access policies (Graph JSON), by display name.
    pub policies: Vec<StoredGraphObject>,
    /// Its named locations (Graph JSON), by display name.
    pub named_locations: Vec<StoredGraphObject>,
}

/// A new user. `password_hash` is an Argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Id (UUID).
    pub id: String,
    /// Sign-in name.
    pub user_principal_name: String,
    /// Human name.
    pub display_name: String,
    /// Hash, or none for an account without a password.
    pub password_hash: Option<String>,
    /// Enabled?
    pub account_enabled: bool,
    /// Role names; `None` keeps an existing user's roles (none for a new one).
    pub roles: Option<Vec<String>>,
    /// A TOTP secret sealed with the master key (AAD `totp:{user id}`); `None` keeps
    /// an existing user's.
    pub totp_sealed: Option<Vec<u8>>,
}

/// A group of an import: matched by `id` when given, else by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupImport {
    /// The group's own id (e.g. its Entra id), kept as its id; `None`: by name, or a
    /// new UUID.
    pub id: Option<String>,
    /// Name.
    pub display_name: String,
}

/// A Conditional Access policy or named location as stored: its Graph JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGraphObject {
    /// Graph `id`.
    pub id: String,
    /// Graph `displayName` (unique in the tenant).
    pub display_name: String,
    /// The Graph JSON, normalised by `portvakt_policy::export`.
    pub json: String,
}

/// What policy references resolve against: the tenant's users, groups and roles by
/// id and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryNames {
    /// `(id, user principal name)`.
    pub users: Vec<(String, String)>,
    /// `(id, display name)`.
    pub groups: Vec<(String, String)>,
    /// The tenant's roles.
    pub roles: Vec<portvakt_core::model::Role>,
}

/// One tenant's part of an import, prepared by the caller: passwords already hashed,
/// secrets already digested, the first key already generated and sealed.
#[derive(Debug, Clone)]
pub struct TenantImport {
    /// The tenant's fields (the id is used only when the tenant is new).
    pub tenant: Tenant,
    /// Keys to add, each with the time until which the keys it replaces (same
    /// algorithm) stay published. Each signs from its `active_from`; the current
    /// signer of its algorithm retires then.
    pub new_keys: Vec<(StoredKey, i64)>,
    /// Retire the keys of an algorithm no longer used: (algorithm, at, published until).
    pub retire: Option<(portvakt_jose::Algorithm, i64, i64)>,
    /// Groups.
    pub groups: Vec<GroupImport>,
    /// Roles (by name; upserted).
    pub roles: Vec<portvakt_core::model::Role>,
    /// Named locations (upserted by id).
    pub named_locations: Vec<StoredGraphObject>,
    /// Conditional Access policies (upserted by id).
    pub policies: Vec<StoredGraphObject>,
    /// Users; `password_hash: None` keeps an existing hash.
    pub users: Vec<(NewUser, Vec<String>)>,
    /// Resources.
    pub resources: Vec<Resource>,
    /// Applications; `secret_sha256: None` with `confidential: true` keeps the secret.
    pub applications: Vec<Application>,
}

/// What an import changed, per kind: (created, updated).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// Tenants created.
    pub tenants_created: u32,
    /// Tenants that existed.
    pub tenants_updated: u32,
    /// Groups created.
    pub groups_created: u32,
    /// Users created.
    pub users_created: u32,
    /// Users that existed and were updated.
    pub users_updated: u32,
    /// Resources created or updated.
    pub resources_upserted: u32,
    /// Applications created or updated.
    pub applications_upserted: u32,
    /// Conditional Access policies created or updated.
    pub policies_upserted: u32,
    /// Named locations created or updated.
    pub named_locations_upserted: u32,
}

/// The storage interface.
#[async_trait]
pub trait Store: Flows + AuditLog + SignInLog + Send + Sync + 'static {
    /// Changes made by other nodes sharing the database, for the caches above the
    /// store; `None` where there are no other nodes (SQLite).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }
    /// Whether cached views may be trusted now: false while a shared engine cannot
    /// hear the other nodes' changes (the caches then reread per request).
    fn caches_current(&self) -> bool {
        true
    }
    /// Hand `message` (one line, no newline) to the server layers of the other nodes
    /// sharing the database, which receive it as [`Change::Peer`]: fire and forget,
    /// batched, best effort (dropped, and counted in the log, if the outbox is full).
    /// Nothing happens where there are no other nodes.
    fn tell_peers(&self, message: String) {
        let _ = message;
    }

    /// All tenants, by name.
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    /// One tenant by name.
    async fn tenant(&self, name: &str) -> Result<Option<Tenant>>;
    /// Create a tenant with its first signing keys. Conflict if the name is taken.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        first_keys: &[StoredKey],
        now: i64,
    ) -> Result<()>;
    /// Everything the token path needs of a tenant.
    async fn directory(&self, tenant_name: &str) -> Result<Option<Directory>>;

    /// Users of a tenant, with their group names.
    async fn list_users(&self, tenant_id: &str) -> Result<Vec<User>>;
    /// One user by UPN (case-insensitive), with the password hash.
    async fn user_by_upn(&self, tenant_id: &str, upn: &str) -> Result<Option<User>>;
    /// Create a user. Conflict if the UPN is taken.
    async fn create_user(&self, tenant_id: &str, user: &NewUser, now: i64) -> Result<()>;
    /// Enable or disable an account. NotFound if there is no such user.
    async fn set_account_enabled(&self, tenant_id: &str, upn: &str, enabled: bool) -> Result<()>;

    /// Groups of a tenant.
    async fn list_groups(&self, tenant_id: &str) -> Result<Vec<Group>>;
    /// Create a group. Conflict if the name is taken.
    async fn create_group(&self, tenant_id: &str, id: &str, display_name: &str) -> Result<()>;

    /// Create an application. Conflict if the client id is taken.
    async fn create_application(&self, tenant_id: &str, app: &Application, now: i64) -> Result<()>;
    /// Create a resource. Conflict if the identifier is taken.
    async fn create_resource(&self, tenant_id: &str, resource: &Resource) -> Result<()>;

    /// Add a key to a tenant. Keys of the same algorithm that sign when the new one
    /// becomes active are retired at `new.info.active_from` and stay published until
    /// `published_until`.
    async fn rotate_key(
        &self,
        tenant_id: &str,
        new: &StoredKey,
        published_until: i64,
    ) -> Result<()>;

    /// Apply an import as one transaction: all of it or nothing.
    async fn import(&self, tenants: &[TenantImport], now: i64) -> Result<ImportSummary>;

    /// The tenant's users, groups and roles by id and name (policy references).
    async fn directory_names(&self, tenant_id: &str) -> Result<DirectoryNames>;
    /// Create or replace Conditional Access policies and named locations (by id), in
    /// one transaction. Conflict when a display name is taken by another id.
    async fn put_access(
        &self,
        tenant_id: &str,
        policies: &[StoredGraphObject],
        locations: &[StoredGraphObject],
    ) -> Result<()>;
    /// Delete a policy; false if there was none.
    async fn delete_policy(&self, tenant_id: &str, id: &str) -> Result<bool>;
    /// Delete a named location; false if there was none.
    async fn delete_named_location(&self, tenant_id: &str, id: &str) -> Result<bool>;
    /// Set a user's roles. NotFound if there is no such user.
    async fn set_user_roles(&self, tenant_id: &str, upn: &str, roles: &[String]) -> Result<()>;
    /// Add (`member`) or remove a user from a group of the same tenant; whether that
    /// changed anything. NotFound if the group or the user is not in the tenant.
    async fn set_group_member(
        &self,
        tenant_id: &str,
        group_id: &str,
        user_id: &str,
        member: bool,
    ) -> Result<bool>;

    /// A user's sealed TOTP secret and the last time step used with it.
    async fn user_totp(&self, tenant_id: &str, user_id: &str) -> Result<Option<(Vec<u8>, i64)>>;
    /// Register (or with `None`, remove) a user's TOTP secret.
    async fn set_user_totp(
        &self,
        tenant_id: &str,
        user_id: &str,
        sealed: Option<&[u8]>,
    ) -> Result<()>;
    /// Record that TOTP time step `step` was used, only if it is later than the last
    /// one: false means the code was used before (a replay).
    async fn use_totp_step(&self, tenant_id: &str, user_id: &str, step: i64) -> Result<bool>;
    /// Set a new password hash, changed at `now`.
    async fn set_password(
        &self,
        tenant_id: &str,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            redact_password("postgres://pv:s3cr@t@db:5432/portvakt"),
            "postgres://pv:***@db:5432/portvakt"
        );
        assert_eq!(
            redact_password("postgres://pv@db/portvakt"),
            "postgres://pv@db/portvakt"
        );
        assert_eq!(redact_password("postgres://db/x"), "postgres://db/x");
    }
}
