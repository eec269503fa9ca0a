//! Brute-force protection for password sign-in: failures are counted per account and
//! per source address; past a threshold, further attempts are refused for a time that
//! doubles with each failure (30 s, 60 s, ... capped at 15 minutes). A success clears
//! the account's count.
//!
//! The counts live in memory, per node: enough to slow a guessing attack by orders of
//! magnitude. (A shared store comes with the multi-node backend.)

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures per account before the lockout starts.
pub const ACCOUNT_THRESHOLD: u32 = 5;
/// Failures per source address before the lockout starts.
pub const ADDRESS_THRESHOLD: u32 = 20;
const BASE_LOCK: i64 = 30;
const MAX_LOCK: i64 = 15 * 60;
const FORGET_AFTER: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: i64,
}

/// The failure counts.
#[derive(Debug, Default)]
pub struct Throttle {
    map: Mutex<HashMap<String, Entry>>,
}

fn lock_for(failures: u32, threshold: u32) -> i64 {
    if failures < threshold {
        return 0;
    }
    let over = (failures - threshold).min(10);
    (BASE_LOCK << over).min(MAX_LOCK)
}

impl Throttle {
    /// Seconds the caller must still wait, if any, for `account` or `address`.
    pub fn wait(&self, account: &str, address: Option<&str>, now: i64) -> Option<i64> {
        let map = self.map.lock().ok()?;
        let remaining = |key: &str, threshold: u32| {
            map.get(key)
                .map(|e| e.last + lock_for(e.failures, threshold) - now)
                .filter(|r| *r > 0)
        };
        let a = remaining(&format!("acct:{account}"), ACCOUNT_THRESHOLD);
        let b = address.and_then(|ip| remaining(&format!("ip:{ip}"), ADDRESS_THRESHOLD));
        a.into_iter().chain(b).max()
    }

    /// Count a failure.
    pub fn fail(&self, account: &str, address: Option<&str>, now: i64) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() > 100_000 {
                map.retain(|_, e| now - e.last < FORGET_AFTER);
            }
            for key in [
                Some(format!("acct:{account}")),
                address.map(|ip| format!("ip:{ip}")),
            ]
            .into_iter()
            .flatten()
            {
                let e = map.entry(key).or_insert(Entry {
                    failures: 0,
                    last: now,
                });
                if now - e.last > FORGET_AFTER {
                    e.failures = 0;
                }
                e.failures += 1;
                e.last = now;
            }
        }
    }

    /// Clear the account's count after a successful sign-in.
    pub fn succeed(&self, account: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&format!("acct:{account}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_threshold_and_doubles() {
        let t = Throttle::default();
        for _ in 0..4 {
            t.fail("a", Some("1.2.3.4"), 100);
        }
        assert_eq!(t.wait("a", Some("1.2.3.4"), 100), None);
        t.fail("a", Some("1.2.3.4"), 100);
        assert_eq!(t.wait("a", None, 100), Some(30));
        assert_eq!(t.wait("a", None, 129), Some(1));
        assert_eq!(t.wait("a", None, 130), None);
        t.fail("a", None, 130);
        assert_eq!(t.wait("a", None, 130), Some(60));
        t.succeed("a");
        assert_eq!(t.wait("a", None, 131), None);
        assert_eq!(
            t.wait("b", None, 131),
            None,
            "other accounts are not affected"
        );
    }
}
