//! Shared server state.

use crate::directory::DirectoryCache;
use crate::signin::SignInSink;
use portvakt_core::Clock;
use portvakt_jose::MasterKey;
use portvakt_store::Store;
use std::sync::Arc;

/// Settings the HTTP edge needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Base of every issuer URL, without a trailing slash (`http://127.0.0.1:8400`).
    pub public_url: String,
    /// How long a retired key stays published beyond the longest token lifetime.
    pub key_retention_leeway_secs: i64,
    /// The refresh-token retry window, in milliseconds: a used refresh token presented
    /// again by the same client within this time of its first use gets a new successor
    /// (the one whose response was lost is superseded) while that successor is unused;
    /// otherwise, and always with 0, it is a replay and revokes the family
    /// ([`portvakt_core::grant::decide_refresh`]).
    pub refresh_reuse_grace_ms: i64,
    /// How often expired rows are purged ([`crate::maintenance`]); `None`: never
    /// (tests that purge by hand).
    pub purge_every: Option<std::time::Duration>,
    /// New pending sign-ins (`/authorize` needing a page) per client address and minute.
    pub interactions_per_minute: u32,
    /// New device authorizations per client address and minute.
    pub device_codes_per_minute: u32,
    /// How long sign-in records are kept (days); purged in batches.
    pub signin_retention_days: u32,
    /// Whether sign-ins are logged (`--signin-log off` switches the log off).
    pub signin_log: bool,
    /// Proxies whose `X-Forwarded-For` is believed (`--trust-forwarded-for`); empty:
    /// the peer address is the client's.
    pub trusted_proxies: Vec<portvakt_policy::cidr::IpCidr>,
}

impl ServerConfig {
    /// Config with defaults for `public_url`.
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            key_retention_leeway_secs: 300,
            refresh_reuse_grace_ms: 10_000,
            purge_every: Some(std::time::Duration::from_secs(60)),
            interactions_per_minute: crate::rate_limit::INTERACTIONS_PER_MINUTE,
            device_codes_per_minute: crate::rate_limit::DEVICE_CODES_PER_MINUTE,
            trusted_proxies: vec![],
            signin_retention_days: 30,
            signin_log: true,
        }
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The issuer of a tenant.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.public_url)
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Per-tenant snapshots for the token path.
    pub directory: Arc<DirectoryCache>,
    /// The clock; tests pass a manual one.
    pub clock: Arc<dyn Clock>,
    /// Seals private keys at rest.
    pub master: Arc<MasterKey>,
    /// Where sign-in outcomes go.
    pub signins: SignInSink,
    /// Failed-password counts.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// Per-address limits on what unauthenticated requests may store.
    pub limits: Arc<crate::rate_limit::Limits>,
}

impl AppState {
    /// Assemble the state. Must be called inside a Tokio runtime (it starts the
    /// sign-in writer task and the purge of expired rows).
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: MasterKey,
    ) -> Self {
        let limits = Arc::new(crate::rate_limit::Limits::new(&config));
        let store_for_log = store.clone();
        let config = Arc::new(config);
        let master = Arc::new(master);
        let directory = Arc::new(DirectoryCache::new(
            store.clone(),
            master.clone(),
            config.clone(),
        ));
        let throttle: Arc<crate::throttle::Throttle> = Arc::default();
        // Several nodes on one database: other nodes' writes reach this node's caches,
        // and the brute-force counts are shared.
        if let Some(changes) = store.changes() {
            throttle.share_with(store.clone());
            follow_other_nodes(&directory, &throttle, changes);
        }
        let signins = if config.signin_log {
            SignInSink::spawn(store_for_log)
        } else {
            SignInSink::off()
        };
        let state = Self {
            config,
            store,
            directory,
            clock,
            master,
            signins,
            throttle,
            limits,
        };
        if let Some(every) = state.config.purge_every {
            crate::maintenance::spawn(state.clone(), every);
        }
        state
    }
}

/// Apply other nodes' changes as the store reports them, until it stops: a tenant's
/// view is dropped when another node changed it, every view when notices may have
/// been missed; peers' brute-force counts are added to this node's.
fn follow_other_nodes(
    directory: &Arc<DirectoryCache>,
    throttle: &Arc<crate::throttle::Throttle>,
    mut changes: tokio::sync::broadcast::Receiver<portvakt_store::Change>,
) {
    use portvakt_store::Change;
    use tokio::sync::broadcast::error::RecvError;
    let (directory, throttle) = (Arc::downgrade(directory), Arc::downgrade(throttle));
    tokio::spawn(async move {
        loop {
            let change = changes.recv().await;
            let (Some(directory), Some(throttle)) = (directory.upgrade(), throttle.upgrade())
            else {
                return;
            };
            match change {
                Ok(Change::Tenant(id)) => directory.invalidate_id(&id),
                // The store moved its revocation epoch itself.
                Ok(Change::Revoked) => {}
                Ok(Change::Peer(lines)) => {
                    for line in &lines {
                        throttle.apply_peer(line);
                    }
                }
                // Missed notices (here or in the store): start over.
                Ok(Change::Resync) | Err(RecvError::Lagged(_)) => directory.clear(),
                Err(RecvError::Closed) => return,
            }
        }
    });
}
