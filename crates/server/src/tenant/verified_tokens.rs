//! A bounded cache of access tokens this tenant already verified.
//!
//! Resource servers introspect the same bearer token on every call they receive, and
//! userinfo sees the same token again and again. Verifying one costs an ES256 (or
//! RS256) signature check and a database read; a hit here costs a hash-map lookup. A hit
//! is only returned while the store's revocation epoch
//! ([`portvakt_store::Flows::revocation_epoch`]) is the one read before the token was
//! checked, so a revocation, sign-out or disabled account takes effect on the next
//! request; the times (`exp`, `nbf`) are checked by the caller on every use. The cache
//! lives in the tenant's [`crate::directory::TenantView`], so a key event (which
//! rebuilds the view) empties it.

use crate::token_endpoints::Checked;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept at most (about 1 KiB each).
pub const CAPACITY: usize = 4096;

/// Verified tokens, keyed by the whole compact token (an exact match, no hash to
/// collide).
#[derive(Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<Box<str>, Entry>>,
}

/// A verified token and the revocation epoch it was verified in.
struct Entry {
    checked: Arc<Checked>,
    epoch: u64,
}

impl VerifiedTokens {
    /// The verified token, if it was verified while `epoch` was current.
    pub fn get(&self, token: &str, epoch: u64) -> Option<Arc<Checked>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(token) {
            Some(e) if e.epoch == epoch => Some(Arc::clone(&e.checked)),
            _ => None,
        }
    }

    /// Remember a token verified at `epoch`. When full, expired and outdated entries
    /// go first; if that frees nothing, everything goes (the next requests verify
    /// again, which is what they would do without a cache).
    pub fn put(&self, token: &str, checked: Arc<Checked>, epoch: u64, now: i64) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CAPACITY && !map.contains_key(token) {
            map.retain(|_, e| e.epoch == epoch && e.checked.claims.exp > now);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(token.into(), Entry { checked, epoch });
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portvakt_core::token::AccessTokenClaims;

    fn checked(exp: i64) -> Arc<Checked> {
        let c: AccessTokenClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "aud": "a", "exp": exp, "iat": 0, "nbf": 0, "jti": "j",
            "client_id": "c", "scope": "x", "tid": "t"
        }))
        .expect("claims");
        Arc::new(Checked {
            claims: c,
            username: None,
        })
    }

    #[test]
    fn a_hit_needs_the_same_epoch() {
        let v = VerifiedTokens::default();
        v.put("a.b.c", checked(100), 7, 0);
        assert!(v.get("a.b.c", 7).is_some());
        assert!(
            v.get("a.b.c", 8).is_none(),
            "a revocation since invalidates"
        );
        assert!(v.get("a.b.d", 7).is_none(), "exact token only");
    }

    #[test]
    fn it_stays_bounded_dropping_expired_entries_first() {
        let v = VerifiedTokens::default();
        // Half expired at t = 50, half not.
        for i in 0..CAPACITY {
            let exp = if i % 2 == 0 { 10 } else { 100 };
            v.put(&format!("t{i}"), checked(exp), 1, 0);
        }
        assert_eq!(v.len(), CAPACITY);
        v.put("new", checked(100), 1, 50);
        assert_eq!(v.len(), CAPACITY / 2 + 1, "the expired half went");
        assert!(v.get("t1", 1).is_some() && v.get("t0", 1).is_none());
        // Nothing to drop: everything goes, the new entry stays.
        for i in 0..CAPACITY {
            v.put(&format!("u{i}"), checked(100), 1, 50);
        }
        assert!(v.len() <= CAPACITY);
        assert!(!v.is_empty());
    }
}
