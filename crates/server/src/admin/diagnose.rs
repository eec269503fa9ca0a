//! `POST …/diagnose`: explain why a token was refused or a sign-in failed (see
//! `crate::logs::diagnose`). For the CLI's `portvakt diagnose` and the portal.

use super::auth::Admin;
use super::body::read_json;
use crate::error::ApiError;
use crate::logs::diagnose::{diagnose as run, Question};
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::Json;
use portvakt_core::ErrorCode;
use serde::Deserialize;
use serde_json::Value;

/// Body of a diagnosis: exactly one of `token`, `correlationId`, `user`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnoseBody {
    /// An access token a service refused (it is not stored or logged).
    #[serde(default)]
    pub token: Option<String>,
    /// With `token`: the audience the refusing service expects.
    #[serde(default)]
    pub audience: Option<String>,
    /// A correlation id from an error response, page or log line.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// A user principal name.
    #[serde(default)]
    pub user: Option<String>,
    /// With `user`: how far back, 30m, 1h, 7d (default 1d).
    #[serde(default)]
    pub since: Option<String>,
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/diagnose", tag = "sign-in logs", params(("tenant" = String, Path)), request_body = DiagnoseBody, responses((status = 200, description = "cause (a stable name), code, summary, chain of steps, fix, links", body = Object), (status = 400)), security(("bearer" = [])))]
/// Explain a refused token, a correlation id or a user's recent failures: the chain of
/// causes and the fix.
pub async fn diagnose(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let body: DiagnoseBody = read_json(req, 64 * 1024, ErrorCode::InvalidInput).await?;
    let since_ms = match &body.since {
        None => None,
        Some(s) => Some(
            st.clock.now_ms()
                - crate::admin::signins::parse_duration_ms(s).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidInput,
                        "$.since: a duration like 30m, 1h, 7d",
                    )
                })?,
        ),
    };
    let q = Question {
        token: body.token,
        audience: body.audience,
        correlation_id: body.correlation_id,
        user: body.user,
        since_ms,
    };
    let d = run(&st, &tenant, &q).await?;
    Ok(Json(serde_json::to_value(d).unwrap_or_default()))
}
