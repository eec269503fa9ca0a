//! In-process, on a manual clock: a rotated key is published before it signs, the old
//! key keeps signing until then, and it leaves the JWKS only after every token it
//! signed has expired. Tokens expire exactly at their lifetime.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use portvakt_core::clock::ManualClock;
use portvakt_jose::MasterKey;
use portvakt_server::{app, bootstrap, AppState, ServerConfig};

use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const T0: i64 = 1_800_000_000;

async fn setup() -> (axum::Router, Arc<ManualClock>, String) {
    let store = portvakt_store::testing::store().await;
    let clock = Arc::new(ManualClock::new(T0));
    let st = AppState::new(
        ServerConfig::new("https://id.example.com"),
        store,
        clock.clone(),
        MasterKey::from_bytes(&[9u8; 32]).expect("key"),
    );
    let secret = bootstrap::ensure_system_tenant(&st)
        .await
        .expect("bootstrap")
        .expect("new secret");
    let file = portvakt_core::import::parse(
        br#"{"tenants": [{"name": "contoso", "accessTokenLifetimeSeconds": 600,
            "resources": [{"identifier": "api://analytics", "scopes": ["Read"]}],
            "applications": [{"clientId": "bench", "clientSecret": "bench-secret-0123456789abcdef", "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]}]}"#,
    )
    .expect("valid");
    portvakt_server::import::apply(&st, &file)
        .await
        .expect("import");
    (app(st), clock, secret)
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn token(app: &axum::Router, tenant: &str, id: &str, secret: &str, scope: &str) -> Value {
    let req = Request::post(format!("/{tenant}/oauth2/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic(id, secret))
        .body(Body::from(format!(
            "grant_type=client_credentials&scope={scope}"
        )))
        .expect("request");
    let (s, v) = call(app, req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn kid(token: &Value) -> String {
    let t = token["access_token"].as_str().expect("token");
    let h = portvakt_jose::b64url_decode(t.split('.').next().expect("header")).expect("b64");
    serde_json::from_slice::<Value>(&h).expect("json")["kid"]
        .as_str()
        .expect("kid")
        .to_string()
}

async fn jwks_kids(app: &axum::Router) -> Vec<String> {
    let (_, v) = call(
        app,
        Request::get("/contoso/oauth2/keys")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    // The ES256 keys (access tokens); the RS256 ID-token keys follow their own
    // timeline alongside.
    v["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["alg"] == "ES256")
        .map(|k| k["kid"].as_str().expect("kid").to_string())
        .collect()
}

#[tokio::test]
async fn rotation_timeline_on_a_manual_clock() {
    let (app, clock, admin_secret) = setup().await;
    let admin = token(
        &app,
        "system",
        "portvakt-admin",
        &admin_secret,
        "urn:portvakt:admin/admin",
    )
    .await;
    let admin = admin["access_token"].as_str().expect("t").to_string();
    let first = kid(&token(
        &app,
        "contoso",
        "bench",
        "bench-secret-0123456789abcdef",
        "api://analytics/.default",
    )
    .await);

    // Rotate with the default pre-publication (60 s).
    let req = Request::post("/admin/v1/tenants/contoso/keys/rotate")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .expect("req");
    let (s, rotated) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let second = rotated["key"]["kid"].as_str().expect("kid").to_string();
    assert_eq!(rotated["key"]["activeFrom"], T0 + 60);
    // Published until: retirement (T0+60) + the tenant's longest lifetime (600 s)
    // + 300 s leeway.
    assert_eq!(
        rotated["retiring"][0]["publishedUntil"],
        T0 + 60 + 600 + 300
    );

    assert_eq!(
        jwks_kids(&app).await,
        vec![second.clone(), first.clone()],
        "new key published first, before it signs"
    );
    clock.advance(59);
    assert_eq!(
        kid(&token(
            &app,
            "contoso",
            "bench",
            "bench-secret-0123456789abcdef",
            "api://analytics/.default"
        )
        .await),
        first,
        "old key signs until T0+60"
    );
    clock.advance(1);
    let last_old_exp = T0 + 59 + 600;
    assert_eq!(
        kid(&token(
            &app,
            "contoso",
            "bench",
            "bench-secret-0123456789abcdef",
            "api://analytics/.default"
        )
        .await),
        second,
        "new key signs from T0+60"
    );
    // The old key stays published past the expiry of the last token it signed ...
    clock.advance(last_old_exp - clock_now(&clock));
    assert!(jwks_kids(&app).await.contains(&first));
    clock.advance(T0 + 60 + 600 + 300 - clock_now(&clock) - 1);
    assert!(jwks_kids(&app).await.contains(&first));
    // ... and leaves at published_until.
    clock.advance(1);
    assert_eq!(jwks_kids(&app).await, vec![second]);
}

fn clock_now(c: &ManualClock) -> i64 {
    use portvakt_core::Clock;
    c.now()
}

#[tokio::test]
async fn admin_tokens_expire_on_the_clock() {
    let (app, clock, admin_secret) = setup().await;
    let admin = token(
        &app,
        "system",
        "portvakt-admin",
        &admin_secret,
        "urn:portvakt:admin/admin",
    )
    .await;
    assert_eq!(admin["expires_in"], 600);
    let bearer = format!("Bearer {}", admin["access_token"].as_str().expect("t"));
    let (s, _) = call(
        &app,
        Request::get("/admin/v1/tenants")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    clock.advance(600);
    let (s, v) = call(
        &app,
        Request::get("/admin/v1/tenants")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error_code"], "PV1402");
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("expired 0 s ago"),
        "{v}"
    );
}
