//! In-process: admin API request bodies are read as the OpenAPI document says
//! (`admin/openapi.rs`; `tests/interop/python/test_schemathesis.py` fuzzes the real
//! server against it). Each case here is a mismatch schemathesis found (#16).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use portvakt_core::clock::ManualClock;
use portvakt_jose::MasterKey;
use portvakt_server::{app, bootstrap, AppState, ServerConfig};

use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: axum::Router,
    token: String,
}

async fn setup() -> Api {
    let store = portvakt_store::testing::store().await;
    let st = AppState::new(
        ServerConfig::new("https://id.example.com"),
        store,
        Arc::new(ManualClock::new(1_800_000_000)),
        MasterKey::from_bytes(&[9u8; 32]).expect("key"),
    );
    let secret = bootstrap::ensure_system_tenant(&st)
        .await
        .expect("bootstrap")
        .expect("new secret");
    let file = portvakt_core::import::parse(
        br#"{"tenants": [{"name": "contoso", "roles": [{"name": "reader"}]}]}"#,
    )
    .expect("valid");
    portvakt_server::import::apply(&st, &file)
        .await
        .expect("import");
    let app = app(st);
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("portvakt-admin:{secret}"));
    let req = Request::post("/system/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Body::from(
            "grant_type=client_credentials&scope=urn:portvakt:admin/admin",
        ))
        .expect("request");
    let (s, v) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["access_token"].as_str().expect("token").to_string();
    Api { app, token }
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

impl Api {
    async fn post(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        call(&self.app, req).await
    }
}

#[tokio::test]
async fn a_body_is_a_json_object_not_an_array_of_fields() {
    let api = setup().await;
    // serde reads a struct from an array of its fields in order; the API does not.
    let (s, v) = api.post("/admin/v1/tenants", r#"["fabrikam"]"#).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error_code"], "PV1010", "{v}");
    let (s, v) = api
        .post("/admin/v1/tenants/contoso/keys/rotate", "[null, null]")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn whole_numbers_may_be_written_with_a_fraction_of_zero() {
    // JSON Schema's `integer` includes 3600.0; so does the API's.
    let api = setup().await;
    let (s, v) = api
        .post(
            "/admin/v1/tenants",
            r#"{"name": "fabrikam", "accessTokenLifetimeSeconds": 3600.0}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["accessTokenLifetimeSeconds"], 3600);
    let (s, v) = api
        .post(
            "/admin/v1/tenants",
            r#"{"name": "northwind", "accessTokenLifetimeSeconds": 3600.5}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("$.accessTokenLifetimeSeconds"),
        "{v}"
    );
}

#[tokio::test]
async fn a_new_user_may_hold_the_tenants_own_roles_and_keeps_its_id() {
    let api = setup().await;
    let (s, v) = api
        .post(
            "/admin/v1/tenants/contoso/users",
            &json!({"userPrincipalName": "ada@contoso.example", "id": "ada-object-id", "roles": ["reader", "admin"]}).to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], "ada-object-id");
    let roles = v["roles"].as_array().expect("roles");
    assert!(
        roles.contains(&json!("reader")) && roles.contains(&json!("admin")),
        "{v}"
    );
    let (s, v) = api
        .post(
            "/admin/v1/tenants/contoso/users",
            &json!({"userPrincipalName": "bob@contoso.example", "roles": ["auditor"]}).to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // The same id twice is a conflict, as the document says.
    let (s, v) = api
        .post(
            "/admin/v1/tenants/contoso/users",
            &json!({"userPrincipalName": "eve@contoso.example", "id": "ada-object-id"}).to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

#[tokio::test]
async fn a_new_group_keeps_its_id_and_is_checked_like_an_imported_one() {
    let api = setup().await;
    let (s, v) = api
        .post(
            "/admin/v1/tenants/contoso/groups",
            r#"{"displayName": "Staff", "id": "staff"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], "staff");
    let (s, v) = api
        .post(
            "/admin/v1/tenants/contoso/groups",
            r#"{"displayName": "Other", "id": "has space"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = api
        .post(
            "/admin/v1/tenants/contoso/groups",
            r#"{"displayName": " "}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}
