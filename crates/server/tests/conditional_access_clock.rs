//! In-process, on a manual clock: Conditional Access at the refresh-token grant —
//! sign-in frequency forces re-authentication after its interval, a report-only
//! policy changes nothing, and policies come from the import file.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use portvakt_core::clock::ManualClock;
use portvakt_core::flow::RefreshGrant;
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

async fn setup(policy_state: &str) -> Env {
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
    let file = format!(
        r#"{{"tenants": [{{"name": "contoso",
            "users": [{{"userPrincipalName": "kim@contoso.example", "password": "a long password"}}],
            "resources": [{{"identifier": "api://analytics", "scopes": ["Read"]}}],
            "applications": [{{"clientId": "spa", "grantTypes": ["authorization_code", "refresh_token"],
                              "redirectUris": ["https://spa.example.com/cb"], "allowedScopes": ["api://analytics/Read"]}}],
            "conditionalAccessPolicies": [{{
                "displayName": "Sign in every hour", "state": "{policy_state}",
                "conditions": {{"users": {{"includeUsers": ["All"]}}, "applications": {{"includeApplications": ["spa"]}},
                               "clientAppTypes": ["all"]}},
                "sessionControls": {{"signInFrequency": {{"value": 1, "type": "hours", "isEnabled": true,
                                                          "authenticationType": "primaryAndSecondaryAuthentication",
                                                          "frequencyInterval": "timeBased"}}}}
            }}]}}]}}"#
    );
    let file = portvakt_core::import::parse(file.as_bytes()).expect("valid");
    portvakt_server::import::apply(&st, &file)
        .await
        .expect("import");
    let tenant_id = store.tenant("contoso").await.expect("q").expect("t").id;
    let user_id = store
        .user_by_upn(&tenant_id, "kim@contoso.example")
        .await
        .expect("q")
        .expect("user")
        .id;
    Env {
        app: app(st.clone()),
        st,
        clock,
        store,
        tenant_id,
        user_id,
    }
}

async fn refresh(env: &Env, rt: &str) -> (StatusCode, Value) {
    let req = Request::post("/contoso/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={rt}"
        )))
        .expect("req");
    let res = env.app.clone().oneshot(req).await.expect("infallible");
    let s = res.status();
    let b = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

async fn family(env: &Env, rt: &str) {
    let g = RefreshGrant {
        family_id: portvakt_jose::random_id(16),
        tenant_id: env.tenant_id.clone(),
        client_id: "spa".into(),
        user_id: env.user_id.clone(),
        sid: "sid-1".into(),
        scope: "offline_access api://analytics/Read".into(),
        resource: Some("api://analytics".into()),
        auth_time: T0,
        amr: vec!["pwd".into()],
        issued_at: T0,
        expires_at: T0 + 14 * 24 * 3600,
        family_expires_at: T0 + 90 * 24 * 3600,
        client_app_type: Some("browser".into()),
    };
    env.store
        .put_refresh(&portvakt_jose::sha256(rt.as_bytes()), &g, T0)
        .await
        .expect("put");
}

#[tokio::test]
async fn sign_in_frequency_forces_a_new_sign_in_after_its_interval() {
    let env = setup("enabled").await;
    family(&env, "rt-0").await;
    env.clock.advance(30 * 60);
    let (s, v) = refresh(&env, "rt-0").await;
    assert_eq!(s, StatusCode::OK, "within the hour: {v}");
    let rt = v["refresh_token"].as_str().expect("rt").to_string();
    env.clock.advance(31 * 60);
    let (s, v) = refresh(&env, &rt).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        (v["error"].as_str(), v["error_code"].as_str()),
        (Some("interaction_required"), Some("PV4003")),
        "{v}"
    );
    let d = v["error_description"].as_str().unwrap_or("");
    assert!(d.contains("Sign in every hour"), "{d}");
    // Refreshing again does not reset the frequency: still refused.
    let (_, v) = refresh(&env, &rt).await;
    assert_eq!(v["error_code"], "PV4003", "{v}");
}

#[tokio::test]
async fn a_report_only_frequency_changes_nothing() {
    let env = setup("enabledForReportingButNotEnforced").await;
    family(&env, "rt-0").await;
    env.clock.advance(5 * 3600);
    let (s, v) = refresh(&env, "rt-0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn diagnose_names_the_sign_in_frequency_by_user_and_predicts_it_for_a_live_token() {
    use portvakt_server::logs::diagnose::{diagnose, Cause, Question};
    let env = setup("enabled").await;
    family(&env, "rt-0").await;
    env.clock.advance(30 * 60);
    let (s, v) = refresh(&env, "rt-0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let at = v["access_token"].as_str().expect("at").to_string();
    let rt = v["refresh_token"].as_str().expect("rt").to_string();
    // 61 minutes after the sign-in, the access token (1 h) still lives, but a refresh
    // is due to be refused: diagnose predicts it from the latest sign-in's facts.
    env.clock.advance(31 * 60);
    env.st.signins.flush().await;
    let d = diagnose(
        &env.st,
        "contoso",
        &Question {
            token: Some(at),
            ..Default::default()
        },
    )
    .await
    .expect("diagnose");
    assert_eq!(d.cause, Cause::SignInFrequency, "{}", d.summary);
    assert!(
        d.summary.contains("a refresh now would be refused"),
        "{}",
        d.summary
    );
    assert!(
        d.summary.contains("policy 'Sign in every hour'"),
        "{}",
        d.summary
    );
    // The refused refresh, by user.
    let (_, v) = refresh(&env, &rt).await;
    assert_eq!(v["error_code"], "PV4003", "{v}");
    env.st.signins.flush().await;
    let q = Question {
        user: Some("KIM@contoso.example".into()),
        since_ms: Some((T0 - 60) * 1000),
        ..Default::default()
    };
    let d = diagnose(&env.st, "contoso", &q).await.expect("diagnose");
    assert_eq!(
        (d.cause, d.code),
        (Cause::SignInFrequency, Some("PV4003")),
        "{}",
        d.summary
    );
    assert!(
        d.summary.contains("1 of 2 sign-ins of KIM@contoso.example"),
        "{}",
        d.summary
    );
    assert!(
        d.summary
            .contains("requires signing in again (signInFrequency"),
        "{}",
        d.summary
    );
    assert!(
        d.fix[0].contains("sign in again interactively"),
        "{:?}",
        d.fix
    );
}
