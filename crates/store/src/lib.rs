//! # portvakt-store
//!
//! Persistence behind one trait, [`Store`]. SQLite ([`SqliteStore`]) is the embedded
//! default; a PostgreSQL engine will sit behind the same trait.
//!
//! API boundary: the trait speaks in domain types from `portvakt-core`, never in SQL
//! rows, and assumes nothing SQLite-specific (no rowids, no single-writer tricks):
//! every multi-row change is one transaction, and uniqueness is enforced by the schema.

mod conns;
mod error;
mod flows;
mod group_commit;
mod sqlite;
mod sqlite_flows;

pub use error::StoreError;
pub use flows::{
    AccessTokenStatus, CodeTake, Flows, Interaction, RefreshRecord, SessionRecord, TokenUser,
};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use portvakt_core::model::{Application, Group, Resource, SigningKeyInfo, Tenant, User};

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
    /// Groups by display name.
    pub groups: Vec<String>,
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
}

/// The storage interface.
#[async_trait]
pub trait Store: Flows + Send + Sync + 'static {
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
}
