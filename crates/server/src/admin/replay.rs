//! `POST …/identity/conditionalAccess/replay`: policy replay over the sign-in log
//! (see `crate::logs::replay`).

use super::auth::Admin;
use super::body::read_json;
use super::directory;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::Json;
use portvakt_core::ErrorCode;
use serde::Deserialize;
use serde_json::Value;

/// Body of a replay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayBody {
    /// Proposed or changed policies (Graph JSON; matched to stored ones by id, else by
    /// display name; new otherwise).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<Value>,
    /// A stored policy (id or display name) to replay in another state.
    #[serde(default)]
    pub policy_id: Option<String>,
    /// The state for `policyId`: `enabled`, `disabled`,
    /// `enabledForReportingButNotEnforced` (default `enabled`).
    #[serde(default)]
    pub state: Option<String>,
    /// How far back: 30m, 1h, 7d (default 30d).
    #[serde(default)]
    pub since: Option<String>,
    /// Examples per kind of change (default 10, at most 100).
    #[serde(default, deserialize_with = "portvakt_core::import::whole_number")]
    pub examples: Option<usize>,
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/replay", tag = "conditional access", params(("tenant" = String, Path)), request_body = ReplayBody, responses((status = 200, description = "what would have changed: newlyBlocked, newlyMfa, newlyInteraction, noLongerAffected (counts, users, examples, per application), replayed, notReplayable", body = Object), (status = 400)), security(("bearer" = [])))]
/// Replay a proposed or changed policy set over the facts of past sign-ins and report
/// what would have changed. Nothing is written.
pub async fn replay(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let body: ReplayBody = read_json(req, 1024 * 1024, ErrorCode::PolicyInvalid).await?;
    let r = run(&st, &tenant, &body).await?;
    Ok(Json(serde_json::to_value(r).unwrap_or_default()))
}

/// Replay `body` over the tenant's log (the admin API's and the portal's).
pub(crate) async fn run(
    st: &AppState,
    tenant: &str,
    body: &ReplayBody,
) -> Result<crate::logs::replay::Replay, ApiError> {
    if body.policies.is_empty() && body.policy_id.is_none() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "give the proposal: policies (Graph JSON) and/or policyId with a state",
        ));
    }
    let state = body.state.as_deref().unwrap_or("enabled");
    if !["enabled", "disabled", "enabledForReportingButNotEnforced"].contains(&state) {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "$.state: enabled, disabled or enabledForReportingButNotEnforced",
        ));
    }
    let since = body.since.clone().unwrap_or_else(|| "30d".into());
    let back = crate::admin::signins::parse_duration_ms(&since).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidInput,
            "$.since: a duration like 30m, 1h, 7d",
        )
    })?;
    let d = directory(st, tenant).await?;
    let (now, after) = crate::logs::replay::sets(
        st,
        &d,
        &body.policies,
        body.policy_id.as_deref().map(|id| (id, state)),
    )
    .await?;
    let mut r = crate::logs::replay::replay(
        st,
        &d.tenant.id,
        &now,
        &after,
        st.clock.now_ms() - back,
        body.examples.unwrap_or(10).min(100),
    )
    .await?;
    r.since = since;
    Ok(r)
}
