//! The JWKS cache under rotation, outage and Cache-Control.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use portvakt_core::{Clock, ErrorCode};
use portvakt_guard::Guard;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_under_load_causes_zero_failures() {
    let iss = Arc::new(FakeIssuer::start().await);
    let clock = clock();
    let now = clock.now();
    let g = Guard::connect(config(&iss, clock).min_refetch_interval(Duration::from_millis(100)))
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (g, iss, stop, ok) = (g.clone(), iss.clone(), stop.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                // A fresh token each time, signed with whatever key the issuer uses now.
                let t = iss.mint(now);
                match g.validate(&t).await {
                    Ok(_) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => failures.push(e.to_string()),
                }
                tokio::task::yield_now().await;
            }
            failures
        }));
    }
    let mut kids = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Publish-and-use at once (the harshest rotation); keep two keys published.
        kids.push(iss.rotate(2));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for t in tasks {
        failures.extend(t.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    let m = g.metrics();
    assert!(
        ok.load(Ordering::Relaxed) > 200,
        "too few validations: {}",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(
        m.unknown_kid_refetches, 5,
        "one refetch per rotation: {m:?}"
    );
    // Every request that met a new kid recovered (the racing one through the other's fetch).
    assert!((5..=10).contains(&m.stale_key_recoveries), "{m:?}");
    assert_eq!(m.validations_failed, 0);
    assert!(g.key_ids().contains(kids.last().unwrap()));
    // One fetch at connect plus one per rotation, however many requests raced.
    assert_eq!(iss.jwks_hits(), 6, "{m:?}");
}

#[tokio::test]
async fn cached_keys_keep_serving_while_the_issuer_is_down() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = clock.now();
    let g = Guard::connect(config(&iss, clock)).await.unwrap();
    assert!(g.validate(&iss.mint(now)).await.is_ok());

    iss.stop().await;
    let e = g.refresh_keys().await.expect_err("issuer is down");
    assert_eq!(e.code(), ErrorCode::KeysUnavailable);
    let m = g.metrics();
    assert!(m.serving_stale_keys && m.jwks_fetch_failures == 1, "{m:?}");
    assert!(m
        .prometheus()
        .contains("portvakt_guard_serving_stale_keys 1"));
    // New tokens signed with the known key still validate (uncached: new jti).
    for _ in 0..10 {
        g.validate(&iss.mint(now))
            .await
            .expect("served from cached keys");
    }
    assert_eq!(g.metrics().stale_key_validations, 10);
    // An unknown kid while down: refused, and the hint says the refetch failed.
    iss.rotate(2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let e = g.validate(&iss.mint(now)).await.expect_err("unknown kid");
    assert_eq!(e.code(), ErrorCode::KeyUnknown);
    assert!(e.has_hint("KEY-REFETCH-FAILED"), "{:?}", e.hints());

    // The issuer comes back: the new key is found and the stale flag clears.
    iss.restart().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    g.validate(&iss.mint(now)).await.expect("recovered");
    let m = g.metrics();
    assert!(!m.serving_stale_keys, "{m:?}");
    assert_eq!(m.stale_key_recoveries, 1);
}

#[tokio::test]
async fn background_refresh_honours_cache_control_and_survives_an_outage() {
    let iss = FakeIssuer::start().await;
    *iss.state.cache_control.write().unwrap() = Some("public, max-age=1".into());
    let clock = clock();
    let now = clock.now();
    let cfg = config(&iss, clock)
        .jwks_ttl(
            Duration::from_secs(1),
            Duration::from_secs(300),
            Duration::from_secs(3600),
        )
        .retry_interval(Duration::from_millis(500));
    let g = Guard::connect(cfg).await.unwrap();
    assert_eq!(iss.jwks_hits(), 1);
    // Pre-published rotation: the background refresh picks it up with no unknown kid.
    iss.rotate(3);
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let hits = iss.jwks_hits();
    assert!(
        (2..=4).contains(&hits),
        "max-age=1 means about one fetch a second: {hits}"
    );
    g.validate(&iss.mint(now))
        .await
        .expect("new key already known");
    assert_eq!(g.metrics().unknown_kid_refetches, 0);

    iss.stop().await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let m = g.metrics();
    assert!(m.jwks_fetch_failures >= 1 && m.serving_stale_keys, "{m:?}");
    g.validate(&iss.mint(now))
        .await
        .expect("last good keys serve");
}

#[tokio::test]
async fn without_cache_control_the_default_ttl_applies() {
    let iss = FakeIssuer::start().await;
    let g = Guard::connect(config(&iss, clock())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(iss.jwks_hits(), 1, "default TTL is minutes, not seconds");
    drop(g);
}

#[tokio::test]
async fn a_withdrawn_key_empties_the_validated_token_cache() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = clock.now();
    let g = Guard::connect(config(&iss, clock)).await.unwrap();
    let old = iss.mint(now);
    g.validate(&old).await.unwrap();
    assert_eq!(g.cached_tokens(), 1);
    iss.rotate(1); // key-1 withdrawn
    g.refresh_keys().await.unwrap();
    assert_eq!(g.cached_tokens(), 0);
    let e = g.validate(&old).await.expect_err("its key is gone");
    assert_eq!(e.code(), ErrorCode::KeyUnknown);
}
