//! Fuzz the guard's parser and validator: any bytes, as a token, against a fixed key
//! set. It must never panic, and nothing but the one real token may validate.

use portvakt_guard::{KeySet, Validator};
use portvakt_jose::{sign_compact, Algorithm, Jwks, SigningKey};
use std::panic::AssertUnwindSafe;

const NOW: i64 = 1_750_000_000;

fn main() {
    let key = SigningKey::generate(Algorithm::ES256, "k1".into()).expect("key");
    let jwks = Jwks { keys: vec![key.public_jwk()] };
    let keys = KeySet::from_jwks(&jwks, "fuzz", NOW);
    let v = Validator::new("http://id.example.com/acme", vec!["api://analytics".into()], 60);
    let claims = serde_json::json!({"iss": "http://id.example.com/acme", "sub": "u", "aud": "api://analytics",
        "exp": NOW + 300, "iat": NOW, "nbf": NOW, "jti": "j", "client_id": "c", "scope": "read", "tid": "t"});
    let real = sign_compact(&key, "at+jwt", claims.to_string().as_bytes()).expect("sign");
    // The key set holds aws-lc verifiers, which nothing mutates across a panic.
    let ctx = AssertUnwindSafe((v, keys, real));
    afl::fuzz!(|data: &[u8]| {
        let (v, keys, real) = &*ctx;
        if let Ok(s) = std::str::from_utf8(data) {
            if v.validate(s, keys, NOW).is_ok() {
                assert_eq!(s, real, "a token other than the real one validated");
            }
            let _ = portvakt_guard::decode_report(s, NOW);
        }
    });
}
