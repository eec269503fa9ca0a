//! Counters a resource server can export (Prometheus text via
//! [`MetricsSnapshot::prometheus`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub jwks_fetches: AtomicU64,
    pub jwks_fetch_failures: AtomicU64,
    pub unknown_kid_refetches: AtomicU64,
    pub stale_key_recoveries: AtomicU64,
    pub stale_key_validations: AtomicU64,
    pub token_cache_hits: AtomicU64,
    pub token_cache_misses: AtomicU64,
    pub validations_ok: AtomicU64,
    pub validations_failed: AtomicU64,
    pub serving_stale_keys: AtomicBool,
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            jwks_fetches: g(&self.jwks_fetches),
            jwks_fetch_failures: g(&self.jwks_fetch_failures),
            unknown_kid_refetches: g(&self.unknown_kid_refetches),
            stale_key_recoveries: g(&self.stale_key_recoveries),
            stale_key_validations: g(&self.stale_key_validations),
            token_cache_hits: g(&self.token_cache_hits),
            token_cache_misses: g(&self.token_cache_misses),
            validations_ok: g(&self.validations_ok),
            validations_failed: g(&self.validations_failed),
            serving_stale_keys: self.serving_stale_keys.load(Ordering::Relaxed),
        }
    }
}

/// A point-in-time copy of the guard's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Successful discovery+JWKS fetches.
    pub jwks_fetches: u64,
    /// Failed fetches (the last good keys kept serving, if there were any).
    pub jwks_fetch_failures: u64,
    /// Refetches triggered by a token with an unknown `kid`.
    pub unknown_kid_refetches: u64,
    /// Unknown `kid`s that a refetch found (the key cache was stale; recovered).
    pub stale_key_recoveries: u64,
    /// Tokens validated with keys whose last refresh failed.
    pub stale_key_validations: u64,
    /// Validations answered from the token cache.
    pub token_cache_hits: u64,
    /// Validations that needed a signature check.
    pub token_cache_misses: u64,
    /// Tokens accepted.
    pub validations_ok: u64,
    /// Tokens refused.
    pub validations_failed: u64,
    /// Whether the last refresh failed and older keys are serving.
    pub serving_stale_keys: bool,
}

impl MetricsSnapshot {
    /// Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        let mut s = String::new();
        for (name, help, v) in [
            (
                "portvakt_guard_jwks_fetches_total",
                "Successful JWKS fetches",
                self.jwks_fetches,
            ),
            (
                "portvakt_guard_jwks_fetch_failures_total",
                "Failed JWKS fetches",
                self.jwks_fetch_failures,
            ),
            (
                "portvakt_guard_unknown_kid_refetches_total",
                "JWKS refetches for an unknown kid",
                self.unknown_kid_refetches,
            ),
            (
                "portvakt_guard_stale_key_recoveries_total",
                "Unknown kids found by a refetch",
                self.stale_key_recoveries,
            ),
            (
                "portvakt_guard_stale_key_validations_total",
                "Validations with keys whose refresh failed",
                self.stale_key_validations,
            ),
            (
                "portvakt_guard_token_cache_hits_total",
                "Validations answered from the token cache",
                self.token_cache_hits,
            ),
            (
                "portvakt_guard_token_cache_misses_total",
                "Validations that checked a signature",
                self.token_cache_misses,
            ),
            (
                "portvakt_guard_validations_ok_total",
                "Tokens accepted",
                self.validations_ok,
            ),
            (
                "portvakt_guard_validations_failed_total",
                "Tokens refused",
                self.validations_failed,
            ),
            (
                "portvakt_guard_serving_stale_keys",
                "1 while the issuer is unreachable and old keys serve",
                u64::from(self.serving_stale_keys),
            ),
        ] {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
        s
    }
}
