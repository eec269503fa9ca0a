//! In-process, on a manual clock: sign-in records older than the retention are
//! purged by the background upkeep, in batches, and newer ones stay; `--signin-log
//! off` records nothing.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use portvakt_core::clock::ManualClock;
use portvakt_jose::MasterKey;
use portvakt_server::{app, AppState, ServerConfig};
use portvakt_store::{SignInQuery, Store};
use std::sync::Arc;
use tower::ServiceExt;

const T0: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

async fn setup(retention_days: u32, log: bool) -> (AppState, Arc<ManualClock>, String) {
    let store: Arc<dyn Store> = portvakt_store::testing::store().await;
    let clock = Arc::new(ManualClock::new(T0));
    let mut config = ServerConfig::new("https://id.example.com");
    config.purge_every = None;
    config.signin_retention_days = retention_days;
    config.signin_log = log;
    let st = AppState::new(
        config,
        store.clone(),
        clock.clone(),
        MasterKey::from_bytes(&[3u8; 32]).expect("key"),
    );
    let file = r#"{"tenants": [{"name": "contoso",
        "resources": [{"identifier": "api://analytics", "scopes": ["Read"]}],
        "applications": [{"clientId": "svc", "clientSecret": "svc-secret-0123456789abcdef",
                          "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]}]}"#;
    let file = portvakt_core::import::parse(file.as_bytes()).expect("valid");
    portvakt_server::import::apply(&st, &file)
        .await
        .expect("import");
    let tenant_id = store.tenant("contoso").await.expect("q").expect("t").id;
    (st, clock, tenant_id)
}

async fn token(st: &AppState) {
    let req = Request::post("/contoso/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=client_credentials&client_id=svc&client_secret=svc-secret-0123456789abcdef&scope=api://analytics/.default",
        ))
        .expect("req");
    let res = app(st.clone()).oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
}

async fn stored_times(st: &AppState, tenant_id: &str) -> Vec<i64> {
    st.signins.flush().await;
    let page = st
        .store
        .signins(
            &SignInQuery {
                tenant_id: tenant_id.into(),
                limit: 10_000,
                ..Default::default()
            },
            false,
        )
        .await
        .expect("read");
    page.rows.iter().map(|r| r.created_ms).collect()
}

#[tokio::test]
async fn records_older_than_the_retention_are_purged_in_batches_and_newer_ones_stay() {
    let (st, clock, tenant_id) = setup(7, true).await;
    // More old records than one purge batch, so the purge must loop.
    let old = portvakt_server::maintenance::PURGE_BATCH as usize + 20;
    for _ in 0..old {
        token(&st).await;
    }
    clock.advance(6 * DAY);
    token(&st).await; // 6 days old at the end: kept
    clock.advance(2 * DAY);
    token(&st).await; // new
    assert_eq!(stored_times(&st, &tenant_id).await.len(), old + 2);

    let purged = portvakt_server::maintenance::purge_once(&st)
        .await
        .expect("purge");
    assert!(purged >= old as u64, "purged {purged}");
    let left = stored_times(&st, &tenant_id).await;
    let now_ms = (T0 + 8 * DAY) * 1000;
    assert_eq!(
        left,
        vec![now_ms, now_ms - 2 * DAY * 1000],
        "newest first, the two within 7 days"
    );
    assert_eq!(st.store.count_signins(&tenant_id).await.expect("count"), 2);

    // A second pass finds nothing more to purge among the sign-ins.
    let again = portvakt_server::maintenance::purge_once(&st)
        .await
        .expect("purge");
    assert_eq!(again, 0);
    assert_eq!(stored_times(&st, &tenant_id).await.len(), 2);
}

#[tokio::test]
async fn with_the_log_switched_off_nothing_is_recorded_and_nothing_counts_as_dropped() {
    let (st, _clock, tenant_id) = setup(30, false).await;
    for _ in 0..5 {
        token(&st).await;
    }
    assert!(!st.signins.is_on());
    assert!(stored_times(&st, &tenant_id).await.is_empty());
    assert_eq!(st.signins.dropped(), 0);
}
