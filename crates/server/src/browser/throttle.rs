//! Brute-force protection for secrets a person types: passwords and device user codes.
//!
//! Failures are counted per key; past a threshold, further attempts under that key are
//! refused for a time that doubles with each failure (30 s, 60 s, ... capped at 15
//! minutes), and a key idle for a day is forgotten.
//!
//! Passwords use *smart lockout*, as Entra ID does: failures from one address must not
//! lock the account's owner out at another. The keys are
//! - the account at one address (5 failures): an attacker at an address locks only
//!   himself out of that account;
//! - the account from *unfamiliar* addresses together (20 failures): guessing spread
//!   over many addresses is still slowed. An address is familiar to an account once
//!   the account signed in successfully from it (the last 8, for 30 days); attempts
//!   from a familiar address are never held back by failures from elsewhere;
//! - the address across accounts (20 failures): password spraying from one address.
//!
//! The counts live in memory, per node: enough to slow a guessing attack by orders of
//! magnitude. (A shared store comes with the multi-node backend.)

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures of one account from one address before that pair is held back.
pub const PAIR_THRESHOLD: u32 = 5;
/// Failures of one account from all unfamiliar addresses before they are held back.
pub const UNFAMILIAR_THRESHOLD: u32 = 20;
/// Failures from one address, across accounts, before it is held back.
pub const ADDRESS_THRESHOLD: u32 = 20;
/// Wrong device user codes from one address before it is held back (RFC 8628 §5.1).
pub const USER_CODE_THRESHOLD: u32 = 5;
const BASE_LOCK: i64 = 30;
const MAX_LOCK: i64 = 15 * 60;
const FORGET_AFTER: i64 = 24 * 3600;
const FAMILIAR_KEEP: usize = 8;
const FAMILIAR_FOR: i64 = 30 * 24 * 3600;
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: i64,
}

#[derive(Debug, Default)]
struct Counts {
    failures: HashMap<String, Entry>,
    /// Per account: addresses of recent successful sign-ins, with when.
    familiar: HashMap<String, Vec<(String, i64)>>,
}

/// The failure counts.
#[derive(Debug, Default)]
pub struct Throttle {
    counts: Mutex<Counts>,
}

fn lock_for(failures: u32, threshold: u32) -> i64 {
    if failures < threshold {
        return 0;
    }
    let over = (failures - threshold).min(10);
    (BASE_LOCK << over).min(MAX_LOCK)
}

impl Counts {
    fn remaining(&self, key: &str, threshold: u32, now: i64) -> Option<i64> {
        self.failures
            .get(key)
            .map(|e| e.last + lock_for(e.failures, threshold) - now)
            .filter(|r| *r > 0)
    }

    fn bump(&mut self, key: String, now: i64) {
        if self.failures.len() > MAX_KEYS {
            self.failures.retain(|_, e| now - e.last < FORGET_AFTER);
        }
        let e = self.failures.entry(key).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now - e.last > FORGET_AFTER {
            e.failures = 0;
        }
        e.failures += 1;
        e.last = now;
    }

    fn is_familiar(&self, account: &str, address: &str, now: i64) -> bool {
        self.familiar.get(account).is_some_and(|v| {
            v.iter()
                .any(|(a, t)| a == address && now - t < FAMILIAR_FOR)
        })
    }
}

fn pair(account: &str, address: Option<&str>) -> String {
    format!("pair:{account}|{}", address.unwrap_or("-"))
}

impl Throttle {
    /// Seconds a password attempt for `account` from `address` must still wait, if any.
    pub fn wait(&self, account: &str, address: Option<&str>, now: i64) -> Option<i64> {
        let c = self.counts.lock().ok()?;
        let mut waits = vec![c.remaining(&pair(account, address), PAIR_THRESHOLD, now)];
        if let Some(ip) = address {
            waits.push(c.remaining(&format!("ip:{ip}"), ADDRESS_THRESHOLD, now));
            if !c.is_familiar(account, ip, now) {
                waits.push(c.remaining(
                    &format!("unfamiliar:{account}"),
                    UNFAMILIAR_THRESHOLD,
                    now,
                ));
            }
        }
        waits.into_iter().flatten().max()
    }

    /// Count a failed password for `account` from `address`.
    pub fn fail(&self, account: &str, address: Option<&str>, now: i64) {
        if let Ok(mut c) = self.counts.lock() {
            c.bump(pair(account, address), now);
            if let Some(ip) = address {
                c.bump(format!("ip:{ip}"), now);
                if !c.is_familiar(account, ip, now) {
                    c.bump(format!("unfamiliar:{account}"), now);
                }
            }
        }
    }

    /// A successful sign-in: the pair's count is cleared and the address becomes
    /// familiar to the account.
    pub fn succeed(&self, account: &str, address: Option<&str>, now: i64) {
        if let Ok(mut c) = self.counts.lock() {
            c.failures.remove(&pair(account, address));
            let Some(ip) = address else { return };
            if c.familiar.len() > MAX_KEYS {
                c.familiar
                    .retain(|_, v| v.iter().any(|(_, t)| now - t < FAMILIAR_FOR));
            }
            let v = c.familiar.entry(account.to_string()).or_default();
            v.retain(|(a, t)| a != ip && now - t < FAMILIAR_FOR);
            v.push((ip.to_string(), now));
            if v.len() > FAMILIAR_KEEP {
                v.remove(0);
            }
        }
    }

    /// Seconds an attempt under a plain `key` must still wait (e.g. device user codes
    /// from one address), if any.
    pub fn key_wait(&self, key: &str, threshold: u32, now: i64) -> Option<i64> {
        self.counts.lock().ok()?.remaining(key, threshold, now)
    }

    /// Count a failure under a plain `key`.
    pub fn key_fail(&self, key: &str, now: i64) {
        if let Ok(mut c) = self.counts.lock() {
            c.bump(key.to_string(), now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_locks_after_its_threshold_and_doubles() {
        let t = Throttle::default();
        for _ in 0..4 {
            t.fail("a", Some("1.2.3.4"), 100);
        }
        assert_eq!(t.wait("a", Some("1.2.3.4"), 100), None);
        t.fail("a", Some("1.2.3.4"), 100);
        assert_eq!(t.wait("a", Some("1.2.3.4"), 100), Some(30));
        assert_eq!(t.wait("a", Some("1.2.3.4"), 129), Some(1));
        assert_eq!(t.wait("a", Some("1.2.3.4"), 130), None);
        t.fail("a", Some("1.2.3.4"), 130);
        assert_eq!(t.wait("a", Some("1.2.3.4"), 130), Some(60));
        t.succeed("a", Some("1.2.3.4"), 131);
        assert_eq!(t.wait("a", Some("1.2.3.4"), 131), None);
        assert_eq!(t.wait("b", Some("1.2.3.4"), 131), None, "other accounts");
    }

    #[test]
    fn failures_at_one_address_do_not_lock_the_owner_out_at_another() {
        let t = Throttle::default();
        for _ in 0..10 {
            t.fail("a", Some("6.6.6.6"), 100);
        }
        assert!(t.wait("a", Some("6.6.6.6"), 100).is_some());
        assert_eq!(t.wait("a", Some("10.0.0.1"), 100), None);
    }

    #[test]
    fn guessing_spread_over_addresses_is_slowed_but_not_at_a_familiar_one() {
        let t = Throttle::default();
        t.succeed("a", Some("10.0.0.1"), 50);
        for i in 0..UNFAMILIAR_THRESHOLD {
            t.fail("a", Some(&format!("6.6.{}.{}", i / 200, i % 200)), 100);
        }
        assert!(
            t.wait("a", Some("7.7.7.7"), 100).is_some(),
            "a new unfamiliar address waits"
        );
        assert_eq!(
            t.wait("a", Some("10.0.0.1"), 100),
            None,
            "the familiar address does not"
        );
    }

    #[test]
    fn plain_keys_count_alone() {
        let t = Throttle::default();
        for _ in 0..USER_CODE_THRESHOLD {
            t.key_fail("usercode:1.2.3.4", 10);
        }
        assert_eq!(
            t.key_wait("usercode:1.2.3.4", USER_CODE_THRESHOLD, 10),
            Some(30)
        );
        assert_eq!(
            t.key_wait("usercode:1.2.3.5", USER_CODE_THRESHOLD, 10),
            None
        );
    }
}
