//! The sign-in log in Microsoft Graph's shape: `GET …/auditLogs/signIns` under the
//! tenant, newest first, with cursor paging (`@odata.nextLink`), simple filters and
//! Graph's `$filter` subset.

use super::auth::Admin;
use super::directory;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use portvakt_core::ErrorCode;
use portvakt_store::SignInQuery;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The most records one page returns.
pub const MAX_TOP: u32 = 1000;

/// A duration like `30m`, `1h`, `7d`, `90s` in milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let mul = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mul)
}

fn bad(param: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, format!("{param}: {why}"))
}

/// Build the store query from the request's parameters.
pub fn query_from(
    tenant_id: &str,
    params: &HashMap<String, String>,
    now_ms: i64,
) -> Result<SignInQuery, ApiError> {
    let mut q = SignInQuery {
        tenant_id: tenant_id.to_string(),
        limit: 50,
        ..Default::default()
    };
    for (k, v) in params {
        match k.as_str() {
            "$top" => {
                q.limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_TOP).contains(n))
                    .ok_or_else(|| bad("$top", format!("must be 1 to {MAX_TOP}")))?
            }
            "$skiptoken" => {
                q.before_seq = Some(
                    v.parse()
                        .map_err(|_| bad("$skiptoken", "is not a token this server issued"))?,
                )
            }
            "$filter" => {
                q.filter = Some(
                    portvakt_core::filter::SignInFilter::parse(v).map_err(|e| {
                        ApiError::new(ErrorCode::InvalidParameter, format!("$filter {e}"))
                    })?,
                )
            }
            "user" | "userPrincipalName" => q.user = Some(v.clone()),
            "userId" => q.user_id = Some(v.clone()),
            "app" | "appId" => q.app_id = Some(v.clone()),
            "status" => {
                q.status = Some(match v.as_str() {
                    "success" => 0,
                    "failure" => 1,
                    "interrupted" => 2,
                    _ => return Err(bad("status", "is success, failure or interrupted")),
                })
            }
            "errorCode" => {
                let digits = v.trim_start_matches("PV");
                q.error_code = Some(
                    digits
                        .parse()
                        .map_err(|_| bad("errorCode", "is a number (4001) or a code (PV4001)"))?,
                )
            }
            "correlationId" => q.correlation_id = Some(v.clone()),
            "ip" | "ipAddress" => q.ip = Some(v.clone()),
            "caStatus" | "conditionalAccessStatus" => {
                q.ca_status = Some(match v.as_str() {
                    "notApplied" => 0,
                    "success" => 1,
                    "failure" => 2,
                    _ => {
                        return Err(bad(
                            "conditionalAccessStatus",
                            "is success, failure or notApplied",
                        ))
                    }
                })
            }
            "interactive" | "isInteractive" => {
                q.interactive = Some(match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("interactive", "is true or false")),
                })
            }
            "since" => {
                q.since_ms = Some(
                    now_ms
                        - parse_duration_ms(v)
                            .ok_or_else(|| bad("since", "is a duration like 30m, 1h or 7d"))?,
                )
            }
            "until" => {
                q.until_ms = Some(
                    now_ms
                        - parse_duration_ms(v)
                            .ok_or_else(|| bad("until", "is a duration like 30m, 1h or 7d"))?,
                )
            }
            other => {
                return Err(bad(
                    other,
                    "is not a parameter of this API (user, app, status, errorCode, correlationId, ip, conditionalAccessStatus, interactive, since, until, $filter, $top, $skiptoken)",
                ))
            }
        }
    }
    Ok(q)
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/auditLogs/signIns", tag = "sign-in logs", params(("tenant" = String, Path),
    ("user" = Option<String>, Query, description = "user principal name (as typed for unknown users)"),
    ("app" = Option<String>, Query, description = "client id"),
    ("status" = Option<String>, Query, description = "success, failure or interrupted"),
    ("errorCode" = Option<String>, Query, description = "PV4001 or 4001"),
    ("correlationId" = Option<String>, Query),
    ("ip" = Option<String>, Query),
    ("conditionalAccessStatus" = Option<String>, Query, description = "success, failure or notApplied"),
    ("interactive" = Option<bool>, Query),
    ("since" = Option<String>, Query, description = "a duration back from now: 30m, 1h, 7d"),
    ("until" = Option<String>, Query, description = "a duration back from now"),
    ("$filter" = Option<String>, Query, description = "Graph's $filter subset (eq, ne, gt, ge, lt, le, startswith, and, or, not)"),
    ("$top" = Option<u32>, Query, description = "records per page, 1-1000 (default 50)"),
    ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")),
    responses((status = 200, description = "Graph collection of signIn, newest first", body = Object), (status = 400)), security(("bearer" = [])))]
/// The tenant's sign-ins, newest first (Graph `GET /auditLogs/signIns`).
pub async fn list_signins(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let d = directory(&st, &tenant).await?;
    let q = query_from(&d.tenant.id, &params, st.clock.now_ms())?;
    let page = st.store.signins(&q, false).await?;
    let value: Vec<Value> = page.rows.iter().map(|r| r.expand()).collect();
    let base = format!(
        "{}/admin/v1/tenants/{tenant}/auditLogs/signIns",
        st.config.public_url
    );
    let mut out = json!({
        "@odata.context": format!("{base}/$metadata#auditLogs/signIns"),
        "value": value,
    });
    if let Some(next) = page.next {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            if k != "$skiptoken" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("$skiptoken", &next.to_string());
        out["@odata.nextLink"] = json!(format!("{base}?{}", ser.finish()));
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/auditLogs/signIns/{id}", tag = "sign-in logs", params(("tenant" = String, Path), ("id" = String, Path, description = "the record's id or its correlation id")), responses((status = 200, body = Object), (status = 404)), security(("bearer" = [])))]
/// One sign-in, by id or by correlation id (the newest with it).
pub async fn get_signin(
    _: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let d = directory(&st, &tenant).await?;
    if let Some(r) = crate::logs::find_signin(&st, &d.tenant.id, &id).await? {
        return Ok(Json(r.expand()));
    }
    Err(ApiError::new(
        ErrorCode::EntityNotFound,
        format!(
            "no sign-in with id or correlation id '{}' in this tenant",
            id.escape_default()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30m"), Some(1_800_000));
        assert_eq!(parse_duration_ms("7d"), Some(604_800_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("h"), None);
        assert_eq!(parse_duration_ms("5y"), None);
        assert_eq!(parse_duration_ms("9999999999999999999d"), None);
    }
}
