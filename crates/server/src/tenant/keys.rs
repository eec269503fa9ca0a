//! Signing-key lifecycle: creation (sealed at rest), rotation with pre-publication,
//! and how long a retired key must stay in the JWKS.

use crate::error::ApiError;
use portvakt_core::model::{SigningKeyInfo, DEFAULT_ACCESS_TOKEN_LIFETIME};
use portvakt_jose::{Algorithm, MasterKey, SigningKey};
use portvakt_store::{Directory, StoredKey};

/// Generate a key for `alg` that signs from `active_from`, sealed with `master`.
/// The key id is random (96 bits), so it reveals nothing and never collides.
pub fn create_key(
    alg: Algorithm,
    master: &MasterKey,
    now: i64,
    active_from: i64,
) -> Result<StoredKey, ApiError> {
    let kid = portvakt_jose::random_id(12);
    let key = SigningKey::generate(alg, kid.clone())?;
    let der = key.to_pkcs8()?;
    let sealed_pkcs8 = master.seal(kid.as_bytes(), &der)?;
    let public_jwk = serde_json::to_string(&key.public_jwk())
        .map_err(|e| ApiError::from(portvakt_jose::JoseError::Key(e.to_string())))?;
    Ok(StoredKey {
        info: SigningKeyInfo {
            kid,
            algorithm: alg,
            created_at: now,
            active_from,
            retired_at: None,
            published_until: None,
        },
        public_jwk,
        sealed_pkcs8,
    })
}

/// The keys a new tenant starts with: one for its algorithm (access tokens), and an
/// RS256 key for ID tokens unless that is the same: OpenID Connect Core §15.1 makes
/// RS256 the ID-token algorithm every provider supports and every client expects.
pub fn initial_keys(
    alg: Algorithm,
    master: &MasterKey,
    now: i64,
) -> Result<Vec<StoredKey>, ApiError> {
    let mut keys = vec![create_key(alg, master, now, now)?];
    if alg != Algorithm::RS256 {
        keys.push(create_key(Algorithm::RS256, master, now, now)?);
    }
    Ok(keys)
}

/// Serialize `claims` and sign them as a compact JWS with header `typ`.
pub fn sign_claims(
    key: &SigningKey,
    typ: &str,
    claims: &impl serde::Serialize,
) -> Result<String, ApiError> {
    let json = serde_json::to_vec(claims)
        .map_err(|e| ApiError::new(portvakt_core::ErrorCode::Internal, e.to_string()))?;
    Ok(portvakt_jose::sign_compact(key, typ, &json)?)
}

/// Open a stored key.
pub fn open_key(master: &MasterKey, k: &StoredKey) -> Result<SigningKey, portvakt_jose::JoseError> {
    let der = master.open(k.info.kid.as_bytes(), &k.sealed_pkcs8)?;
    SigningKey::from_pkcs8(k.info.algorithm, k.info.kid.clone(), &der)
}

/// The longest lifetime any token of the tenant can have now: an upper bound over
/// the tenant setting and every resource and application override.
pub fn max_token_lifetime(dir: &Directory) -> i64 {
    let mut max = dir
        .tenant
        .access_token_lifetime_seconds
        .unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME);
    for r in &dir.resources {
        max = max.max(r.access_token_lifetime_seconds.unwrap_or(0));
    }
    for a in &dir.applications {
        max = max.max(a.access_token_lifetime_seconds.unwrap_or(0));
    }
    i64::from(max)
}

/// Until when keys retired at `retire_at` must stay published: every token they
/// signed has expired by then, plus a leeway for clock skew.
pub fn published_until(dir: &Directory, retire_at: i64, leeway: i64) -> i64 {
    retire_at + max_token_lifetime(dir) + leeway
}
