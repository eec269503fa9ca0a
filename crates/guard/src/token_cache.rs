//! A bounded cache of already-validated tokens, keyed by the SHA-256 of the token, so
//! that a hot token costs a hash and a lookup instead of a signature check.
//!
//! Entries are never served at or past their `exp` (the full path then decides, with
//! the leeway, and says why). Bounded by two generations per shard: when the current
//! generation is full it becomes the previous one and the old previous one is dropped,
//! so memory stays under `capacity` entries without an LRU list; a hit in the previous
//! generation moves the entry back to the current one.

use crate::token::VerifiedToken;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

/// The key is already a uniformly random SHA-256 digest: its first 8 bytes are the hash.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() >= 8 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
}

type Map = HashMap<[u8; 32], Entry, BuildHasherDefault<DigestHasher>>;

#[derive(Clone)]
struct Entry {
    token: Arc<VerifiedToken>,
    exp: i64,
}

#[derive(Default)]
struct Shard {
    current: Map,
    previous: Map,
}

const SHARDS: usize = 16;

pub(crate) struct TokenCache {
    shards: Vec<Mutex<Shard>>,
    per_generation: usize,
}

impl TokenCache {
    /// A cache holding at most about `capacity` tokens; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        let per_generation = capacity.div_ceil(2 * SHARDS);
        let n = if capacity == 0 { 0 } else { SHARDS };
        Self {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            per_generation,
        }
    }

    fn shard(&self, key: &[u8; 32]) -> Option<&Mutex<Shard>> {
        if self.shards.is_empty() {
            return None;
        }
        self.shards.get(key[31] as usize % self.shards.len())
    }

    /// The digest that keys `token`.
    pub fn key(token: &str) -> [u8; 32] {
        portvakt_jose::sha256(token.as_bytes())
    }

    /// The cached verification of the token with this key, if `now < exp`.
    pub fn get(&self, key: &[u8; 32], now: i64) -> Option<Arc<VerifiedToken>> {
        let mut s = self.shard(key)?.lock().ok()?;
        if let Some(e) = s.current.get(key) {
            if now < e.exp {
                return Some(e.token.clone());
            }
            s.current.remove(key);
            return None;
        }
        let e = s.previous.remove(key)?;
        if now >= e.exp {
            return None;
        }
        let t = e.token.clone();
        Self::put(&mut s, self.per_generation, *key, e);
        Some(t)
    }

    fn put(s: &mut Shard, per_generation: usize, key: [u8; 32], e: Entry) {
        if s.current.len() >= per_generation {
            s.previous = std::mem::take(&mut s.current);
        }
        s.current.insert(key, e);
    }

    /// Remember a verified token until its `exp`.
    pub fn insert(&self, key: [u8; 32], token: Arc<VerifiedToken>) {
        let exp = token.claims().exp;
        if let Some(Ok(mut s)) = self.shard(&key).map(|m| m.lock()) {
            Self::put(&mut s, self.per_generation, key, Entry { token, exp });
        }
    }

    /// Forget everything (after the issuer withdrew a key).
    pub fn clear(&self) {
        for m in &self.shards {
            if let Ok(mut s) = m.lock() {
                s.current.clear();
                s.previous.clear();
            }
        }
    }

    /// Number of entries (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|m| m.lock().ok().map(|s| s.current.len() + s.previous.len()))
            .sum()
    }
}
