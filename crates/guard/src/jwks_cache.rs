//! The issuer's signing keys: fetched through discovery (or a JWKS URL), refreshed in
//! the background honouring `Cache-Control`, refetched (at most once per
//! `min_refetch_interval`) when a token names an unknown `kid`, and kept serving when
//! the issuer is unreachable (with a metric and a log line saying so).
//!
//! Per OpenID Connect Core §10.1.1 a verifier re-fetches the JWKS when it meets an
//! unfamiliar `kid`; the rate limit keeps a stream of forged `kid`s from turning the
//! API into a load generator against the issuer.

use crate::config::{GuardConfig, KeySource};
use crate::error::{ErrorKind, GuardError};
use crate::hints::{issuer_hints, ClockOffset};
use crate::metrics::{inc, Metrics};
use crate::timefmt::{fmt_duration, fmt_utc};
use crate::token_cache::TokenCache;
use portvakt_core::Clock;
use portvakt_jose::{Jwks, VerifyingKey};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Largest discovery or JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// One fetched set of verifying keys.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    url: String,
    fetched_at: i64,
    skipped: Vec<String>,
}

impl KeySet {
    /// Keys from a JWK Set; unusable keys (other types, `use: enc`) are skipped and
    /// remembered for diagnostics.
    pub fn from_jwks(jwks: &Jwks, url: impl Into<String>, fetched_at: i64) -> Self {
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for k in &jwks.keys {
            match VerifyingKey::from_jwk(k) {
                Ok(v) => keys.push(v),
                Err(e) => skipped.push(format!("{}: {e}", k.kid.as_deref().unwrap_or("(no kid)"))),
            }
        }
        Self {
            keys,
            url: url.into(),
            fetched_at,
            skipped,
        }
    }

    /// The key a token with this `kid` must be verified with: the key with that id,
    /// or the only key when the token has no `kid`.
    pub fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(k) => self.keys.iter().find(|v| v.kid() == Some(k)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }

    /// The published key ids.
    pub fn kids(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| k.kid().unwrap_or("(no kid)").to_string())
            .collect()
    }

    /// The algorithms of the keys, deduplicated.
    pub fn algs(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.keys.iter().map(|k| k.alg().as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Where the set came from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// When it was fetched (guard clock).
    pub fn fetched_at(&self) -> i64 {
        self.fetched_at
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What an unknown-`kid` refetch achieved.
pub(crate) enum Refetch {
    /// A newer key set (fetched now, or by someone else meanwhile).
    Done(Arc<KeySet>),
    /// Not fetched: the last fetch was this long ago.
    RateLimited(Duration),
    /// The fetch failed.
    Failed(GuardError),
}

pub(crate) struct JwksCache {
    issuer: String,
    source: KeySource,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Arc<KeySet>>>,
    jwks_url: Mutex<Option<String>>,
    fetch_lock: tokio::sync::Mutex<()>,
    last_attempt: Mutex<Option<Instant>>,
    offset: Mutex<Option<ClockOffset>>,
    next_ttl: Mutex<Duration>,
    pub metrics: Metrics,
    min_refetch: Duration,
    ttl: (Duration, Duration, Duration),
    retry: Duration,
    timeout: Duration,
    background: bool,
    refresher_started: AtomicBool,
    tokens: Arc<TokenCache>,
}

fn unavailable(url: &str, reason: impl Into<String>) -> GuardError {
    GuardError::new(ErrorKind::KeysUnavailable {
        url: url.to_string(),
        reason: reason.into(),
    })
}

/// `max-age` from `Cache-Control` (RFC 9111 §5.2.2.1); `no-store`/`no-cache` as 0.
fn cache_ttl(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut ttl = None;
    for d in v.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if d == "no-store" || d == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            ttl = n
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    ttl
}

impl JwksCache {
    pub fn new(cfg: &GuardConfig, tokens: Arc<TokenCache>) -> Result<Self, GuardError> {
        let http = crate::http::client(
            cfg.http_timeout,
            concat!("portvakt-guard/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| unavailable(&cfg.issuer, e))?;
        Ok(Self::build(cfg, Some(http), None, tokens))
    }

    pub fn with_static(cfg: &GuardConfig, jwks: &Jwks, tokens: Arc<TokenCache>) -> Self {
        let set = KeySet::from_jwks(jwks, "(static keys)", cfg.clock.now());
        Self::build(cfg, None, Some(Arc::new(set)), tokens)
    }

    fn build(
        cfg: &GuardConfig,
        http: Option<reqwest::Client>,
        set: Option<Arc<KeySet>>,
        tokens: Arc<TokenCache>,
    ) -> Self {
        Self {
            issuer: cfg.issuer.clone(),
            source: cfg.source.clone(),
            http,
            clock: cfg.clock.clone(),
            current: RwLock::new(set),
            jwks_url: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
            last_attempt: Mutex::new(None),
            offset: Mutex::new(None),
            next_ttl: Mutex::new(cfg.jwks_ttl_default),
            metrics: Metrics::default(),
            min_refetch: cfg.min_refetch_interval,
            ttl: (cfg.jwks_ttl_min, cfg.jwks_ttl_default, cfg.jwks_ttl_max),
            retry: cfg.retry_interval,
            timeout: cfg.http_timeout,
            background: cfg.background_refresh,
            refresher_started: AtomicBool::new(false),
            tokens,
        }
    }

    /// The keys now serving, if any were ever fetched.
    pub fn current(&self) -> Option<Arc<KeySet>> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    /// The issuer-minus-local clock offset measured from the last `Date` header.
    pub fn clock_offset(&self) -> Option<ClockOffset> {
        self.offset.lock().ok().and_then(|g| *g)
    }

    /// The serving keys, fetching them first if there are none yet.
    pub async fn get(self: &Arc<Self>) -> Result<Arc<KeySet>, GuardError> {
        if let Some(k) = self.current() {
            return Ok(k);
        }
        let _g = self.fetch_lock.lock().await;
        if let Some(k) = self.current() {
            return Ok(k);
        }
        self.fetch_and_store().await
    }

    /// Fetch now (the caller wants fresh keys regardless of the TTL).
    pub async fn refresh(self: &Arc<Self>) -> Result<Arc<KeySet>, GuardError> {
        let _g = self.fetch_lock.lock().await;
        self.fetch_and_store().await
    }

    /// A token named a `kid` that `seen` lacks: refetch, unless someone already did
    /// and found it, or the last fetch was less than `min_refetch_interval` ago.
    pub async fn refetch_for_unknown_kid(
        self: &Arc<Self>,
        seen: &Arc<KeySet>,
        kid: Option<&str>,
    ) -> Refetch {
        let _g = self.fetch_lock.lock().await;
        if let Some(cur) = self.current() {
            // Someone fetched while we waited for the lock, and found the key.
            if !Arc::ptr_eq(&cur, seen) && cur.find(kid).is_some() {
                return Refetch::Done(cur);
            }
        }
        if self.http.is_none() {
            return Refetch::Failed(unavailable(
                "(static keys)",
                "the guard was given a fixed key set and cannot fetch",
            ));
        }
        let last = self.last_attempt.lock().ok().and_then(|g| *g);
        if let Some(t) = last {
            if t.elapsed() < self.min_refetch {
                return Refetch::RateLimited(t.elapsed());
            }
        }
        inc(&self.metrics.unknown_kid_refetches);
        match self.fetch_and_store().await {
            Ok(k) => Refetch::Done(k),
            Err(e) => Refetch::Failed(e),
        }
    }

    /// Fetch and install a key set; on failure keep the old one. Call with
    /// `fetch_lock` held.
    async fn fetch_and_store(self: &Arc<Self>) -> Result<Arc<KeySet>, GuardError> {
        if let Ok(mut g) = self.last_attempt.lock() {
            *g = Some(Instant::now());
        }
        match self.fetch().await {
            Ok((set, ttl)) => {
                let set = Arc::new(set);
                let old = self.current();
                if let Some(old) = &old {
                    let new_kids = set.kids();
                    let removed: Vec<String> = old
                        .kids()
                        .into_iter()
                        .filter(|k| !new_kids.contains(k))
                        .collect();
                    if !removed.is_empty() {
                        // Tokens verified with a withdrawn key must be verified again.
                        self.tokens.clear();
                        tracing::info!(url = %set.url, ?removed, "issuer withdrew signing keys; validated-token cache cleared");
                    }
                }
                if let Ok(mut g) = self.current.write() {
                    *g = Some(set.clone());
                }
                if let Ok(mut g) = self.next_ttl.lock() {
                    *g = ttl;
                }
                inc(&self.metrics.jwks_fetches);
                if self
                    .metrics
                    .serving_stale_keys
                    .swap(false, Ordering::Relaxed)
                {
                    tracing::info!(url = %set.url, "issuer reachable again; signing keys refreshed");
                }
                self.maybe_start_refresher();
                Ok(set)
            }
            Err(e) => {
                inc(&self.metrics.jwks_fetch_failures);
                if let Some(old) = self.current() {
                    self.metrics
                        .serving_stale_keys
                        .store(true, Ordering::Relaxed);
                    let age = self.clock.now() - old.fetched_at;
                    tracing::warn!(
                        error = %e,
                        keys_fetched_at = %fmt_utc(old.fetched_at),
                        "issuer unreachable; serving the last good signing keys, fetched {} ago",
                        fmt_duration(age)
                    );
                } else {
                    tracing::warn!(error = %e, "issuer's signing keys could not be fetched and none are cached");
                }
                Err(e)
            }
        }
    }

    async fn get_document(
        &self,
        http: &reqwest::Client,
        url: &str,
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>), GuardError> {
        let resp = http.get(url).header("accept", "application/json").send().await.map_err(|e| {
            let reason = if e.is_timeout() {
                format!("no answer within {} s", self.timeout.as_secs())
            } else if e.is_connect() && url.starts_with("https://") {
                format!("could not connect or the TLS handshake failed ({}): is the issuer reachable from this host, and is its certificate trusted by this host's root certificates?", error_chain(&e))
            } else if e.is_connect() {
                "could not connect (connection refused, DNS failure or no route): is the issuer running and reachable from this host?".to_string()
            } else {
                format!("request failed: {e}")
            };
            unavailable(url, reason)
        })?;
        let status = resp.status();
        if !status.is_success() {
            let why = match status.as_u16() {
                404 => " (wrong path, base path or tenant?)",
                401 | 403 => " (the endpoint must be public)",
                500..=599 => " (the issuer has a problem)",
                _ => "",
            };
            return Err(unavailable(url, format!("HTTP {status}{why}")));
        }
        let headers = resp.headers().clone();
        if resp
            .content_length()
            .is_some_and(|l| l as usize > MAX_DOCUMENT_BYTES)
        {
            return Err(unavailable(url, "the document is larger than 1 MiB"));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| unavailable(url, format!("reading the body failed: {e}")))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(unavailable(url, "the document is larger than 1 MiB"));
        }
        Ok((headers, body.to_vec()))
    }

    async fn discover(&self, http: &reqwest::Client) -> Result<String, GuardError> {
        // OpenID Connect Discovery §4: strip a terminating '/' before appending.
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let (_, body) = self.get_document(http, &url).await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| unavailable(&url, format!("the discovery document is not JSON: {e}")))?;
        let issuer = doc["issuer"].as_str().unwrap_or_default();
        if issuer != self.issuer {
            // OpenID Connect Discovery §4.3: the issuer MUST be identical.
            return Err(unavailable(
                &url,
                format!("the discovery document says issuer '{issuer}', but this API is configured for '{}' (they must be identical, OpenID Connect Discovery §4.3)", self.issuer),
            )
            .with_hints(issuer_hints(&self.issuer, issuer)));
        }
        let jwks = doc["jwks_uri"]
            .as_str()
            .ok_or_else(|| unavailable(&url, "the discovery document has no jwks_uri"))?;
        Ok(jwks.to_string())
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), GuardError> {
        let Some(http) = &self.http else {
            return Err(unavailable(
                "(static keys)",
                "the guard was given a fixed key set and cannot fetch",
            ));
        };
        let url = match &self.source {
            KeySource::JwksUrl(u) => u.clone(),
            KeySource::Discovery => {
                let cached = self.jwks_url.lock().ok().and_then(|g| g.clone());
                match cached {
                    Some(u) => u,
                    None => {
                        let u = self.discover(http).await?;
                        if let Ok(mut g) = self.jwks_url.lock() {
                            *g = Some(u.clone());
                        }
                        u
                    }
                }
            }
        };
        let result = self.fetch_jwks(http, &url).await;
        if result.is_err() {
            // Rediscover next time: the jwks_uri may have moved.
            if let Ok(mut g) = self.jwks_url.lock() {
                *g = None;
            }
        }
        result
    }

    async fn fetch_jwks(
        &self,
        http: &reqwest::Client,
        url: &str,
    ) -> Result<(KeySet, Duration), GuardError> {
        let (headers, body) = self.get_document(http, url).await?;
        let now = self.clock.now();
        if let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        {
            if let Ok(mut g) = self.offset.lock() {
                *g = Some(ClockOffset {
                    offset: i64::try_from(date.as_secs())
                        .unwrap_or(i64::MAX)
                        .saturating_sub(now),
                    measured_at: now,
                });
            }
        }
        let jwks: Jwks = serde_json::from_slice(&body).map_err(|e| {
            unavailable(
                url,
                format!("the document is not a JWK Set (RFC 7517 §5): {e}"),
            )
        })?;
        let set = KeySet::from_jwks(&jwks, url, now);
        if set.is_empty() {
            let why = if jwks.keys.is_empty() {
                "it lists no keys".to_string()
            } else {
                set.skipped.join("; ")
            };
            return Err(unavailable(
                url,
                format!("the JWK Set has no usable signing key: {why}"),
            ));
        }
        if !set.skipped.is_empty() {
            tracing::debug!(url, skipped = ?set.skipped, "some JWKs were skipped");
        }
        let (min, default, max) = self.ttl;
        let ttl = cache_ttl(&headers).unwrap_or(default).clamp(min, max);
        Ok((set, ttl))
    }

    fn next_delay(&self) -> Duration {
        let ttl = self.next_ttl.lock().map(|g| *g).unwrap_or(self.ttl.1);
        if self.metrics.serving_stale_keys.load(Ordering::Relaxed) {
            self.retry.min(ttl)
        } else {
            ttl
        }
    }

    fn maybe_start_refresher(self: &Arc<Self>) {
        if !self.background
            || self.http.is_none()
            || self.refresher_started.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.refresher_started.store(false, Ordering::SeqCst);
            return;
        };
        let weak = Arc::downgrade(self);
        handle.spawn(async move {
            loop {
                let delay = match weak.upgrade() {
                    Some(c) => c.next_delay(),
                    None => return,
                };
                tokio::time::sleep(delay).await;
                let Some(c) = weak.upgrade() else { return };
                let _g = c.fetch_lock.lock().await;
                // Errors are counted and logged inside; the old keys keep serving.
                let _ = c.fetch_and_store().await;
            }
        });
    }
}

/// The messages of an error and its sources, joined.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.join(": ")
}
