//! Validations per second on one core: the raw ES256 verify rate of aws-lc-rs, the
//! guard's full (uncached) validation, and cached validations. Run with
//! `cargo bench -p portvakt-guard --bench validate`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use portvakt_core::clock::ManualClock;
use portvakt_guard::{Guard, GuardConfig, KeySet, Validator};
use portvakt_jose::{b64url_decode, sign_compact, Algorithm, Jwks, SigningKey};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: i64 = 1_750_000_000;
const ISS: &str = "http://localhost:8080/acme";
const AUD: &str = "api://analytics";

/// Times `a` and `b` in alternating batches of `batch` operations, so that load from
/// other processes and frequency changes hit both alike. Returns both rates (ops/s)
/// and the median of the per-round ratios b/a.
fn paired(
    rounds: usize,
    batch: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64) {
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..batch {
        a();
        b();
    }
    for r in 0..rounds {
        let time = |f: &mut dyn FnMut()| {
            let s = Instant::now();
            for _ in 0..batch {
                f();
            }
            s.elapsed()
        };
        let (da, db) = if r % 2 == 0 {
            let da = time(&mut a);
            (da, time(&mut b))
        } else {
            let db = time(&mut b);
            (time(&mut a), db)
        };
        ta += da;
        tb += db;
        ratios.push(da.as_secs_f64() / db.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let n = (rounds * batch) as f64;
    (
        n / ta.as_secs_f64(),
        n / tb.as_secs_f64(),
        ratios[rounds / 2],
    )
}

/// Runs `f` for about `dur`; returns operations per second.
fn rate(dur: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < dur {
        for _ in 0..1000 {
            f();
        }
        n += 1000;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let key = SigningKey::generate(Algorithm::ES256, "2026-05-k1".into()).unwrap();
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    let claims = serde_json::json!({
        "iss": ISS, "sub": "5f0c8a9e-2b7d-4c1a-9e3f-1d2c3b4a5f6e", "aud": AUD,
        "exp": NOW + 3600, "iat": NOW, "nbf": NOW, "jti": "q0Zp3f8xR2k9LmN4vT7wYg",
        "client_id": "analytics-web", "scope": "read write", "tid": "acme",
    });
    let token = sign_compact(&key, "at+jwt", claims.to_string().as_bytes()).unwrap();

    // Raw: the crypto library's verify over the same signing input and signature.
    let jwk = key.public_jwk();
    let mut point = vec![4u8];
    point.extend(b64url_decode(jwk.x.as_deref().unwrap()).unwrap());
    point.extend(b64url_decode(jwk.y.as_deref().unwrap()).unwrap());
    let pk = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
    let dot = token.rfind('.').unwrap();
    let (msg, sig) = (
        token.as_bytes()[..dot].to_vec(),
        b64url_decode(&token[dot + 1..]).unwrap(),
    );

    let clock = Arc::new(ManualClock::new(NOW));
    let config = GuardConfig::issuer(ISS)
        .audience(AUD)
        .scope("read")
        .clock(clock);
    let uncached = Guard::with_keys(config.clone().token_cache_capacity(0), &jwks);
    let cached = Guard::with_keys(config, &jwks);
    let keys = KeySet::from_jwks(&jwks, "bench", NOW);
    let validator = Validator::new(ISS, vec![AUD.into()], 60);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(cached.validate(&token)).unwrap();
    rt.block_on(uncached.validate(&token)).unwrap();

    let raw_verify = || pk.verify(black_box(&msg), black_box(&sig)).unwrap();
    let (raw, full, ratio) = paired(150, 200, raw_verify, || poll_once(&uncached, &token));
    let (raw2, pure, ratio2) = paired(150, 200, raw_verify, || {
        black_box(validator.validate(black_box(&token), &keys, NOW).unwrap());
    });
    let hot = (0..3)
        .map(|_| rate(Duration::from_secs(1), || poll_once(&cached, &token)))
        .fold(0.0, f64::max);

    println!(
        "portvakt-guard validation benchmark: ES256, {}-byte token, one thread",
        token.len()
    );
    println!("(each pair measured in alternating batches; % = median of per-batch ratios)");
    println!("  raw ES256 verify (aws-lc-rs)       {raw:>12.0} /s");
    println!(
        "  full validation, uncached (Guard)  {full:>12.0} /s  ({:.1} % of raw)",
        100.0 * ratio
    );
    println!("  raw ES256 verify (aws-lc-rs)       {raw2:>12.0} /s");
    println!(
        "  full validation, Validator only    {pure:>12.0} /s  ({:.1} % of raw)",
        100.0 * ratio2
    );
    println!("  cached validation (Guard)          {hot:>12.0} /s");
}

/// Drive one `Guard::validate` to completion: with keys loaded it never waits, so a
/// single poll finishes it (no runtime round trip is measured).
fn poll_once(g: &Guard, token: &str) {
    use std::future::Future;
    let fut = g.validate(black_box(token));
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => {
            black_box(r.unwrap());
        }
        std::task::Poll::Pending => panic!("validation waited with keys loaded"),
    }
}
