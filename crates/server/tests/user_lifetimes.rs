//! In-process, on a manual clock: authorization codes, refresh tokens and device
//! codes expire exactly when they should, with errors that say which limit was hit.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use portvakt_core::clock::ManualClock;
use portvakt_core::flow::{AuthRequest, CodeGrant, DeviceGrant, RefreshGrant};
use portvakt_jose::MasterKey;
use portvakt_server::{app, AppState, ServerConfig};
use portvakt_store::Store;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const T0: i64 = 1_800_000_000;

struct Env {
    st: AppState,
    app: axum::Router,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    tenant_id: String,
    user_id: String,
}

async fn setup() -> Env {
    let store: Arc<dyn Store> = portvakt_store::testing::store().await;
    let clock = Arc::new(ManualClock::new(T0));
    let mut config = ServerConfig::new("https://id.example.com");
    config.purge_every = None;
    let st = AppState::new(
        config,
        store.clone(),
        clock.clone(),
        MasterKey::from_bytes(&[3u8; 32]).expect("key"),
    );
    let file = portvakt_core::import::parse(
        br#"{"tenants": [{"name": "contoso",
            "users": [{"userPrincipalName": "kim@contoso.example", "password": "a long password"}],
            "resources": [{"identifier": "api://analytics", "scopes": ["Read"]}],
            "applications": [{"clientId": "spa", "grantTypes": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
                              "redirectUris": ["https://spa.example.com/cb"], "allowedScopes": ["api://analytics/Read"]}]}]}"#,
    )
    .expect("valid");
    portvakt_server::import::apply(&st, &file)
        .await
        .expect("import");
    let tenant_id = store
        .tenant("contoso")
        .await
        .expect("q")
        .expect("tenant")
        .id;
    let user_id = store
        .user_by_upn(&tenant_id, "kim@contoso.example")
        .await
        .expect("q")
        .expect("user")
        .id;
    Env {
        st: st.clone(),
        app: app(st),
        clock,
        store,
        tenant_id,
        user_id,
    }
}

async fn token(env: &Env, form: &str) -> (StatusCode, Value) {
    let req = Request::post("/contoso/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .expect("req");
    let res = env.app.clone().oneshot(req).await.expect("infallible");
    let s = res.status();
    let b = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn refresh_grant(env: &Env, expires_at: i64, family_expires_at: i64) -> RefreshGrant {
    RefreshGrant {
        family_id: portvakt_jose::random_id(16),
        tenant_id: env.tenant_id.clone(),
        client_id: "spa".into(),
        user_id: env.user_id.clone(),
        sid: "sid-1".into(),
        scope: "offline_access Read".into(),
        resource: Some("api://analytics".into()),
        auth_time: T0,
        amr: vec!["pwd".into()],
        issued_at: T0,
        expires_at,
        family_expires_at,
        client_app_type: None,
    }
}

#[tokio::test]
async fn an_authorization_code_expires_after_60_seconds() {
    let env = setup().await;
    let verifier = portvakt_jose::random_id(48);
    let challenge = portvakt_jose::b64url_encode(&portvakt_jose::sha256(verifier.as_bytes()));
    let grant = |code_expires: i64| CodeGrant {
        tenant_id: env.tenant_id.clone(),
        request: AuthRequest {
            client_id: "spa".into(),
            redirect_uri: "https://spa.example.com/cb".into(),
            redirect_uri_given: true,
            scope: "openid api://analytics/Read".into(),
            resource: None,
            state: None,
            nonce: None,
            code_challenge: Some(challenge.clone()),
            prompt: vec![],
            max_age: None,
            ui_locales: None,
            login_hint: None,
            device_user_code: None,
            client_app_type: None,
            response_mode: Default::default(),
        },
        user_id: env.user_id.clone(),
        sid: "sid-1".into(),
        auth_time: T0,
        amr: vec!["pwd".into()],
        expires_at: code_expires,
    };
    let form = |code: &str| {
        format!("grant_type=authorization_code&client_id=spa&code={code}&redirect_uri=https%3A%2F%2Fspa.example.com%2Fcb&code_verifier={verifier}")
    };
    env.store
        .put_code(&portvakt_jose::sha256(b"code-a"), &grant(T0 + 60))
        .await
        .expect("put");
    env.store
        .put_code(&portvakt_jose::sha256(b"code-b"), &grant(T0 + 60))
        .await
        .expect("put");
    env.clock.advance(59);
    let (s, v) = token(&env, &form("code-a")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    env.clock.advance(1);
    let (s, v) = token(&env, &form("code-b")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error_code"], "PV3101");
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("expired 0 s ago"),
        "{v}"
    );
}

#[tokio::test]
async fn refresh_tokens_expire_by_inactivity_and_by_absolute_lifetime() {
    let env = setup().await;
    env.store
        .put_refresh(
            &portvakt_jose::sha256(b"rt-idle"),
            &refresh_grant(&env, T0 + 100, T0 + 10_000),
            T0,
        )
        .await
        .expect("put");
    env.store
        .put_refresh(
            &portvakt_jose::sha256(b"rt-old"),
            &refresh_grant(&env, T0 + 5_000, T0 + 200),
            T0,
        )
        .await
        .expect("put");
    env.store
        .put_refresh(
            &portvakt_jose::sha256(b"rt-ok"),
            &refresh_grant(&env, T0 + 5_000, T0 + 10_000),
            T0,
        )
        .await
        .expect("put");
    env.clock.advance(99);
    let (s, v) = token(
        &env,
        "grant_type=refresh_token&client_id=spa&refresh_token=rt-ok",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    env.clock.advance(1);
    let (s, v) = token(
        &env,
        "grant_type=refresh_token&client_id=spa&refresh_token=rt-idle",
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("PV3202"))
    );
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("not used for 100 s"),
        "{v}"
    );
    env.clock.advance(100);
    let (s, v) = token(
        &env,
        "grant_type=refresh_token&client_id=spa&refresh_token=rt-old",
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("PV3202"))
    );
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("maximum lifetime"),
        "{v}"
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_never_outlives_its_family() {
    let env = setup().await;
    env.store
        .put_refresh(
            &portvakt_jose::sha256(b"rt-1"),
            &refresh_grant(&env, T0 + 14 * 86_400, T0 + 1_000),
            T0,
        )
        .await
        .expect("put");
    env.clock.advance(500);
    let (s, v) = token(
        &env,
        "grant_type=refresh_token&client_id=spa&refresh_token=rt-1",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rt2 = v["refresh_token"].as_str().expect("rotated").to_string();
    let rec = env
        .store
        .refresh(&portvakt_jose::sha256(rt2.as_bytes()))
        .await
        .expect("q")
        .expect("stored");
    assert_eq!(
        rec.grant.expires_at,
        T0 + 1_000,
        "inactivity expiry clamped to the family's"
    );
    env.clock.advance(500);
    let (_, v) = token(
        &env,
        &format!("grant_type=refresh_token&client_id=spa&refresh_token={rt2}"),
    )
    .await;
    assert_eq!(v["error_code"], "PV3202");
}

#[tokio::test]
async fn a_device_code_expires() {
    let env = setup().await;
    let g = DeviceGrant {
        tenant_id: env.tenant_id.clone(),
        client_id: "spa".into(),
        scope: "openid".into(),
        resource: None,
        user_code: "BCDF-GHJK".into(),
        expires_at: T0 + 600,
        interval: 5,
        last_poll: None,
        status: "pending".into(),
        user_id: None,
        sid: None,
        auth_time: None,
        amr: vec![],
    };
    env.store
        .put_device(&portvakt_jose::sha256(b"dev-1"), &g)
        .await
        .expect("put");
    let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=spa&device_code=dev-1";
    let (_, v) = token(&env, form).await;
    assert_eq!(v["error"], "authorization_pending");
    env.clock.advance(600);
    let (_, v) = token(&env, form).await;
    assert_eq!(
        (v["error"].as_str(), v["error_code"].as_str()),
        (Some("expired_token"), Some("PV3403"))
    );
}

#[tokio::test]
async fn expired_rows_are_purged_in_batches_and_live_ones_kept() {
    let env = setup().await;
    let interaction = |id: &str, expires_at: i64| portvakt_store::Interaction {
        id: id.into(),
        tenant_id: env.tenant_id.clone(),
        browser_hash: [7; 32],
        csrf: "c".into(),
        request: AuthRequest {
            client_id: "spa".into(),
            redirect_uri: "https://spa.example.com/cb".into(),
            redirect_uri_given: true,
            scope: "openid".into(),
            resource: None,
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: vec![],
            max_age: None,
            ui_locales: None,
            login_hint: None,
            device_user_code: None,
            client_app_type: None,
            response_mode: Default::default(),
        },
        user_id: None,
        sid: None,
        expires_at,
        mfa_user_id: None,
        enroll_sealed: None,
        second_factor_at: None,
    };
    // More expired sign-ins than one batch, and one that is still live.
    let n = portvakt_server::maintenance::PURGE_BATCH as usize * 2 + 7;
    for i in 0..n {
        env.store
            .put_interaction(&interaction(&format!("old-{i}"), T0 + 900))
            .await
            .expect("put");
    }
    env.store
        .put_interaction(&interaction("live", T0 + 5000))
        .await
        .expect("put");
    let device = |code: &str, expires_at: i64| DeviceGrant {
        tenant_id: env.tenant_id.clone(),
        client_id: "spa".into(),
        scope: "openid".into(),
        resource: None,
        user_code: code.into(),
        expires_at,
        interval: 5,
        last_poll: None,
        status: "pending".into(),
        user_id: None,
        sid: None,
        auth_time: None,
        amr: vec![],
    };
    env.store
        .put_device(
            &portvakt_jose::sha256(b"dev-old"),
            &device("BCDF-GHJK", T0 + 600),
        )
        .await
        .expect("put");
    env.store
        .put_device(
            &portvakt_jose::sha256(b"dev-live"),
            &device("BCDF-GHJL", T0 + 5000),
        )
        .await
        .expect("put");
    let rt = portvakt_jose::sha256(b"rt-1");
    env.store
        .put_refresh(&rt, &refresh_grant(&env, T0 + 1000, T0 + 2000), T0)
        .await
        .expect("put");
    env.store
        .revoke_jti(&env.tenant_id, "jti-old", T0 + 60)
        .await
        .expect("put");

    // Nothing has expired yet.
    assert_eq!(
        portvakt_server::maintenance::purge_once(&env.st)
            .await
            .expect("purge"),
        0
    );
    env.clock.advance(1000);
    let purged = portvakt_server::maintenance::purge_once(&env.st)
        .await
        .expect("purge");
    assert_eq!(
        purged,
        n as u64 + 2,
        "the sign-ins, one device code, one denylist entry"
    );
    for i in [0, n / 2, n - 1] {
        assert!(env
            .store
            .interaction(&format!("old-{i}"))
            .await
            .expect("q")
            .is_none());
    }
    assert!(env.store.interaction("live").await.expect("q").is_some());
    assert!(env
        .store
        .device(&portvakt_jose::sha256(b"dev-old"))
        .await
        .expect("q")
        .is_none());
    assert!(env
        .store
        .device(&portvakt_jose::sha256(b"dev-live"))
        .await
        .expect("q")
        .is_some());
    // A refresh family is kept past its expiry as long as an access token issued from
    // it could live (its revocation must outlive them), then it goes with its tokens.
    assert!(env.store.refresh(&rt).await.expect("q").is_some());
    env.clock
        .advance(portvakt_core::import::MAX_LIFETIME as i64 + 2000);
    portvakt_server::maintenance::purge_once(&env.st)
        .await
        .expect("purge");
    assert!(env.store.refresh(&rt).await.expect("q").is_none());
}
