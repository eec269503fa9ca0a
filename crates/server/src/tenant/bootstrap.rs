//! The built-in `system` tenant: it issues the tokens that guard the admin API.
//!
//! It holds one resource, `urn:portvakt:admin` with the scope `admin`, and one
//! confidential application, `portvakt-admin`, allowed that scope.

use crate::error::ApiError;
use crate::keys::create_key;
use crate::state::AppState;
use portvakt_core::model::{Application, Resource, Tenant};
use portvakt_core::names::SYSTEM_TENANT;
use portvakt_jose::Algorithm;
use portvakt_store::TenantImport;

/// Resource identifier of the admin API.
pub const ADMIN_RESOURCE: &str = "urn:portvakt:admin";
/// The scope that grants admin access.
pub const ADMIN_SCOPE: &str = "admin";
/// Client id of the admin client.
pub const ADMIN_CLIENT_ID: &str = "portvakt-admin";
/// Lifetime of admin tokens: short, the CLI fetches one per command.
pub const ADMIN_TOKEN_LIFETIME: u32 = 600;

fn admin_app(secret: &str) -> Application {
    Application {
        client_id: ADMIN_CLIENT_ID.into(),
        display_name: "Portvakt administration".into(),
        secret_sha256: Some(portvakt_jose::sha256(secret.as_bytes())),
        confidential: true,
        grant_types: vec!["client_credentials".into()],
        redirect_uris: vec![],
        allowed_scopes: vec![format!("{ADMIN_RESOURCE}/{ADMIN_SCOPE}")],
        access_token_lifetime_seconds: Some(ADMIN_TOKEN_LIFETIME),
        admin_consented: false,
        refresh_token_lifetime_seconds: None,
    }
}

/// A new admin secret: 256 random bits.
fn new_secret() -> String {
    portvakt_jose::random_id(32)
}

/// Create the system tenant if it does not exist. Returns the admin secret when it
/// was created (it is shown once and stored only as a digest).
pub async fn ensure_system_tenant(st: &AppState) -> Result<Option<String>, ApiError> {
    if st.store.tenant(SYSTEM_TENANT).await?.is_some() {
        return Ok(None);
    }
    let now = st.clock.now();
    let secret = new_secret();
    let plan = TenantImport {
        tenant: Tenant {
            id: uuid::Uuid::new_v4().to_string(),
            name: SYSTEM_TENANT.into(),
            display_name: "Portvakt system".into(),
            signing_algorithm: Algorithm::ES256,
            access_token_lifetime_seconds: Some(ADMIN_TOKEN_LIFETIME),
        },
        // The system tenant issues no ID tokens: one key is enough.
        new_keys: vec![(create_key(Algorithm::ES256, &st.master, now, now)?, now)],
        retire: None,
        groups: vec![],
        roles: vec![],
        named_locations: vec![],
        policies: vec![],
        users: vec![],
        resources: vec![Resource {
            identifier: ADMIN_RESOURCE.into(),
            display_name: "Portvakt admin API".into(),
            scopes: vec![ADMIN_SCOPE.into()],
            access_token_lifetime_seconds: None,
            group_claims: false,
            introspection_clients: vec![],
        }],
        applications: vec![admin_app(&secret)],
    };
    st.store.import(&[plan], now).await?;
    st.directory.invalidate(SYSTEM_TENANT);
    Ok(Some(secret))
}

/// Give the admin client a new secret (when its credential file was lost).
pub async fn reset_admin_secret(st: &AppState) -> Result<String, ApiError> {
    let Some(dir) = st.store.directory(SYSTEM_TENANT).await? else {
        return Err(ApiError::new(
            portvakt_core::ErrorCode::Internal,
            "the system tenant does not exist",
        ));
    };
    let secret = new_secret();
    let plan = TenantImport {
        tenant: dir.tenant,
        new_keys: vec![],
        retire: None,
        groups: vec![],
        roles: vec![],
        named_locations: vec![],
        policies: vec![],
        users: vec![],
        resources: vec![],
        applications: vec![admin_app(&secret)],
    };
    st.store.import(&[plan], st.clock.now()).await?;
    st.directory.invalidate(SYSTEM_TENANT);
    Ok(secret)
}

/// Can `master` open the signing keys already stored? Checked before a server starts
/// on a data directory, and when a backup is restored: a wrong master key would
/// otherwise start a server that cannot sign a single token (every key logged as
/// unopenable, every request refused). A database without the system tenant (a new
/// one) passes; one whose live keys do not open with `master` fails with the reason.
pub async fn check_master_key(
    store: &dyn portvakt_store::Store,
    master: &portvakt_jose::MasterKey,
    now: i64,
) -> Result<(), String> {
    let dir = match store.directory(SYSTEM_TENANT).await {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(()),
        Err(e) => return Err(format!("cannot read the stored signing keys: {e}")),
    };
    let live: Vec<_> = dir
        .keys
        .iter()
        .filter(|k| k.info.retired_at.is_none_or(|t| t > now))
        .collect();
    if live.is_empty()
        || live
            .iter()
            .any(|k| crate::keys::open_key(master, k).is_ok())
    {
        return Ok(());
    }
    Err(format!(
        "the master key cannot open the signing keys stored in this database ({} live key(s) of the system tenant, e.g. kid {}): it is not the key they were sealed with",
        live.len(),
        live[0].info.kid
    ))
}
