//! `/health/live` and `/health/ready` (JSON; 503 with the reason when not ready), for
//! load balancers, orchestrators and monitoring. Live: the process answers. Ready: the
//! store answers, the signing keys are loaded, and the sign-in log's writer is alive.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// GET `/health/live` (and `/health`): the process is up and answers.
pub async fn live() -> Response {
    answer(StatusCode::OK, json!({"status": "ok"}))
}

/// GET `/health/ready`: each check with its result; 503 and the failing checks'
/// reasons when one fails.
pub async fn ready(State(st): State<AppState>) -> Response {
    let now = st.clock.now();
    let store = match st.store.tenant(portvakt_core::names::SYSTEM_TENANT).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            Err("the system tenant is missing from the store (not bootstrapped)".to_string())
        }
        Err(e) => Err(format!("the store does not answer: {e}")),
    };
    let keys = match st
        .directory
        .get(portvakt_core::names::SYSTEM_TENANT, now)
        .await
    {
        Ok(Some(view)) if view.signer(now).is_some() => Ok(()),
        Ok(Some(_)) => Err("no signing key of the system tenant is active".to_string()),
        Ok(None) => Err("the system tenant is not loaded".to_string()),
        Err(e) => Err(format!("the keys cannot be loaded: {}", e.detail)),
    };
    let log = if st.signins.writer_alive() {
        Ok(())
    } else {
        Err("the sign-in log writer has stopped; sign-ins are not being recorded".to_string())
    };
    let checks = [("store", store), ("keys", keys), ("signinLog", log)];
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let body = json!({
        "status": if ok { "ready" } else { "notReady" },
        "checks": checks.iter().map(|(name, r)| match r {
            Ok(()) => json!({"name": name, "status": "ok"}),
            Err(why) => json!({"name": name, "status": "failed", "reason": why}),
        }).collect::<Vec<_>>(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        tracing::warn!(%body, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    answer(status, body)
}
