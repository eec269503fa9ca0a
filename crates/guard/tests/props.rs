//! Property tests: arbitrary bytes and mutated real tokens never panic the parser and
//! are always refused.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use portvakt_guard::{Guard, GuardConfig, KeySet, Validator};
use portvakt_jose::{b64url_encode, sign_compact, Algorithm, Jwks, SigningKey};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::LazyLock;

const NOW: i64 = 1_750_000_000;
const ISS: &str = "http://id.example.com/acme";
const AUD: &str = "api://analytics";

static KEY: LazyLock<SigningKey> =
    LazyLock::new(|| SigningKey::generate(Algorithm::ES256, "k1".into()).unwrap());
static JWKS: LazyLock<Jwks> = LazyLock::new(|| Jwks {
    keys: vec![KEY.public_jwk()],
});
static KEYS: LazyLock<KeySet> = LazyLock::new(|| KeySet::from_jwks(&JWKS, "test", NOW));
static V: LazyLock<Validator> = LazyLock::new(|| Validator::new(ISS, vec![AUD.into()], 60));
static TOKEN: LazyLock<String> = LazyLock::new(|| {
    let c = json!({"iss": ISS, "sub": "u", "aud": AUD, "exp": NOW + 300, "iat": NOW, "nbf": NOW,
                   "jti": "j1", "client_id": "c", "scope": "read", "tid": "acme"});
    sign_compact(&KEY, "at+jwt", c.to_string().as_bytes()).unwrap()
});

fn mutate(t: &str, ops: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = t.as_bytes().to_vec();
    for &(pos, byte, op) in ops {
        if b.is_empty() {
            break;
        }
        let i = pos % b.len();
        match op {
            0 => b[i] ^= 1 << (byte % 8),
            1 => b.insert(i, byte),
            2 => {
                b.remove(i);
            }
            3 => b.truncate(i),
            _ => b[i] = byte,
        }
    }
    b
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        Just(json!(ISS)),
        Just(json!(AUD)),
        (NOW - 1000..NOW + 1000).prop_map(Value::from),
        prop::collection::vec(".{0,6}".prop_map(Value::from), 0..3).prop_map(Value::Array),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
        let s = String::from_utf8_lossy(&bytes);
        prop_assert!(V.validate(&s, &KEYS, NOW).is_err());
    }

    #[test]
    fn token_shaped_garbage_is_refused(h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,200}", s in "[A-Za-z0-9_-]{0,90}", dots in 0usize..6) {
        let t = [h.as_str(), p.as_str(), s.as_str(), "", "", ""][..dots.min(5) + 1].join(".");
        prop_assert!(V.validate(&t, &KEYS, NOW).is_err());
    }

    #[test]
    fn mutated_real_tokens_are_refused(ops in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..5), 1..4)) {
        let m = mutate(&TOKEN, &ops);
        let s = String::from_utf8_lossy(&m);
        if s != TOKEN.as_str() {
            let r = V.validate(&s, &KEYS, NOW);
            prop_assert!(r.is_err(), "accepted a mutation: {s}");
        }
    }

    #[test]
    fn properly_signed_arbitrary_claims_never_panic(claims in prop::collection::btree_map(
        prop_oneof![Just("iss"), Just("sub"), Just("aud"), Just("exp"), Just("iat"), Just("nbf"),
                    Just("jti"), Just("client_id"), Just("scope"), Just("roles"), Just("tid"), Just("x")]
            .prop_map(String::from),
        leaf(), 0..12))
    {
        let map: serde_json::Map<String, Value> = claims.into_iter().collect();
        let t = sign_compact(&KEY, "at+jwt", Value::Object(map).to_string().as_bytes()).unwrap();
        if let Ok(v) = V.validate(&t, &KEYS, NOW) {
            let c = v.claims();
            prop_assert_eq!(c.iss.as_str(), ISS);
            prop_assert!(c.aud.iter().any(|a| a == AUD));
            prop_assert!(NOW < c.exp + 60 && c.iat <= NOW + 60);
        }
    }

    #[test]
    fn extreme_times_never_panic(exp in any::<i64>(), iat in any::<i64>(), nbf in prop::option::of(any::<i64>()), now in any::<i64>()) {
        let mut c = json!({"iss": ISS, "sub": "u", "aud": AUD, "exp": exp, "iat": iat, "jti": "j", "client_id": "c"});
        if let Some(n) = nbf { c["nbf"] = json!(n); }
        let t = sign_compact(&KEY, "at+jwt", c.to_string().as_bytes()).unwrap();
        match V.validate(&t, &KEYS, now) {
            Ok(_) => prop_assert!(now < exp.saturating_add(60) && iat <= now.saturating_add(60)),
            Err(e) => {
                // The message and hints render without overflow.
                prop_assert!(!e.to_string().is_empty());
                let _ = e.hints();
            }
        }
    }

    #[test]
    fn arbitrary_headers_never_panic(alg in prop_oneof![Just("ES256".to_string()), Just("none".to_string()), Just("HS256".to_string()), ".{0,8}"],
                                     kid in prop::option::of(prop_oneof![Just("k1".to_string()), ".{0,8}"]),
                                     typ in prop::option::of(prop_oneof![Just("at+jwt".to_string()), ".{0,8}"]),
                                     extra in prop::option::of(prop_oneof![Just("jku"), Just("jwk"), Just("crit"), Just("zip")])) {
        let mut h = json!({"alg": alg});
        if let Some(k) = kid { h["kid"] = json!(k); }
        if let Some(t) = typ { h["typ"] = json!(t); }
        if let Some(e) = extra { h[e] = json!("x"); }
        let payload = TOKEN.split('.').nth(1).unwrap();
        let input = format!("{}.{payload}", b64url_encode(h.to_string().as_bytes()));
        let sig = KEY.sign(input.as_bytes()).unwrap();
        let t = format!("{input}.{}", b64url_encode(&sig));
        let r = V.validate(&t, &KEYS, NOW);
        let ok_header = alg == "ES256"
            && h.get("kid").is_none_or(|k| k == "k1")
            && h["typ"] == "at+jwt"
            && !matches!(extra, Some("jku" | "jwk" | "crit"));
        prop_assert_eq!(r.is_ok(), ok_header, "{}", h);
    }
}

#[test]
fn the_real_token_is_valid() {
    // Without this, "always an error" would hold for a validator that refuses everything.
    assert!(V.validate(&TOKEN, &KEYS, NOW).is_ok());
}

#[test]
fn the_async_guard_refuses_garbage_too() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let clock = std::sync::Arc::new(portvakt_core::clock::ManualClock::new(NOW));
    let g = Guard::with_keys(GuardConfig::issuer(ISS).audience(AUD).clock(clock), &JWKS);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..10_000), |b| {
            let s = String::from_utf8_lossy(&b).into_owned();
            prop_assert!(rt.block_on(g.validate(&s)).is_err());
            Ok(())
        })
        .unwrap();
    assert!(rt.block_on(g.validate(&TOKEN)).is_ok());
}
