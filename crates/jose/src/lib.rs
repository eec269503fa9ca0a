//! # portvakt-jose
//!
//! Signing keys, JWS compact serialization (RFC 7515), JWK / JWK Sets (RFC 7517) and
//! sealing of private keys at rest. Pure: no I/O, no clock; randomness comes from
//! aws-lc-rs's system generator.
//!
//! Architecture invariant: the algorithm used to verify a signature always comes from
//! the *key*, never from the token's header alone (RFC 8725 §3.1). A header whose `alg`
//! differs from its key's algorithm is refused before any cryptography runs.

mod alg;
mod b64;
mod error;
mod jwk;
mod jws;
mod key;
mod seal;

pub use alg::Algorithm;
pub use b64::{b64url_decode, b64url_encode};
pub use error::JoseError;
pub use jwk::{Jwk, Jwks, VerifyingKey};
pub use jws::{
    decode_unverified, sign_compact, verify_compact, Header, UnverifiedJws, VerifiedJws,
};
pub use key::SigningKey;
pub use seal::MasterKey;

/// Fill `buf` with cryptographically secure random bytes.
pub fn random_bytes(buf: &mut [u8]) {
    use aws_lc_rs::rand::SecureRandom;
    // SystemRandom::fill only fails if the OS RNG is unavailable, which aws-lc treats as fatal.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::SystemRandom::new()
        .fill(buf)
        .expect("system random generator unavailable");
}

/// A random identifier: `n` random bytes, base64url without padding.
pub fn random_id(n: usize) -> String {
    let mut buf = vec![0u8; n];
    random_bytes(&mut buf);
    b64url_encode(&buf)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-512 of `data`.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, data);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // black_box keeps the optimiser from short-circuiting the loop.
    std::hint::black_box(diff) == 0
}
