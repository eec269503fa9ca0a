//! [`GuardConfig`]: where the keys come from, what a token must say, and the limits.

use crate::token::Claims;
use portvakt_core::{Clock, SystemClock};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Where the issuer's signing keys are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`, whose
    /// `issuer` must equal the configured issuer and whose `jwks_uri` is then used.
    Discovery,
    /// A JWKS URL given directly (no discovery).
    JwksUrl(String),
}

/// What a token must carry beyond a valid signature, issuer, audience and times: the
/// scopes and roles of the resource (or route). Checked on every request, cached
/// tokens included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Every one of these scopes is required (`scope` claim).
    pub scopes: Vec<String>,
    /// Every one of these roles is required (`roles` claim, RFC 9068 §2.2.3.1).
    pub roles: Vec<String>,
}

/// Decides whether a verified token was revoked (by `jti`, subject, client, ...).
/// Consulted on every request, cached tokens included, so keep it fast.
pub trait RevocationCheck: Send + Sync + 'static {
    /// `Some(reason)` when the token must be refused.
    fn revoked(&self, claims: &Claims) -> Option<String>;
}

/// A [`RevocationCheck`] backed by an in-memory set of revoked `jti`s.
#[derive(Debug, Default)]
pub struct JtiDenyList(RwLock<HashSet<String>>);

impl JtiDenyList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revoke the token with this `jti`.
    pub fn revoke(&self, jti: impl Into<String>) {
        if let Ok(mut s) = self.0.write() {
            s.insert(jti.into());
        }
    }
}

impl RevocationCheck for JtiDenyList {
    fn revoked(&self, claims: &Claims) -> Option<String> {
        let s = self.0.read().ok()?;
        s.contains(&claims.jti)
            .then(|| "its jti is on the resource server's deny list".to_string())
    }
}

/// Configuration of a [`crate::Guard`]. Build it with [`GuardConfig::issuer`] and the
/// chained setters; defaults follow the secure choice.
///
/// Issuers may be `https://` (verified against the system's root certificates) or,
/// on trusted networks and in tests, `http://`.
#[derive(Clone)]
pub struct GuardConfig {
    pub(crate) issuer: String,
    pub(crate) source: KeySource,
    pub(crate) audiences: Vec<String>,
    pub(crate) requirements: Requirements,
    pub(crate) leeway: u64,
    pub(crate) max_token_bytes: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) realm: String,
    pub(crate) token_cache_capacity: usize,
    pub(crate) min_refetch_interval: Duration,
    pub(crate) jwks_ttl_min: Duration,
    pub(crate) jwks_ttl_default: Duration,
    pub(crate) jwks_ttl_max: Duration,
    pub(crate) retry_interval: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) background_refresh: bool,
    pub(crate) error_base_url: Option<String>,
    pub(crate) revocation: Option<Arc<dyn RevocationCheck>>,
}

impl std::fmt::Debug for GuardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardConfig")
            .field("issuer", &self.issuer)
            .field("source", &self.source)
            .field("audiences", &self.audiences)
            .field("requirements", &self.requirements)
            .field("leeway", &self.leeway)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish_non_exhaustive()
    }
}

/// Default clock leeway, seconds.
pub const DEFAULT_LEEWAY: u64 = 60;
/// Default largest accepted token, bytes. Portvakt tokens are well under 2 KB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

impl GuardConfig {
    /// Trust tokens from `issuer` (exact string, RFC 9068 §4), keys found through
    /// OpenID Connect discovery.
    pub fn issuer(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            source: KeySource::Discovery,
            audiences: Vec::new(),
            requirements: Requirements::default(),
            leeway: DEFAULT_LEEWAY,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock),
            realm: "api".into(),
            token_cache_capacity: 10_000,
            min_refetch_interval: Duration::from_secs(5),
            jwks_ttl_min: Duration::from_secs(60),
            jwks_ttl_default: Duration::from_secs(300),
            jwks_ttl_max: Duration::from_secs(24 * 3600),
            retry_interval: Duration::from_secs(30),
            http_timeout: Duration::from_secs(10),
            background_refresh: true,
            error_base_url: None,
            revocation: None,
        }
    }

    /// Trust tokens from `issuer`, keys fetched from `jwks_url` without discovery.
    pub fn issuer_with_jwks(issuer: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        let mut c = Self::issuer(issuer);
        c.source = KeySource::JwksUrl(jwks_url.into());
        c
    }

    /// Accept tokens whose `aud` contains this value (call again for more).
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Require this scope on every request (call again for more).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.requirements.scopes.push(scope.into());
        self
    }

    /// Require this role on every request (call again for more).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.requirements.roles.push(role.into());
        self
    }

    /// Allowed clock skew for `exp`, `nbf` and `iat`, seconds (default 60).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// The clock used for `exp`/`nbf`/`iat` (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Tokens larger than this are refused before parsing (default 8 KiB).
    pub fn max_token_bytes(mut self, n: usize) -> Self {
        self.max_token_bytes = n;
        self
    }

    /// The `realm` of `WWW-Authenticate` (RFC 6750 §3; default "api").
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// How many validated tokens to remember (0 disables the cache; default 10 000).
    pub fn token_cache_capacity(mut self, n: usize) -> Self {
        self.token_cache_capacity = n;
        self
    }

    /// At most one JWKS refetch per this interval for unknown `kid`s (default 5 s).
    pub fn min_refetch_interval(mut self, d: Duration) -> Self {
        self.min_refetch_interval = d;
        self
    }

    /// Bounds for honouring the JWKS response's `Cache-Control: max-age`, and the
    /// interval used when it has none (defaults 60 s, 300 s, 24 h).
    pub fn jwks_ttl(mut self, min: Duration, default: Duration, max: Duration) -> Self {
        self.jwks_ttl_min = min;
        self.jwks_ttl_default = default;
        self.jwks_ttl_max = max.max(min);
        self
    }

    /// Delay before retrying after a failed background refresh (default 30 s).
    pub fn retry_interval(mut self, d: Duration) -> Self {
        self.retry_interval = d;
        self
    }

    /// Timeout of each discovery/JWKS request (default 10 s).
    pub fn http_timeout(mut self, d: Duration) -> Self {
        self.http_timeout = d;
        self
    }

    /// Whether to refresh keys in a background task (default true; needs a tokio
    /// runtime, and starts with the first fetch).
    pub fn background_refresh(mut self, on: bool) -> Self {
        self.background_refresh = on;
        self
    }

    /// Base of `error_uri` (`{base}/errors/{code}`). Default: the issuer without its
    /// last path segment (Portvakt's issuer is `{public_url}/{tenant}`).
    pub fn error_base_url(mut self, base: impl Into<String>) -> Self {
        self.error_base_url = Some(base.into());
        self
    }

    /// A revocation check consulted for every request.
    pub fn revocation(mut self, check: Arc<dyn RevocationCheck>) -> Self {
        self.revocation = Some(check);
        self
    }

    /// The configured issuer.
    pub fn issuer_url(&self) -> &str {
        &self.issuer
    }

    /// The URL errors link to: `{base}/errors/{code}`.
    pub(crate) fn error_uri(&self, code: &str) -> String {
        let base = match &self.error_base_url {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => {
                let i = self.issuer.trim_end_matches('/');
                match i.rfind('/') {
                    Some(p) if i[..p].contains("://") && !i[..p].ends_with('/') => {
                        i[..p].to_string()
                    }
                    _ => i.to_string(),
                }
            }
        };
        format!("{base}/errors/{code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_uri_defaults_to_the_public_url() {
        let c = GuardConfig::issuer("http://id.example.com/acme");
        assert_eq!(c.error_uri("PV2011"), "http://id.example.com/errors/PV2011");
        let c = GuardConfig::issuer("http://id.example.com");
        assert_eq!(c.error_uri("PV2011"), "http://id.example.com/errors/PV2011");
        let c = GuardConfig::issuer("http://x/a").error_base_url("https://docs/");
        assert_eq!(c.error_uri("PV2003"), "https://docs/errors/PV2003");
    }
}
