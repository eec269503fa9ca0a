//! The CLI's reports: decode and validate, human and JSON.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use portvakt_guard::{decode_report, validate_report, validate_report_with};
use serde_json::json;

#[tokio::test]
async fn validate_report_of_a_good_token_is_valid() {
    let iss = FakeIssuer::start().await;
    let t = iss.mint(real_now());
    let r = validate_report(&iss.issuer, &[AUDIENCE.into()], &["read".into()], 60, &t).await;
    assert!(r.valid, "{}", r.human());
    assert!(r.human().starts_with("VALID"), "{}", r.human());
    assert!(
        r.human().contains("issuer's key ids: key-1"),
        "{}",
        r.human()
    );
    let j = r.json();
    assert_eq!(j["valid"], true);
    assert_eq!(j["claims"]["sub"], "user-42");
    assert!(j.get("error").is_none());
}

#[tokio::test]
async fn validate_report_explains_a_failure() {
    let iss = FakeIssuer::start().await;
    let now = real_now();
    let t = iss.mint_with(now, |c| {
        c["iat"] = json!(now - 3903);
        c["nbf"] = json!(now - 3903);
        c["exp"] = json!(now - 303);
    });
    let r = validate_report(&iss.issuer, &[AUDIENCE.into()], &[], 60, &t).await;
    assert!(!r.valid);
    let h = r.human();
    assert!(
        h.starts_with("INVALID: PV2011 The access token has expired"),
        "{h}"
    );
    assert!(
        h.contains("ago") && h.contains("hint [TIME-EXPIRED]") && h.contains("fix:"),
        "{h}"
    );
    assert!(
        h.contains(&format!("more: http://{}/errors/PV2011", iss.addr)),
        "{h}"
    );
    let j = r.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["error"]["code"], "PV2011");
    assert_eq!(j["error"]["hints"][0]["id"], "TIME-EXPIRED");
    assert_eq!(j["times"]["exp"]["unix"], now - 303);

    // Scope missing, issuer down: each a report, never a panic.
    let r = validate_report(
        &iss.issuer,
        &[AUDIENCE.into()],
        &["admin".into()],
        60,
        &iss.mint(now),
    )
    .await;
    assert_eq!(r.json()["error"]["code"], "PV2017");
    iss.stop().await;
    let r = validate_report(&iss.issuer, &[AUDIENCE.into()], &[], 60, &iss.mint(now)).await;
    assert_eq!(r.json()["error"]["code"], "PV2020");
    assert!(r.human().contains("could not connect"), "{}", r.human());
}

#[tokio::test]
async fn validate_report_with_uses_the_given_clock() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = portvakt_core::Clock::now(&*clock);
    let t = iss.mint(now);
    clock.advance(3600);
    let r = validate_report_with(config(&iss, clock), &t).await;
    assert_eq!(r.json()["error"]["code"], "PV2011");
}

#[test]
fn decode_report_shows_header_claims_and_relative_times() {
    let key =
        portvakt_jose::SigningKey::generate(portvakt_jose::Algorithm::ES256, "k9".into()).unwrap();
    let now = 1_700_000_000;
    let c = json!({"iss": "http://x/acme", "iat": now - 60, "exp": now + 240, "sub": "s"});
    let t = portvakt_jose::sign_compact(&key, "at+jwt", c.to_string().as_bytes()).unwrap();
    let r = decode_report(&t, now);
    assert!(r.valid);
    let h = r.human();
    assert!(h.starts_with("DECODED (signature NOT verified"), "{h}");
    assert!(h.contains("\"kid\": \"k9\""), "{h}");
    assert!(
        h.contains("exp       2023-11-14T22:17:20Z  (in 4 min)"),
        "{h}"
    );
    assert!(
        h.contains("iat       2023-11-14T22:12:20Z  (1 min ago)"),
        "{h}"
    );
    assert!(h.contains("lifetime  5 min"), "{h}");
    let j = r.json();
    assert_eq!(j["header"]["alg"], "ES256");
    assert_eq!(j["times"]["exp"]["relative"], "in 4 min");
    let r = decode_report(&format!("Bearer {t}"), now);
    assert!(!r.valid);
    assert!(r.human().contains("hint [FMT-PREFIX]"), "{}", r.human());
}
