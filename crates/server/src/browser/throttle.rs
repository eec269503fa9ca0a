//! Brute-force protection: passwords and device user codes, and client secrets at the
//! token endpoints.
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
//! Client secrets (token, introspection, revocation and device authorization
//! endpoints) are counted the same way in a realm of their own, with the client
//! (`tenant/client_id`) as the account: its pair with an address (5 failures), the
//! address across clients (20), and the client from unfamiliar addresses (100: higher
//! than for people, because anyone who knows a client id could otherwise lock a
//! service's new instances out; a random 256-bit secret cannot be guessed anyway, so
//! this slows only the scans). A misconfigured service hammering a wrong secret thus
//! never locks the people behind the same address out of password sign-ins.
//!
//! The counts live in memory. Several nodes on one database share them: every
//! failure (and every success that changes a count) is told to the other nodes
//! ([`portvakt_store::Store::tell_peers`], batched LISTEN/NOTIFY on PostgreSQL), which
//! apply it to their own counts ([`Throttle::apply_peer`]), so spreading guesses over
//! nodes gains an attacker nothing. A node that starts (or lost the notices) begins
//! with the counts it hears from then on, as a restarted single node does.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures of one account from one address before that pair is held back.
pub const PAIR_THRESHOLD: u32 = 5;
/// Failures of one account from all unfamiliar addresses before they are held back.
pub const UNFAMILIAR_THRESHOLD: u32 = 20;
/// Failures from one address, across accounts, before it is held back.
pub const ADDRESS_THRESHOLD: u32 = 20;
/// Client-secret failures of one client from all unfamiliar addresses before they are
/// held back.
pub const CLIENT_UNFAMILIAR_THRESHOLD: u32 = 100;
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

/// The thresholds of one realm.
#[derive(Debug, Clone, Copy)]
struct Limits {
    pair: u32,
    unfamiliar: u32,
    address: u32,
}

const PEOPLE: Limits = Limits {
    pair: PAIR_THRESHOLD,
    unfamiliar: UNFAMILIAR_THRESHOLD,
    address: ADDRESS_THRESHOLD,
};
const CLIENTS: Limits = Limits {
    pair: PAIR_THRESHOLD,
    unfamiliar: CLIENT_UNFAMILIAR_THRESHOLD,
    address: ADDRESS_THRESHOLD,
};

/// The failure counts: people's (passwords, user codes) and clients' apart.
#[derive(Default)]
pub struct Throttle {
    counts: Mutex<Counts>,
    clients: Mutex<Counts>,
    /// Where the other nodes hear of this node's counts, when there are any.
    peers: std::sync::OnceLock<std::sync::Arc<dyn portvakt_store::Store>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("shared", &self.peers.get().is_some())
            .finish_non_exhaustive()
    }
}

/// One change of the counts, as told to the other nodes: `[kind, account or key,
/// address, now]`, JSON (one line). Kinds: `pf`/`ps` people's failure/success,
/// `cf`/`cs` clients', `k` a plain key's failure.
#[derive(serde::Serialize, serde::Deserialize)]
struct PeerEvent(String, String, Option<String>, i64);

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
            // Still full (a spray from many addresses within a day): forget the quarter
            // with the fewest failures, idle longest first, so memory stays bounded
            // whatever an attacker sends and the keys held back are the last to go.
            // O(n), once per MAX_KEYS / 4 new keys.
            if self.failures.len() > MAX_KEYS * 3 / 4 {
                let mut all: Vec<(u32, i64, String)> = self
                    .failures
                    .iter()
                    .map(|(k, e)| (e.failures, e.last, k.clone()))
                    .collect();
                let k = all.len() / 4;
                all.select_nth_unstable_by(k, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
                for (_, _, key) in &all[..k] {
                    self.failures.remove(key);
                }
            }
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

impl Counts {
    fn wait(&self, l: Limits, account: &str, address: Option<&str>, now: i64) -> Option<i64> {
        let mut waits = vec![self.remaining(&pair(account, address), l.pair, now)];
        if let Some(ip) = address {
            waits.push(self.remaining(&format!("ip:{ip}"), l.address, now));
            if !self.is_familiar(account, ip, now) {
                waits.push(self.remaining(&format!("unfamiliar:{account}"), l.unfamiliar, now));
            }
        }
        waits.into_iter().flatten().max()
    }

    fn fail(&mut self, account: &str, address: Option<&str>, now: i64) {
        self.bump(pair(account, address), now);
        if let Some(ip) = address {
            self.bump(format!("ip:{ip}"), now);
            if !self.is_familiar(account, ip, now) {
                self.bump(format!("unfamiliar:{account}"), now);
            }
        }
    }

    /// Whether anything changed (a count cleared, an address made familiar).
    fn succeed(&mut self, account: &str, address: Option<&str>, now: i64) -> bool {
        let cleared =
            !self.failures.is_empty() && self.failures.remove(&pair(account, address)).is_some();
        let Some(ip) = address else { return cleared };
        // The common case, on every token request: already familiar, and recently so.
        if self
            .familiar
            .get(account)
            .is_some_and(|v| v.last().is_some_and(|(a, t)| a == ip && now - t < 3600))
        {
            return cleared;
        }
        if self.familiar.len() > MAX_KEYS {
            self.familiar
                .retain(|_, v| v.iter().any(|(_, t)| now - t < FAMILIAR_FOR));
        }
        let v = self.familiar.entry(account.to_string()).or_default();
        v.retain(|(a, t)| a != ip && now - t < FAMILIAR_FOR);
        v.push((ip.to_string(), now));
        if v.len() > FAMILIAR_KEEP {
            v.remove(0);
        }
        true
    }
}

impl Throttle {
    /// Share this node's counts with the other nodes on `store`'s database (a no-op
    /// for an engine without other nodes). Once.
    pub fn share_with(&self, store: std::sync::Arc<dyn portvakt_store::Store>) {
        let _ = self.peers.set(store);
    }

    fn tell(&self, kind: &str, account: &str, address: Option<&str>, now: i64) {
        if let Some(store) = self.peers.get() {
            let event = PeerEvent(kind.into(), account.into(), address.map(str::to_owned), now);
            if let Ok(line) = serde_json::to_string(&event) {
                store.tell_peers(line);
            }
        }
    }

    /// Apply a change another node told (see [`Self::share_with`]); unreadable lines
    /// are ignored.
    pub fn apply_peer(&self, line: &str) {
        let Ok(PeerEvent(kind, account, address, now)) = serde_json::from_str(line) else {
            return;
        };
        let address = address.as_deref();
        let (counts, succeed) = match kind.as_str() {
            "pf" => (&self.counts, false),
            "ps" => (&self.counts, true),
            "cf" => (&self.clients, false),
            "cs" => (&self.clients, true),
            "k" => {
                if let Ok(mut c) = self.counts.lock() {
                    c.bump(account, now);
                }
                return;
            }
            _ => return,
        };
        if let Ok(mut c) = counts.lock() {
            if succeed {
                c.succeed(&account, address, now);
            } else {
                c.fail(&account, address, now);
            }
        }
    }

    /// Seconds a password attempt for `account` from `address` must still wait, if any.
    pub fn wait(&self, account: &str, address: Option<&str>, now: i64) -> Option<i64> {
        self.counts.lock().ok()?.wait(PEOPLE, account, address, now)
    }

    /// Count a failed password for `account` from `address`.
    pub fn fail(&self, account: &str, address: Option<&str>, now: i64) {
        if let Ok(mut c) = self.counts.lock() {
            c.fail(account, address, now);
        }
        self.tell("pf", account, address, now);
    }

    /// A successful sign-in: the pair's count is cleared and the address becomes
    /// familiar to the account.
    pub fn succeed(&self, account: &str, address: Option<&str>, now: i64) {
        let changed = self
            .counts
            .lock()
            .is_ok_and(|mut c| c.succeed(account, address, now));
        if changed {
            self.tell("ps", account, address, now);
        }
    }

    /// Seconds a client authentication of `client` (`tenant/client_id`) from `address`
    /// must still wait, if any.
    pub fn client_wait(&self, client: &str, address: Option<&str>, now: i64) -> Option<i64> {
        self.clients
            .lock()
            .ok()?
            .wait(CLIENTS, client, address, now)
    }

    /// Count a failed client authentication (wrong secret, or an unknown client).
    pub fn client_fail(&self, client: &str, address: Option<&str>, now: i64) {
        if let Ok(mut c) = self.clients.lock() {
            c.fail(client, address, now);
        }
        self.tell("cf", client, address, now);
    }

    /// A client authenticated: its pair is cleared and the address is familiar to it.
    pub fn client_succeed(&self, client: &str, address: Option<&str>, now: i64) {
        let changed = self
            .clients
            .lock()
            .is_ok_and(|mut c| c.succeed(client, address, now));
        if changed {
            self.tell("cs", client, address, now);
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
        self.tell("k", key, None, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_s_failures_count_here_and_are_not_told_again() {
        let (a, b) = (Throttle::default(), Throttle::default());
        for _ in 0..3 {
            a.client_fail("t/app", Some("1.2.3.4"), 100);
        }
        let told = |kind: &str, who: &str| {
            serde_json::to_string(&PeerEvent(
                kind.into(),
                who.into(),
                Some("1.2.3.4".into()),
                100,
            ))
            .expect("json")
        };
        for _ in 0..2 {
            a.apply_peer(&told("cf", "t/app"));
        }
        assert_eq!(
            a.client_wait("t/app", Some("1.2.3.4"), 100),
            Some(30),
            "3 here + 2 told"
        );
        assert_eq!(b.client_wait("t/app", Some("1.2.3.4"), 100), None);
        for _ in 0..5 {
            b.apply_peer(&told("pf", "user@x"));
        }
        assert!(b.wait("user@x", Some("1.2.3.4"), 100).is_some());
        b.apply_peer(&told("ps", "user@x"));
        assert_eq!(
            b.wait("user@x", Some("1.2.3.4"), 100),
            None,
            "a told success clears"
        );
        b.apply_peer("not json");
        b.apply_peer(&told("zz", "user@x"));
    }

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

    #[test]
    fn client_secrets_are_counted_apart_from_people() {
        let t = Throttle::default();
        for _ in 0..ADDRESS_THRESHOLD {
            t.client_fail("contoso/svc", Some("10.1.1.1"), 100);
        }
        assert!(t
            .client_wait("contoso/svc", Some("10.1.1.1"), 100)
            .is_some());
        assert!(
            t.client_wait("contoso/other", Some("10.1.1.1"), 100)
                .is_some(),
            "the address is held back across clients"
        );
        assert_eq!(
            t.wait("alice@contoso.example", Some("10.1.1.1"), 100),
            None,
            "a service with a wrong secret does not lock people out of passwords at its address"
        );
        assert_eq!(t.client_wait("contoso/svc", Some("10.2.2.2"), 100), None);
    }

    #[test]
    fn a_client_is_locked_from_unfamiliar_addresses_only_past_its_higher_threshold() {
        let t = Throttle::default();
        t.client_succeed("c/svc", Some("10.0.0.1"), 50);
        for i in 0..CLIENT_UNFAMILIAR_THRESHOLD - 1 {
            t.client_fail("c/svc", Some(&format!("6.6.{}.{}", i / 200, i % 200)), 100);
        }
        assert_eq!(t.client_wait("c/svc", Some("7.7.7.7"), 100), None);
        t.client_fail("c/svc", Some("6.7.0.1"), 100);
        assert!(t.client_wait("c/svc", Some("7.7.7.7"), 100).is_some());
        assert_eq!(
            t.client_wait("c/svc", Some("10.0.0.1"), 100),
            None,
            "familiar"
        );
        // A success clears the pair.
        for _ in 0..PAIR_THRESHOLD {
            t.client_fail("c/svc", Some("10.0.0.1"), 200);
        }
        assert!(t.client_wait("c/svc", Some("10.0.0.1"), 200).is_some());
        t.client_succeed("c/svc", Some("10.0.0.1"), 300);
        assert_eq!(t.client_wait("c/svc", Some("10.0.0.1"), 300), None);
    }

    #[test]
    fn memory_stays_bounded_under_a_spray_and_locked_keys_survive_it() {
        let t = Throttle::default();
        for _ in 0..PAIR_THRESHOLD {
            t.client_fail("c/svc", Some("9.9.9.9"), 10);
        }
        for i in 0..(MAX_KEYS as u32 + 10) {
            t.client_fail(
                "c/x",
                Some(&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)),
                10,
            );
        }
        let n = t.clients.lock().expect("lock").failures.len();
        assert!(n <= MAX_KEYS + 2, "{n} keys");
        assert!(
            t.client_wait("c/svc", Some("9.9.9.9"), 10).is_some(),
            "the locked pair is kept"
        );
    }
}
