//! Per-address rate limits on what an unauthenticated request may make the server
//! store: pending sign-ins (`/authorize`) and device authorizations. A fixed window per
//! key; the map of keys is bounded.

use std::collections::HashMap;
use std::sync::Mutex;

const MAX_KEYS: usize = 100_000;

/// At most `limit` events per `window` seconds per key.
#[derive(Debug)]
pub struct RateLimit {
    limit: u32,
    window: i64,
    map: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimit {
    /// A limit of `limit` per `window` seconds.
    pub fn new(limit: u32, window: i64) -> Self {
        Self {
            limit,
            window: window.max(1),
            map: Mutex::default(),
        }
    }

    /// Count one event for `key` at `now`; `Err(seconds)` to wait when over the limit
    /// (the event is then not counted).
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        let Ok(mut map) = self.map.lock() else {
            return Ok(());
        };
        let start = now - now.rem_euclid(self.window);
        if map.len() > MAX_KEYS {
            map.retain(|_, (s, _)| *s == start);
        }
        let e = map.entry(key.to_string()).or_insert((start, 0));
        if e.0 != start {
            *e = (start, 0);
        }
        if e.1 >= self.limit {
            return Err(start + self.window - now);
        }
        e.1 += 1;
        Ok(())
    }
}

/// The limits of one node.
#[derive(Debug)]
pub struct Limits {
    /// The configured limit of pending sign-ins per minute (for messages).
    pub interactions_per_minute: u32,
    /// The configured limit of device authorizations per minute (for messages).
    pub device_codes_per_minute: u32,
    /// New pending sign-ins per address per minute.
    pub interactions: RateLimit,
    /// New device authorizations per address per minute.
    pub device_codes: RateLimit,
}

/// Default: new pending sign-ins per address and minute. Generous, because many
/// users may share one address (a company's NAT): the bound it gives is on storage,
/// 300 × 15 minutes of life × at most ~8 KB (docs/limits.md).
pub const INTERACTIONS_PER_MINUTE: u32 = 300;
/// Default: new device authorizations per address and minute.
pub const DEVICE_CODES_PER_MINUTE: u32 = 60;

impl Limits {
    /// The limits of `config`.
    pub fn new(config: &crate::state::ServerConfig) -> Self {
        Self {
            interactions_per_minute: config.interactions_per_minute,
            device_codes_per_minute: config.device_codes_per_minute,
            interactions: RateLimit::new(config.interactions_per_minute, 60),
            device_codes: RateLimit::new(config.device_codes_per_minute, 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_waits_until_it_ends() {
        let r = RateLimit::new(3, 60);
        for _ in 0..3 {
            assert_eq!(r.check("a", 120), Ok(()));
        }
        assert_eq!(r.check("a", 130), Err(50));
        assert_eq!(r.check("b", 130), Ok(()), "keys count apart");
        assert_eq!(r.check("a", 180), Ok(()), "a new window");
    }
}
