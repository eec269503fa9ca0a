//! Every way a token can fail (issue #4, point 2), with real tokens from a fake issuer
//! and with forged ones.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use aws_lc_rs::hmac;
use common::*;
use portvakt_core::ErrorCode;
use portvakt_guard::{ErrorKind, Guard, GuardError, JtiDenyList, TokenPart};
use portvakt_jose::{b64url_encode, Algorithm, SigningKey};
use serde_json::json;
use std::sync::Arc;

async fn setup() -> (FakeIssuer, Guard, i64) {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = portvakt_core::Clock::now(&*clock);
    let guard = Guard::connect(config(&iss, clock)).await.expect("connect");
    (iss, guard, now)
}

async fn refused(g: &Guard, token: &str) -> GuardError {
    match g.validate(token).await {
        Ok(v) => panic!("accepted: {:?}", v.claims()),
        Err(e) => e,
    }
}

fn payload_of(token: &str) -> serde_json::Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&portvakt_jose::b64url_decode(p).unwrap()).unwrap()
}

#[tokio::test]
async fn a_real_token_is_accepted_with_typed_claims() {
    let (iss, g, now) = setup().await;
    let v = g.validate(&iss.mint(now)).await.expect("valid");
    let c = v.claims();
    assert_eq!(c.iss, iss.issuer);
    assert_eq!(c.aud, [AUDIENCE]);
    assert_eq!(c.scopes, ["read", "write"]);
    assert_eq!(c.tid.as_deref(), Some(TENANT));
    assert_eq!(v.kid(), Some("key-1"));
    assert_eq!(v.alg(), Algorithm::ES256);
}

#[tokio::test]
async fn malformed_tokens_name_the_part_and_the_likely_cause() {
    let (iss, g, now) = setup().await;
    let good = iss.mint(now);
    let cases: Vec<(String, TokenPart, &str)> = vec![
        (
            "opaque-reference-token".into(),
            TokenPart::Whole,
            "FMT-OPAQUE",
        ),
        (
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn".into(),
            TokenPart::Whole,
            "FMT-JWE",
        ),
        (format!("Bearer {good}"), TokenPart::Whole, "FMT-PREFIX"),
        (format!("\"{good}\""), TokenPart::Whole, "FMT-QUOTES"),
        ("null".into(), TokenPart::Whole, "FMT-PLACEHOLDER"),
        (
            good.replacen('.', "+.", 1),
            TokenPart::Whole,
            "FMT-BASE64-STD",
        ),
    ];
    for (t, part, hint) in cases {
        let e = refused(&g, &t).await;
        assert_eq!(e.code(), ErrorCode::TokenMalformed, "{t}");
        assert!(
            matches!(e.kind(), ErrorKind::Malformed { part: p, .. } if *p == part),
            "{t}: {e}"
        );
        assert!(e.has_hint(hint), "{t}: {:?}", e.hints());
    }
    // Garbage base64 in each part.
    let parts: Vec<&str> = good.split('.').collect();
    for (i, part) in [TokenPart::Header, TokenPart::Payload, TokenPart::Signature]
        .into_iter()
        .enumerate()
    {
        let mut p = parts.clone();
        p[i] = "A";
        let e = refused(&g, &p.join(".")).await;
        assert!(
            matches!(e.kind(), ErrorKind::Malformed { part: q, .. } if *q == part),
            "{part:?}: {e}"
        );
        assert!(e.to_string().contains("base64url"), "{e}");
    }
}

#[tokio::test]
async fn duplicate_json_members_are_refused_even_when_properly_signed() {
    let (iss, g, now) = setup().await;
    let key = iss.signing_key();
    let c = iss.claims(now).to_string();
    // {"aud":"api://analytics", ..., "aud":"api://evil"}: a parser keeping the first
    // and one keeping the last would disagree.
    let dup = format!("{},\"aud\":\"api://evil\"}}", c.trim_end_matches('}'));
    let t = sign_raw(
        &key,
        r#"{"alg":"ES256","kid":"key-1","typ":"at+jwt"}"#,
        &dup,
    );
    let e = refused(&g, &t).await;
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Malformed {
                part: TokenPart::Payload,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("duplicate member 'aud'"), "{e}");
    let t = sign_raw(
        &key,
        r#"{"alg":"ES256","kid":"key-1","typ":"at+jwt","kid":"key-1"}"#,
        &c,
    );
    let e = refused(&g, &t).await;
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Malformed {
                part: TokenPart::Header,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_parsing() {
    let (iss, g, now) = setup().await;
    // Garbage of 100 kB: refused for its size, not for being garbage.
    let e = refused(&g, &"!".repeat(100_000)).await;
    assert_eq!(e.code(), ErrorCode::TokenTooLarge);
    assert!(e.to_string().contains("100000 bytes"), "{e}");
    // A properly signed but huge token.
    let t = iss.mint_with(now, |c| c["pad"] = json!("x".repeat(9000)));
    assert_eq!(refused(&g, &t).await.code(), ErrorCode::TokenTooLarge);
}

#[tokio::test]
async fn alg_none_and_stripped_signatures_are_refused() {
    let (iss, g, now) = setup().await;
    let p = b64url_encode(iss.claims(now).to_string().as_bytes());
    for alg in ["none", "None", "NONE"] {
        let h =
            b64url_encode(format!(r#"{{"alg":"{alg}","kid":"key-1","typ":"at+jwt"}}"#).as_bytes());
        let e = refused(&g, &format!("{h}.{p}.")).await;
        assert_eq!(e.code(), ErrorCode::AlgorithmForbidden, "{alg}");
        assert!(e.has_hint("ALG-NONE"), "{alg}");
    }
    // A real token with its signature stripped.
    let good = iss.mint(now);
    let stripped = &good[..good.rfind('.').unwrap() + 1];
    let e = refused(&g, stripped).await;
    assert_eq!(e.code(), ErrorCode::SignatureInvalid);
    // Two parts only.
    let e = refused(&g, &good[..good.rfind('.').unwrap()]).await;
    assert_eq!(e.code(), ErrorCode::TokenMalformed);
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let (iss, g, now) = setup().await;
    let jwk = iss.signing_key().public_jwk();
    let h = b64url_encode(br#"{"alg":"HS256","kid":"key-1","typ":"at+jwt"}"#);
    let p = b64url_encode(iss.claims(now).to_string().as_bytes());
    let input = format!("{h}.{p}");
    // Every form of "the public key" an attacker might use as the HMAC secret.
    for secret in [
        serde_json::to_vec(&jwk).unwrap(),
        jwk.x.clone().unwrap().into_bytes(),
    ] {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &secret),
            input.as_bytes(),
        );
        let t = format!("{input}.{}", b64url_encode(tag.as_ref()));
        let e = refused(&g, &t).await;
        assert_eq!(e.code(), ErrorCode::AlgorithmForbidden);
        assert!(e.has_hint("ALG-HS-WITH-ASYM"), "{:?}", e.hints());
        assert!(
            e.hint().unwrap().message.contains("ES256"),
            "{:?}",
            e.hint()
        );
    }
}

#[tokio::test]
async fn an_alg_that_does_not_match_the_key_is_refused() {
    let (iss, g, now) = setup().await;
    let rsa = SigningKey::generate(Algorithm::RS256, "key-1".into()).unwrap();
    let t = sign_raw(
        &rsa,
        r#"{"alg":"RS256","kid":"key-1","typ":"at+jwt"}"#,
        &iss.claims(now).to_string(),
    );
    let e = refused(&g, &t).await;
    assert_eq!(e.code(), ErrorCode::AlgorithmMismatch);
    assert_eq!(
        e.kind(),
        &ErrorKind::AlgorithmMismatch {
            header: "RS256".into(),
            key: "ES256".into(),
            kid: "key-1".into()
        }
    );
    let e = refused(
        &g,
        &sign_raw(
            &rsa,
            r#"{"alg":"ES384","kid":"key-1","typ":"at+jwt"}"#,
            "{}",
        ),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::AlgorithmForbidden);
    assert!(e.has_hint("ALG-NOT-ALLOWED"));
}

#[tokio::test]
async fn headers_pointing_at_other_keys_are_refused() {
    let (iss, g, now) = setup().await;
    let evil = SigningKey::generate(Algorithm::ES256, "key-1".into()).unwrap();
    let c = iss.claims(now).to_string();
    let jwk = serde_json::to_string(&evil.public_jwk()).unwrap();
    for (name, h) in [
        (
            "jku",
            r#"{"alg":"ES256","kid":"key-1","typ":"at+jwt","jku":"http://evil.example/keys"}"#
                .to_string(),
        ),
        (
            "x5u",
            r#"{"alg":"ES256","kid":"key-1","typ":"at+jwt","x5u":"http://evil.example/cert"}"#
                .to_string(),
        ),
        (
            "jwk",
            format!(r#"{{"alg":"ES256","kid":"key-1","typ":"at+jwt","jwk":{jwk}}}"#),
        ),
        (
            "x5c",
            r#"{"alg":"ES256","kid":"key-1","typ":"at+jwt","x5c":["MIIB"]}"#.to_string(),
        ),
        (
            "crit",
            r#"{"alg":"ES256","kid":"key-1","typ":"at+jwt","crit":["exp"]}"#.to_string(),
        ),
    ] {
        let e = refused(&g, &sign_raw(&evil, &h, &c)).await;
        assert_eq!(e.code(), ErrorCode::HeaderForbidden, "{name}");
        assert_eq!(e.kind(), &ErrorKind::ForbiddenHeader { name: name.into() });
    }
}

#[tokio::test]
async fn a_token_resigned_with_another_key_or_edited_fails_the_signature() {
    let (iss, g, now) = setup().await;
    // Re-signed with an attacker's key that claims the issuer's kid.
    let evil = SigningKey::generate(Algorithm::ES256, "key-1".into()).unwrap();
    let t = portvakt_jose::sign_compact(&evil, "at+jwt", iss.claims(now).to_string().as_bytes())
        .unwrap();
    let e = refused(&g, &t).await;
    assert_eq!(
        e.kind(),
        &ErrorKind::BadSignature {
            kid: "key-1".into()
        }
    );
    assert!(e.has_hint("SIG-GENUINE"));
    // A real token with its payload edited (scope raised).
    let good = iss.mint(now);
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = payload_of(&good);
    c["scope"] = json!("read write admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url_encode(c.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        refused(&g, &forged).await.code(),
        ErrorCode::SignatureInvalid
    );
    // A real token with its header edited (kid swapped for a typ-less header).
    let h = b64url_encode(br#"{"alg":"ES256","kid":"key-1"}"#);
    assert_eq!(
        refused(&g, &format!("{h}.{}.{}", parts[1], parts[2]))
            .await
            .code(),
        ErrorCode::SignatureInvalid
    );
    // A truncated signature (still valid base64url).
    let mut sig = portvakt_jose::b64url_decode(parts[2]).unwrap();
    sig.truncate(40);
    let t = format!("{}.{}.{}", parts[0], parts[1], b64url_encode(&sig));
    assert_eq!(refused(&g, &t).await.code(), ErrorCode::SignatureInvalid);
}

#[tokio::test]
async fn an_unknown_kid_is_refetched_once_then_refused_with_the_published_kids() {
    let (iss, g, now) = setup().await;
    tokio::time::sleep(std::time::Duration::from_millis(250)).await; // past the refetch interval
    let hits = iss.jwks_hits();
    let evil = SigningKey::generate(Algorithm::ES256, "key-evil".into()).unwrap();
    let t = portvakt_jose::sign_compact(&evil, "at+jwt", iss.claims(now).to_string().as_bytes())
        .unwrap();
    let e = refused(&g, &t).await;
    assert_eq!(
        e.kind(),
        &ErrorKind::UnknownKey {
            kid: Some("key-evil".into()),
            known: vec!["key-1".into()]
        }
    );
    assert!(e.has_hint("KEY-NEVER-PUBLISHED"), "{:?}", e.hints());
    assert_eq!(iss.jwks_hits(), hits + 1, "one refetch");
    // A burst of forged kids does not become a burst of fetches.
    for _ in 0..20 {
        let e = refused(&g, &t).await;
        assert_eq!(e.code(), ErrorCode::KeyUnknown);
        assert!(e.has_hint("KEY-REFETCH-LIMITED"), "{:?}", e.hints());
    }
    assert_eq!(iss.jwks_hits(), hits + 1, "rate-limited");
    assert_eq!(g.metrics().unknown_kid_refetches, 1);
    // A token from another issuer explains the unknown key by the issuer.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let mut c = iss.claims(now);
    c["iss"] = json!("http://other-idp.example/acme");
    let t = portvakt_jose::sign_compact(&evil, "at+jwt", c.to_string().as_bytes()).unwrap();
    let e = refused(&g, &t).await;
    assert!(e.has_hint("KEY-WRONG-ISSUER"), "{:?}", e.hints());
}

#[tokio::test]
async fn wrong_typ_says_an_id_token_was_sent() {
    let (iss, g, now) = setup().await;
    let mut c = iss.claims(now);
    c["aud"] = json!("analytics-web");
    c["nonce"] = json!("n-0S6_WzA2Mj");
    c["at_hash"] = json!("77QmUPtjPfzWtF2AnpK9RQ");
    let t =
        portvakt_jose::sign_compact(&iss.signing_key(), "JWT", c.to_string().as_bytes()).unwrap();
    let e = refused(&g, &t).await;
    assert_eq!(
        e.kind(),
        &ErrorKind::WrongType {
            found: Some("JWT".into())
        }
    );
    let h = e.hint().expect("hint");
    assert_eq!(h.id, "AUD-IS-IDTOKEN");
    assert!(
        h.message.contains("nonce") && h.message.contains("client id"),
        "{}",
        h.message
    );
    let t = sign_raw(
        &iss.signing_key(),
        r#"{"alg":"ES256","kid":"key-1"}"#,
        &iss.claims(now).to_string(),
    );
    assert_eq!(
        refused(&g, &t).await.kind(),
        &ErrorKind::WrongType { found: None }
    );
    // RFC 9068 §4 also allows the full media type.
    let t = sign_raw(
        &iss.signing_key(),
        r#"{"alg":"ES256","kid":"key-1","typ":"application/at+jwt"}"#,
        &iss.claims(now).to_string(),
    );
    assert!(g.validate(&t).await.is_ok());
}

#[tokio::test]
async fn expired_says_when_and_how_long_ago() {
    let (iss, g, now) = setup().await;
    let t = iss.mint_with(now, |c| {
        c["iat"] = json!(now - 3903);
        c["nbf"] = json!(now - 3903);
        c["exp"] = json!(now - 303);
    });
    let e = refused(&g, &t).await;
    assert_eq!(
        e.kind(),
        &ErrorKind::Expired {
            exp: now - 303,
            now,
            leeway: 60
        }
    );
    let s = e.to_string();
    assert!(
        s.contains(&format!(
            "expired at {}",
            portvakt_guard::timefmt::fmt_utc(now - 303)
        )),
        "{s}"
    );
    assert!(s.contains("5 min 3 s ago"), "{s}");
    assert!(e.has_hint("TIME-EXPIRED"), "{:?}", e.hints());
}

#[tokio::test]
async fn not_yet_valid_and_issued_in_the_future_measure_the_skew() {
    let (iss, g, now) = setup().await;
    let t = iss.mint_with(now, |c| c["nbf"] = json!(now + 600));
    let e = refused(&g, &t).await;
    assert_eq!(e.code(), ErrorCode::TokenNotYetValid);
    assert!(e.to_string().contains("10 min from now"), "{e}");
    // The issuer's Date header agrees with us: the issuer wrote a future nbf itself.
    assert!(e.has_hint("TIME-ISSUER-FUTURE"), "{:?}", e.hints());

    // Now the issuer's clock is 10 minutes ahead of this host's (or we are behind).
    iss.state
        .date_offset
        .store(600, std::sync::atomic::Ordering::SeqCst);
    g.refresh_keys().await.expect("refresh");
    let off = g.clock_offset().expect("measured").offset;
    assert!((598..=602).contains(&off), "{off}");
    let t = iss.mint_with(now + 600, |c| {
        c.as_object_mut()
            .unwrap()
            .remove("nbf")
            .map(|_| ())
            .unwrap()
    });
    let e = refused(&g, &t).await;
    assert_eq!(e.code(), ErrorCode::TokenIssuedInFuture);
    let h = e.hint().expect("hint");
    assert_eq!(h.id, "TIME-SKEW-MEASURED");
    assert!(
        h.message.contains("behind the issuer's by 10 min"),
        "{}",
        h.message
    );
}

#[tokio::test]
async fn millisecond_timestamps_are_recognised() {
    let (iss, g, now) = setup().await;
    let t = iss.mint_with(now, |c| {
        c["iat"] = json!(now * 1000);
        c["nbf"] = json!(now * 1000);
        c["exp"] = json!((now + 300) * 1000);
    });
    let e = refused(&g, &t).await;
    assert_eq!(e.code(), ErrorCode::TokenNotYetValid);
    assert!(e.has_hint("TIME-UNITS"), "{:?}", e.hints());
}

#[tokio::test]
async fn wrong_issuer_says_which_part_differs() {
    let (iss, g, now) = setup().await;
    let https = iss.issuer.replace("http://", "https://");
    let port = iss.issuer.replace(&format!(":{}", iss.addr.port()), ":9");
    for (found, hint) in [
        (format!("{}/", iss.issuer), "ISS-TRAILING-SLASH"),
        (https, "ISS-SCHEME"),
        (port, "ISS-PORT"),
        (iss.issuer.replace("/acme", "/globex"), "ISS-TENANT"),
        (iss.issuer.replace("/acme", "/auth/acme"), "ISS-PATH-PREFIX"),
        (
            iss.issuer.replace("127.0.0.1", "id.example.com"),
            "ISS-HOST",
        ),
    ] {
        let t = iss.mint_with(now, |c| c["iss"] = json!(found));
        let e = refused(&g, &t).await;
        assert_eq!(
            e.kind(),
            &ErrorKind::WrongIssuer {
                expected: iss.issuer.clone(),
                found: found.clone()
            }
        );
        assert!(
            e.to_string()
                .contains(&format!("'{found}', expected '{}'", iss.issuer)),
            "{e}"
        );
        assert_eq!(
            e.hint().map(|h| h.id),
            Some(hint),
            "{found}: {:?}",
            e.hints()
        );
    }
}

#[tokio::test]
async fn wrong_audience_shows_both_and_spots_an_id_token() {
    let (iss, g, now) = setup().await;
    let t = iss.mint_with(now, |c| c["aud"] = json!(["api://billing", "api://crm"]));
    let e = refused(&g, &t).await;
    assert_eq!(
        e.kind(),
        &ErrorKind::WrongAudience {
            expected: vec![AUDIENCE.into()],
            found: vec!["api://billing".into(), "api://crm".into()]
        }
    );
    assert!(
        e.to_string()
            .contains("'api://billing', 'api://crm', expected 'api://analytics'"),
        "{e}"
    );
    assert!(e.has_hint("AUD-OTHER-API"));
    let t = iss.mint_with(now, |c| c["aud"] = json!("analytics-web"));
    assert!(refused(&g, &t).await.has_hint("AUD-IS-IDTOKEN"));
    let t = iss.mint_with(now, |c| c["aud"] = json!("api://Analytics/"));
    assert!(refused(&g, &t).await.has_hint("AUD-NEAR-MATCH"));
}

#[tokio::test]
async fn missing_or_mistyped_claims_are_named() {
    let (iss, g, now) = setup().await;
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"] {
        let t = iss.mint_with(now, |c| {
            c.as_object_mut().unwrap().remove(claim);
        });
        let e = refused(&g, &t).await;
        assert_eq!(
            e.kind(),
            &ErrorKind::MissingClaim {
                claim: claim.into(),
                problem: "is missing".into()
            },
            "{claim}"
        );
    }
    let t = iss.mint_with(now, |c| c["exp"] = json!("tomorrow"));
    let e = refused(&g, &t).await;
    assert_eq!(e.code(), ErrorCode::ClaimMissing);
    assert!(e.to_string().contains("'exp' must be a NumericDate"), "{e}");
}

#[tokio::test]
async fn insufficient_scope_and_role_are_403_with_the_missing_one() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = portvakt_core::Clock::now(&*clock);
    let g = Guard::connect(config(&iss, clock.clone()).scope("read").scope("admin"))
        .await
        .unwrap();
    let e = refused(&g, &iss.mint(now)).await;
    assert_eq!(
        e.kind(),
        &ErrorKind::InsufficientScope {
            required: vec!["read".into(), "admin".into()],
            missing: vec!["admin".into()],
            granted: vec!["read".into(), "write".into()]
        }
    );
    assert_eq!(e.status(), 403);
    let g = Guard::connect(config(&iss, clock).role("Reports.Read"))
        .await
        .unwrap();
    let e = refused(&g, &iss.mint(now)).await;
    assert_eq!(e.code(), ErrorCode::RoleInsufficient);
    let t = iss.mint_with(now, |c| c["roles"] = json!(["Reports.Read"]));
    assert!(g.validate(&t).await.is_ok());
}

#[tokio::test]
async fn revoked_tokens_are_refused_even_from_the_cache() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = portvakt_core::Clock::now(&*clock);
    let deny = Arc::new(JtiDenyList::new());
    let g = Guard::connect(config(&iss, clock).revocation(deny.clone()))
        .await
        .unwrap();
    let t = iss.mint(now);
    let jti = payload_of(&t)["jti"].as_str().unwrap().to_string();
    assert!(g.validate(&t).await.is_ok());
    assert_eq!(g.cached_tokens(), 1);
    deny.revoke(jti.clone());
    let e = refused(&g, &t).await;
    assert_eq!(e.code(), ErrorCode::TokenRevoked);
    assert!(e.to_string().contains(&jti));
    assert!(g.metrics().token_cache_hits >= 1);
}

#[tokio::test]
async fn keys_unavailable_classifies_the_failure() {
    // Nothing listens there.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let e = Guard::connect(
        portvakt_guard::GuardConfig::issuer(format!("http://{addr}/acme")).audience(AUDIENCE),
    )
    .await
    .expect_err("down");
    assert_eq!(e.code(), ErrorCode::KeysUnavailable);
    assert!(e.to_string().contains("could not connect"), "{e}");
    assert_eq!(e.status(), 503);

    // Discovery that names another issuer (a proxy rewriting the URL).
    let iss = FakeIssuer::start().await;
    *iss.state.discovery_issuer.write().unwrap() = Some(iss.issuer.replace("http://", "https://"));
    let e = Guard::connect(config(&iss, clock()))
        .await
        .expect_err("mismatch");
    assert_eq!(e.code(), ErrorCode::KeysUnavailable);
    assert!(e.has_hint("ISS-SCHEME"), "{:?}", e.hints());

    // A wrong tenant path: 404.
    let e = Guard::connect(
        portvakt_guard::GuardConfig::issuer(iss.issuer.replace("acme", "nope")).audience(AUDIENCE),
    )
    .await
    .expect_err("404");
    assert!(e.to_string().contains("HTTP 404"), "{e}");

    // https is refused clearly until TLS support is added.
    let e = Guard::connect(portvakt_guard::GuardConfig::issuer(
        "https://id.example.com/acme",
    ))
    .await
    .expect_err("tls");
    assert!(e.to_string().contains("TLS"), "{e}");
}

#[tokio::test]
async fn the_validated_token_cache_never_serves_past_exp_and_is_bounded() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = portvakt_core::Clock::now(&*clock);
    let g = Guard::connect(config(&iss, clock.clone()).token_cache_capacity(64))
        .await
        .unwrap();
    let t = iss.mint(now); // exp = now + 300
    for _ in 0..10 {
        g.validate(&t).await.expect("valid");
    }
    let m = g.metrics();
    assert_eq!((m.token_cache_misses, m.token_cache_hits), (1, 9));
    clock.advance(300); // at exp: only the leeway keeps it valid, and the full path decides
    assert!(g.validate(&t).await.is_ok());
    assert_eq!(
        g.metrics().token_cache_misses,
        2,
        "not served from the cache at exp"
    );
    clock.advance(60);
    assert_eq!(refused(&g, &t).await.code(), ErrorCode::TokenExpired);
    for i in 0..500 {
        let t = iss.mint_with(now + 360, |c| c["jti"] = json!(format!("j{i}")));
        g.validate(&t).await.expect("valid");
        assert!(g.cached_tokens() <= 64, "{}", g.cached_tokens());
    }
}
