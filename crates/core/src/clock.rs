//! Time as a parameter.

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch; the unit of every `exp`, `iat` and `nbf`.
pub type UnixTime = i64;

/// Milliseconds since the Unix epoch, where a comparison must be finer than a second
/// (the refresh-token reuse window).
pub type UnixTimeMs = i64;

/// A source of the current time. The server uses [`SystemClock`]; tests use
/// [`ManualClock`] to step over expiry without sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds since the epoch.
    fn now_ms(&self) -> UnixTimeMs;
    /// Now, in whole seconds since the epoch (rounded down).
    fn now(&self) -> UnixTime {
        self.now_ms().div_euclid(1000)
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixTimeMs {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (milliseconds inside).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at second `t`.
    pub fn new(t: UnixTime) -> Self {
        Self(AtomicI64::new(t * 1000))
    }
    /// Move the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
    /// Move the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixTimeMs {
        self.0.load(Ordering::SeqCst)
    }
}
