//! Per-tenant snapshots for the hot path.
//!
//! The token endpoint answers from a [`TenantView`]: applications, resources, opened
//! signing keys and the pre-serialized discovery and JWKS documents. A view is built
//! from one store read and replaced when an admin write touches the tenant, or when a
//! key event (activation, removal from the JWKS) falls due. The client-credentials
//! path therefore makes no database round trip.

use crate::access::TenantAccess;
use crate::discovery;
use crate::error::ApiError;
use crate::keys::open_key;
use crate::state::ServerConfig;
use crate::verified_tokens::VerifiedTokens;
use axum::body::Bytes;
use portvakt_core::model::{Application, Resource, SigningKeyInfo, Tenant};
use portvakt_jose::{Jwk, Jwks, MasterKey, SigningKey, VerifyingKey};
use portvakt_store::{Directory, DirectoryNames, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What the token path knows of one tenant.
pub struct TenantView {
    /// The tenant.
    pub tenant: Tenant,
    /// `{public_url}/{name}`.
    pub issuer: String,
    resources: HashMap<String, Resource>,
    applications: HashMap<String, Application>,
    signers: Vec<(SigningKeyInfo, Arc<SigningKey>)>,
    /// Every key's lifecycle, oldest first.
    pub keys: Vec<SigningKeyInfo>,
    /// Verifiers for the published keys.
    pub verifiers: Vec<VerifyingKey>,
    /// The JWKS document.
    pub jwks: Bytes,
    /// OpenID Connect Discovery document.
    pub openid_configuration: Bytes,
    /// RFC 8414 metadata document.
    pub oauth_metadata: Bytes,
    /// The view must be rebuilt at this instant (next key event); `i64::MAX` if never.
    pub refresh_at: i64,
    /// The algorithm of ID tokens.
    pub id_token_alg: portvakt_jose::Algorithm,
    /// Access tokens already verified against this view's keys.
    pub verified: VerifiedTokens,
    /// Conditional Access: the tenant's compiled policies.
    pub access: TenantAccess,
    /// The tenant's roles.
    pub roles: Vec<portvakt_core::model::Role>,
    /// When it was read from the store (monotonic): while the store cannot vouch for
    /// cached views, a view younger than [`UNTRUSTED_REUSE`] is still used.
    pub loaded: std::time::Instant,
}

impl TenantView {
    /// A resource by exact identifier.
    pub fn resource(&self, identifier: &str) -> Option<&Resource> {
        self.resources.get(identifier)
    }
    /// An application by client id.
    pub fn application(&self, client_id: &str) -> Option<&Application> {
        self.applications.get(client_id)
    }
    /// The key that signs access tokens at `now`: the newest active key of the
    /// tenant's algorithm.
    pub fn signer(&self, now: i64) -> Option<&Arc<SigningKey>> {
        self.signer_for(self.tenant.signing_algorithm, now)
    }
    /// [`Self::signer`], or the error that says the tenant has none.
    pub fn access_token_signer(&self, now: i64) -> Result<&Arc<SigningKey>, ApiError> {
        self.signer(now).ok_or_else(|| {
            ApiError::new(
                portvakt_core::ErrorCode::SigningKeyUnavailable,
                format!(
                    "tenant '{}' has no signing key that is active now",
                    self.tenant.name
                ),
            )
        })
    }
    /// The key that signs ID tokens at `now`: RS256 (OIDC Core §15.1, the default of
    /// `id_token_signed_response_alg`), or the tenant's key for tenants made before
    /// they had an RS256 key.
    pub fn id_token_signer(&self, now: i64) -> Option<&Arc<SigningKey>> {
        self.signer_for(self.id_token_alg, now)
            .or_else(|| self.signer(now))
    }
    fn signer_for(&self, alg: portvakt_jose::Algorithm, now: i64) -> Option<&Arc<SigningKey>> {
        self.signers
            .iter()
            .rev()
            .find(|(i, k)| k.alg() == alg && i.is_signing(now))
            .map(|(_, k)| k)
    }
    /// Seconds until the JWKS may change (for `Cache-Control`), capped at `cap`.
    pub fn jwks_max_age(&self, now: i64, cap: i64) -> i64 {
        (self.refresh_at - now).clamp(0, cap)
    }

    fn build(
        dir: Directory,
        names: Option<DirectoryNames>,
        config: &ServerConfig,
        master: &MasterKey,
        now: i64,
    ) -> Result<Self, ApiError> {
        let access = TenantAccess::build(
            &dir.roles,
            &dir.policies,
            &dir.named_locations,
            names.as_ref(),
            &dir.applications,
            &dir.resources,
        );
        if let Err(e) = &access.set {
            tracing::error!(tenant = %dir.tenant.name, error = %e, "the tenant's Conditional Access policies do not compile; its sign-ins fail closed (PV4007)");
        }
        let issuer = config.issuer(&dir.tenant.name);
        let mut signers = Vec::new();
        let mut published: Vec<Jwk> = Vec::new();
        let mut refresh_at = i64::MAX;
        for k in &dir.keys {
            let i = &k.info;
            for t in [Some(i.active_from), i.retired_at, i.published_until]
                .into_iter()
                .flatten()
            {
                if t > now {
                    refresh_at = refresh_at.min(t);
                }
            }
            if i.is_published(now) {
                let jwk: Jwk = serde_json::from_str(&k.public_jwk).map_err(|e| {
                    ApiError::from(portvakt_jose::JoseError::Key(format!(
                        "stored JWK of {}: {e}",
                        i.kid
                    )))
                })?;
                published.push(jwk);
            }
            if i.retired_at.is_none_or(|t| t > now) {
                match open_key(master, k) {
                    Ok(key) => signers.push((i.clone(), Arc::new(key))),
                    Err(e) => {
                        tracing::error!(tenant = %dir.tenant.name, kid = %i.kid, error = %e, "signing key cannot be opened; check PORTVAKT_MASTER_KEY")
                    }
                }
            }
        }
        // Newest first in the JWKS, so the next signer is the first a reader sees.
        published.reverse();
        let jwks_doc = Jwks { keys: published };
        let verifiers = VerifyingKey::from_jwks(&jwks_doc);
        let to_bytes =
            |v: &serde_json::Value| Bytes::from(serde_json::to_vec(v).unwrap_or_default());
        let jwks = Bytes::from(serde_json::to_vec(&jwks_doc).unwrap_or_default());
        let id_token_alg = if dir.keys.iter().any(|k| {
            k.info.algorithm == portvakt_jose::Algorithm::RS256
                && k.info.retired_at.is_none_or(|t| t > now)
        }) {
            portvakt_jose::Algorithm::RS256
        } else {
            dir.tenant.signing_algorithm
        };
        let openid_configuration = to_bytes(&discovery::openid_configuration(
            &issuer,
            &dir.tenant,
            id_token_alg,
        ));
        let oauth_metadata = to_bytes(&discovery::oauth_metadata(&issuer, &dir.tenant));
        Ok(Self {
            issuer,
            resources: dir
                .resources
                .into_iter()
                .map(|r| (r.identifier.clone(), r))
                .collect(),
            applications: dir
                .applications
                .into_iter()
                .map(|a| (a.client_id.clone(), a))
                .collect(),
            keys: dir.keys.into_iter().map(|k| k.info).collect(),
            tenant: dir.tenant,
            signers,
            verifiers,
            jwks,
            openid_configuration,
            oauth_metadata,
            refresh_at,
            id_token_alg,
            verified: VerifiedTokens::default(),
            access,
            roles: dir.roles,
            loaded: std::time::Instant::now(),
        })
    }
}

/// While the store cannot vouch for cached views (a node that hears the other
/// nodes' change notices late or not at all), a view younger than this is used as
/// it is; an older one (up to [`UNTRUSTED_LIMIT`]) is still used while one reread
/// runs in the background, and a view older than that is reread before it is used.
/// A change through another node is then enforced here within about a second
/// (docs/design/postgres.md), and a node under load does not add a directory read
/// and a view build (signing keys unsealed) to its requests, which would make it
/// slower still and its notices later.
pub const UNTRUSTED_REUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// See [`UNTRUSTED_REUSE`].
pub const UNTRUSTED_LIMIT: std::time::Duration = std::time::Duration::from_millis(900);

/// The cache of views.
pub struct DirectoryCache {
    store: Arc<dyn Store>,
    master: Arc<MasterKey>,
    config: Arc<ServerConfig>,
    views: RwLock<HashMap<String, Arc<TenantView>>>,
    /// Moved by every invalidation: a view read from the store before one is not
    /// cached after it (it may predate the change that invalidated).
    generation: std::sync::atomic::AtomicU64,
    /// Tenants whose view is being reread in the background (one at a time each).
    rereading: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Loads of views, one at a time per shard (by the tenant's name): requests that
    /// miss the cache together wait for one read of the store instead of each making
    /// its own (and each taking a connection, which a database under load is slow to
    /// open).
    loading: [tokio::sync::Mutex<()>; LOAD_SHARDS],
}

/// Shards of [`DirectoryCache::loading`].
const LOAD_SHARDS: usize = 16;

impl DirectoryCache {
    /// An empty cache.
    pub fn new(store: Arc<dyn Store>, master: Arc<MasterKey>, config: Arc<ServerConfig>) -> Self {
        Self {
            store,
            master,
            config,
            views: RwLock::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            rereading: std::sync::Mutex::default(),
            loading: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
        }
    }

    /// The view of `tenant` at `now`, loading it when absent or due.
    ///
    /// While the store cannot vouch for cached views (a node of several that lost
    /// the other nodes' change notices, or hears them late), a view is used only
    /// while younger than [`UNTRUSTED_REUSE`].
    pub async fn get(
        self: &Arc<Self>,
        tenant: &str,
        now: i64,
    ) -> Result<Option<Arc<TenantView>>, ApiError> {
        if let Some(v) = self.cached(tenant) {
            if now < v.refresh_at {
                let age = v.loaded.elapsed();
                if age < UNTRUSTED_REUSE || self.store.caches_current() {
                    return Ok(Some(v));
                }
                if age < UNTRUSTED_LIMIT {
                    self.reread_in_background(tenant, now);
                    return Ok(Some(v));
                }
            }
        }
        let shard = tenant
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31) ^ usize::from(b));
        let _one_at_a_time = self.loading[shard % LOAD_SHARDS].lock().await;
        // Loaded by the request this one waited for?
        if let Some(v) = self.cached(tenant) {
            if now < v.refresh_at && v.loaded.elapsed() < UNTRUSTED_REUSE {
                return Ok(Some(v));
            }
        }
        self.load(tenant, now).await
    }

    /// The cached view of `tenant`, if any (whatever its age).
    fn cached(&self, tenant: &str) -> Option<Arc<TenantView>> {
        self.views.read().ok().and_then(|m| m.get(tenant).cloned())
    }

    /// Reread `tenant`'s view in a task of its own, unless one is already.
    fn reread_in_background(self: &Arc<Self>, tenant: &str, now: i64) {
        let fresh = self
            .rereading
            .lock()
            .map(|mut s| s.insert(tenant.to_owned()))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        let (cache, tenant) = (Arc::clone(self), tenant.to_owned());
        tokio::spawn(async move {
            if let Err(e) = cache.load(&tenant, now).await {
                tracing::debug!(tenant = %tenant, error = %e.detail, "rereading a view failed; the next request tries again");
            }
            if let Ok(mut s) = cache.rereading.lock() {
                s.remove(&tenant);
            }
        });
    }

    /// Read `tenant`'s view from the store and cache it (unless an invalidation came
    /// in meanwhile).
    async fn load(&self, tenant: &str, now: i64) -> Result<Option<Arc<TenantView>>, ApiError> {
        use std::sync::atomic::Ordering;
        let generation = self.generation.load(Ordering::Acquire);
        let Some(mut dir) = self.store.directory(tenant).await? else {
            return Ok(None);
        };
        crate::portal::with_portal_app(&mut dir, &self.config);
        // Policy references resolve against the tenant's users and groups: read them
        // only when there are policies.
        let names = if dir.policies.is_empty() {
            None
        } else {
            Some(self.store.directory_names(&dir.tenant.id).await?)
        };
        let view = Arc::new(TenantView::build(
            dir,
            names,
            &self.config,
            &self.master,
            now,
        )?);
        if let Ok(mut m) = self.views.write() {
            // Under the lock, so that no invalidation slips between the check and
            // the insert.
            if self.generation.load(Ordering::Acquire) == generation {
                m.insert(tenant.to_string(), view.clone());
            }
        }
        Ok(Some(view))
    }

    /// Forget a tenant's view after a write.
    pub fn invalidate(&self, tenant: &str) {
        if let Ok(mut m) = self.views.write() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            m.remove(tenant);
        }
    }

    /// Forget the view of the tenant with this id (a change another node made).
    pub fn invalidate_id(&self, tenant_id: &str) {
        if let Ok(mut m) = self.views.write() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            m.retain(|_, v| v.tenant.id != tenant_id);
        }
    }

    /// Forget every view (another node's changes may have been missed).
    pub fn clear(&self) {
        if let Ok(mut m) = self.views.write() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            m.clear();
        }
    }
}
