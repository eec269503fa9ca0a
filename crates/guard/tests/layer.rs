//! The tower layer and axum extractors answer per RFC 6750 §3.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use common::*;
use portvakt_core::Clock;
use portvakt_guard::{BearerToken, Guard, GuardConfig, GuardLayer, VerifiedClaims};
use serde_json::{json, Value};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    www: Option<String>,
    correlation: Option<String>,
    body: Value,
}

async fn call(app: &Router, auth: &[&str], uri: &str, extra: Option<(&str, &str)>) -> Answer {
    let mut b = Request::builder().uri(uri);
    for a in auth {
        b = b.header(header::AUTHORIZATION, *a);
    }
    if let Some((k, v)) = extra {
        b = b.header(k, v);
    }
    let resp = app
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let hv = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (www, correlation) = (hv("www-authenticate"), hv("x-correlation-id"));
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        www,
        correlation,
        body,
    }
}

async fn app() -> (FakeIssuer, Router, i64) {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = clock.now();
    let g = Guard::connect(config(&iss, clock).realm("analytics"))
        .await
        .unwrap();
    let router = Router::new()
        .route(
            "/me",
            get(|c: VerifiedClaims| async move { c.claims().sub.clone() }),
        )
        .route(
            "/admin",
            get(|c: VerifiedClaims| async move { c.claims().sub.clone() })
                .layer(GuardLayer::new(g.clone()).require_scope("admin")),
        )
        .layer(GuardLayer::new(g));
    (iss, router, now)
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler() {
    let (iss, app, now) = app().await;
    let a = call(&app, &[&format!("Bearer {}", iss.mint(now))], "/me", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, Value::String("user-42".into()));
    // The scheme is case-insensitive (RFC 7235 §2.1).
    let a = call(&app, &[&format!("bearer {}", iss.mint(now))], "/me", None).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn no_token_is_401_without_an_error_code() {
    let (_iss, app, _) = app().await;
    for auth in [vec![], vec!["Basic dXNlcjpwYXNz"]] {
        let a = call(&app, &auth, "/me", None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        // RFC 6750 §3: no error when the request carried no bearer token.
        assert_eq!(a.www.as_deref(), Some(r#"Bearer realm="analytics""#));
        assert!(a.body.get("error").is_none(), "{}", a.body);
        assert_eq!(a.body["error_code"], "PV2001");
        assert!(a.body["fix"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"));
        assert!(a.body["correlation_id"].as_str().unwrap().len() >= 12);
        assert_eq!(a.correlation.as_deref(), a.body["correlation_id"].as_str());
    }
}

#[tokio::test]
async fn an_expired_token_is_401_invalid_token_with_details_only_in_the_body() {
    let (iss, app, now) = app().await;
    let t = iss.mint_with(now, |c| {
        c["iat"] = json!(now - 3903);
        c["exp"] = json!(now - 303);
        c["nbf"] = json!(now - 3903);
    });
    let a = call(
        &app,
        &[&format!("Bearer {t}")],
        "/me",
        Some(("x-correlation-id", "req-7f3a")),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let www = a.www.unwrap();
    let error_uri = format!("http://{}/errors/PV2011", iss.addr);
    assert_eq!(
        www,
        format!(
            r#"Bearer realm="analytics", error="invalid_token", error_description="The access token has expired", error_code="PV2011", error_uri="{error_uri}""#
        )
    );
    assert_eq!(a.body["error"], "invalid_token");
    assert_eq!(a.body["error_code"], "PV2011");
    assert_eq!(a.body["error_uri"], error_uri);
    assert!(
        a.body["error_description"]
            .as_str()
            .unwrap()
            .contains("5 min 3 s ago"),
        "{}",
        a.body
    );
    assert_eq!(a.body["hints"][0]["id"], "TIME-EXPIRED");
    assert_eq!(a.body["correlation_id"], "req-7f3a");
    assert_eq!(a.correlation.as_deref(), Some("req-7f3a"));
}

#[tokio::test]
async fn token_values_never_reach_the_header() {
    let (iss, app, now) = app().await;
    let t = iss.mint_with(now, |c| c["iss"] = json!("http://evil.example/\"injected"));
    let a = call(&app, &[&format!("Bearer {t}")], "/me", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let www = a.www.unwrap();
    assert!(www.contains(r#"error_code="PV2014""#), "{www}");
    assert!(!www.contains("evil") && !www.contains("injected"), "{www}");
    assert!(a.body["error_description"]
        .as_str()
        .unwrap()
        .contains("evil.example"));
    // A garbage token: the description is the catalogue title, nothing reflected.
    let a = call(&app, &["Bearer <script>alert(1)</script>"], "/me", None).await;
    let www = a.www.unwrap();
    assert!(
        www.contains(r#"error_description="The access token is malformed""#),
        "{www}"
    );
    assert!(!www.contains("<script") && !www.contains("alert"), "{www}");
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope_naming_it() {
    let (iss, app, now) = app().await;
    let a = call(
        &app,
        &[&format!("Bearer {}", iss.mint(now))],
        "/admin",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let www = a.www.unwrap();
    assert!(www.contains(r#"error="insufficient_scope""#), "{www}");
    assert!(www.contains(r#"scope="admin""#), "{www}");
    assert!(www.contains(r#"error_code="PV2017""#), "{www}");
    assert_eq!(a.body["scope"], "admin");
    assert!(a.body["error_description"]
        .as_str()
        .unwrap()
        .contains("lacks the scope 'admin'"));
    let t = iss.mint_with(now, |c| c["scope"] = json!("read admin"));
    assert_eq!(
        call(&app, &[&format!("Bearer {t}")], "/admin", None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_request_is_400_invalid_request() {
    let (iss, app, now) = app().await;
    let t = iss.mint(now);
    let two = [format!("Bearer {t}"), format!("Bearer {t}")];
    let a = call(&app, &[&two[0], &two[1]], "/me", None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.www.unwrap().contains(r#"error="invalid_request""#));
    assert_eq!(a.body["error_code"], "PV2002");
    let a = call(&app, &[], &format!("/me?access_token={t}"), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body["error_description"]
        .as_str()
        .unwrap()
        .contains("URL"));
}

#[tokio::test]
async fn a_bearer_prefix_inside_the_token_is_explained() {
    let (iss, app, now) = app().await;
    let a = call(
        &app,
        &[&format!("Bearer Bearer {}", iss.mint(now))],
        "/me",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error_code"], "PV2003");
    assert_eq!(a.body["hints"][0]["id"], "FMT-PREFIX");
}

#[tokio::test]
async fn an_unreachable_issuer_without_keys_is_503() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let g =
        Guard::new(GuardConfig::issuer(format!("http://{addr}/acme")).audience(AUDIENCE)).unwrap();
    let app = Router::new()
        .route("/me", get(|| async { "hi" }))
        .layer(GuardLayer::new(g));
    let a = call(&app, &["Bearer a.b.c"], "/me", None).await;
    // The token is garbage: that is found before any key is needed.
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let iss = FakeIssuer::start().await;
    let t = iss.mint(real_now());
    let a = call(&app, &[&format!("Bearer {t}")], "/me", None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.www.is_none());
    assert_eq!(a.body["error_code"], "PV2020");
    assert_eq!(a.body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn the_extractors_work_without_the_layer() {
    let iss = FakeIssuer::start().await;
    let clock = clock();
    let now = clock.now();
    let g = Guard::connect(config(&iss, clock)).await.unwrap();
    let app = Router::new()
        .route(
            "/me",
            get(|c: VerifiedClaims| async move { c.claims().client_id.clone() }),
        )
        .route(
            "/raw",
            get(|BearerToken(t): BearerToken| async move { t.len().to_string() }),
        )
        .layer(Extension(g));
    let t = iss.mint(now);
    let a = call(&app, &[&format!("Bearer {t}")], "/me", None).await;
    assert_eq!(
        (a.status, a.body),
        (StatusCode::OK, Value::String("analytics-web".into()))
    );
    let a = call(&app, &["Bearer x.y.z"], "/me", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error_code"], "PV2003");
    let a = call(&app, &["Bearer x.y.z"], "/raw", None).await;
    assert_eq!((a.status, a.body), (StatusCode::OK, json!(5)));
    let a = call(&app, &[], "/raw", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}
