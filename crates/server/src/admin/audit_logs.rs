//! The audit log in Microsoft Graph's shape: `GET …/auditLogs/directoryAudits` under
//! the tenant, newest first, with cursor paging (`@odata.nextLink` carrying
//! `$skiptoken`), simple filters (`since`, `until`, `correlationId`) and Graph's
//! `$filter` subset ([`portvakt_core::filter`]).
//!
//! `$filter` is evaluated over the records in memory; its date range (an
//! `activityDateTime` bound in a top-level `and`) also narrows the store query. A
//! filter that matches little may return a page shorter than `$top` (even an empty
//! one) with an `@odata.nextLink`, as Graph does: one request reads at most
//! [`MAX_SCAN`] records, and the client follows the link until there is none.

use super::auth::Admin;
use super::directory;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use portvakt_core::audit::DirectoryAudit;
use portvakt_core::filter::{self, Expr, Field, Log, Op, Value as FilterValue};
use portvakt_core::ErrorCode;
use portvakt_store::AuditQuery;
use serde::Serialize;
use utoipa::ToSchema;

/// Records per page unless `$top` says otherwise.
pub const DEFAULT_TOP: u32 = 50;
/// The most records one page returns.
pub const MAX_TOP: u32 = 1000;
/// The most records one request reads while looking for matches of a `$filter`.
pub const MAX_SCAN: usize = 5000;
/// Records read per store query while a `$filter` is applied.
const SCAN_CHUNK: u32 = 500;

/// A page of the audit log (Graph collection of `directoryAudit`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryAuditPage {
    /// The collection's metadata URL.
    #[serde(rename = "@odata.context")]
    pub context: String,
    /// The records, newest first.
    pub value: Vec<DirectoryAudit>,
    /// The next page, when there may be one (absent on the last page).
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// The request's parameters, checked.
#[derive(Debug, Default)]
struct Params {
    top: Option<u32>,
    skiptoken: Option<i64>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    correlation_id: Option<String>,
    filter: Option<Expr>,
    /// The parameters as sent, but `$skiptoken`, for the next link.
    echo: Vec<(String, String)>,
}

fn bad(param: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, format!("{param}: {why}"))
}

/// A point in time: RFC 3339 (`2026-12-01T09:00:00Z`), or a duration back from now
/// (`30m`, `1h`, `7d`, `90s`), as the sign-in log's `since`/`until` take.
fn instant(param: &str, v: &str, now_ms: i64) -> Result<i64, ApiError> {
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| bad(param, "is out of range"));
    }
    let ago = v
        .find(|c: char| !c.is_ascii_digit())
        .filter(|&i| i > 0)
        .and_then(|i| {
            let n: i64 = v[..i].parse().ok()?;
            let unit = match &v[i..] {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return None,
            };
            n.checked_mul(unit)
        })
        .ok_or_else(|| {
            bad(
                param,
                format!(
                    "'{}' is neither an RFC 3339 time (2026-12-01T09:00:00Z) nor a duration back from now (30m, 1h, 7d)",
                    v.escape_default()
                ),
            )
        })?;
    Ok(now_ms.saturating_sub(ago))
}

fn parse_params(raw: Option<&str>, now_ms: i64) -> Result<Params, ApiError> {
    let mut p = Params::default();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if seen.iter().any(|s| *s == k) {
            return Err(ApiError::new(
                ErrorCode::DuplicateParameter,
                format!("{k} was sent more than once; send it once"),
            ));
        }
        seen.push(k.to_string());
        match &*k {
            "$top" => {
                p.top = Some(
                    v.parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_TOP).contains(n))
                        .ok_or_else(|| bad("$top", format!("must be 1 to {MAX_TOP}")))?,
                )
            }
            "$skiptoken" => {
                p.skiptoken = Some(v.parse().map_err(|_| {
                    bad(
                        "$skiptoken",
                        "is not a token this server issued; take it from @odata.nextLink",
                    )
                })?)
            }
            "since" => p.since_ms = Some(instant("since", &v, now_ms)?),
            "until" => p.until_ms = Some(instant("until", &v, now_ms)?),
            "correlationId" => p.correlation_id = Some(v.to_string()),
            "$filter" => {
                p.filter = Some(
                    filter::parse(Log::DirectoryAudits, &v).map_err(|e| bad("$filter", e))?,
                )
            }
            other => {
                return Err(bad(
                    other,
                    "is not a parameter of this API (since, until, correlationId, $filter, $top, $skiptoken)",
                ))
            }
        }
        if k != "$skiptoken" {
            p.echo.push((k.to_string(), v.to_string()));
        }
    }
    Ok(p)
}

/// Narrow `[since, until)` by the `activityDateTime` bounds of a top-level `and` of
/// `e` (the store query then reads only that range; the whole filter still decides).
fn narrow(e: &Expr, since: &mut Option<i64>, until: &mut Option<i64>) {
    match e {
        Expr::And(a, b) => {
            narrow(a, since, until);
            narrow(b, since, until);
        }
        Expr::Cmp {
            field: Field::ActivityDateTime,
            op,
            value: FilterValue::DateTimeMs(t),
        } => {
            let t = *t;
            let mut at_least = |v: i64| *since = Some(since.map_or(v, |s| s.max(v)));
            match op {
                Op::Ge => at_least(t),
                Op::Gt => at_least(t.saturating_add(1)),
                Op::Eq => at_least(t),
                _ => {}
            }
            let mut below = |v: i64| *until = Some(until.map_or(v, |u| u.min(v)));
            match op {
                Op::Lt => below(t),
                Op::Le | Op::Eq => below(t.saturating_add(1)),
                _ => {}
            }
        }
        _ => {}
    }
}

/// A record's value of a filter field.
fn field_of(r: &DirectoryAudit, f: Field) -> FilterValue {
    let s = |v: &str| FilterValue::String(v.to_string());
    match f {
        Field::ActivityDateTime => time::OffsetDateTime::parse(
            &r.activity_date_time,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .map_or(FilterValue::Null, FilterValue::DateTimeMs),
        Field::ActivityDisplayName => s(&r.activity_display_name),
        Field::Category => s(&r.category),
        Field::Result => s(&r.result),
        Field::CorrelationId => s(&r.correlation_id),
        Field::Id => s(&r.id),
        Field::InitiatedByUserPrincipalName => r
            .initiated_by
            .user
            .as_ref()
            .map_or(FilterValue::Null, |u| s(&u.user_principal_name)),
        Field::InitiatedByAppId => r
            .initiated_by
            .app
            .as_ref()
            .map_or(FilterValue::Null, |a| s(&a.app_id)),
        _ => FilterValue::Null,
    }
}

fn matches(e: &Expr, r: &DirectoryAudit) -> bool {
    filter::matches_with_collections(e, &|f| field_of(r, f), &|f| match f {
        Field::TargetResourcesDisplayName => r
            .target_resources
            .iter()
            .map(|t| FilterValue::String(t.display_name.clone()))
            .collect(),
        _ => Vec::new(),
    })
}

/// Read one page: `top` records, or with a filter, the matches among at most
/// [`MAX_SCAN`] records; and the cursor after the last record looked at, if any.
async fn page(
    st: &AppState,
    mut q: AuditQuery,
    top: u32,
    filter: Option<&Expr>,
) -> Result<(Vec<DirectoryAudit>, Option<i64>), ApiError> {
    let Some(e) = filter else {
        q.limit = top;
        let p = st.store.audits(&q).await?;
        return Ok((p.records, p.next));
    };
    let mut found = Vec::new();
    let mut scanned = 0usize;
    loop {
        q.limit = SCAN_CHUNK;
        let p = st.store.audits(&q).await?;
        let n = p.records.len();
        for (i, r) in p.records.into_iter().enumerate() {
            if !matches(e, &r) {
                continue;
            }
            found.push(r);
            if found.len() == top as usize {
                // The page ends inside this chunk: the cursor after record `i` is
                // the next cursor of the same query limited to `i + 1` records.
                let next = if i + 1 == n {
                    p.next
                } else {
                    q.limit = (i + 1) as u32;
                    st.store.audits(&q).await?.next
                };
                return Ok((found, next));
            }
        }
        scanned += n;
        match p.next {
            None => return Ok((found, None)),
            Some(next) if scanned >= MAX_SCAN => return Ok((found, Some(next))),
            Some(next) => q.before = Some(next),
        }
    }
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/auditLogs/directoryAudits", tag = "audit logs", params(("tenant" = String, Path, description = "the tenant; 'system' holds tenant creation and imports"),
    ("since" = Option<String>, Query, description = "only records at or after: RFC 3339, or a duration back from now (30m, 1h, 7d)"),
    ("until" = Option<String>, Query, description = "only records before: RFC 3339, or a duration back from now"),
    ("correlationId" = Option<String>, Query, description = "only what one admin request did"),
    ("$filter" = Option<String>, Query, description = "Graph's $filter subset: activityDateTime, activityDisplayName, category, result, correlationId, id, initiatedBy/app/appId, initiatedBy/user/userPrincipalName, targetResources/any(t: t/displayName eq '…')"),
    ("$top" = Option<u32>, Query, description = "records per page, 1-1000 (default 50)"),
    ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")),
    responses((status = 200, description = "Graph collection of directoryAudit, newest first", body = DirectoryAuditPage), (status = 400, description = "a parameter is invalid"), (status = 404, description = "no such tenant")), security(("bearer" = [])))]
/// The tenant's audit log: every admin change, newest first (Graph `GET
/// /auditLogs/directoryAudits`).
pub async fn directory_audits(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DirectoryAuditPage>, ApiError> {
    let d = directory(&st, &tenant).await?;
    let p = parse_params(raw.as_deref(), st.clock.now_ms())?;
    let (mut since_ms, mut until_ms) = (p.since_ms, p.until_ms);
    if let Some(e) = &p.filter {
        narrow(e, &mut since_ms, &mut until_ms);
    }
    let q = AuditQuery {
        tenant: d.tenant.name.clone(),
        since_ms,
        until_ms,
        correlation_id: p.correlation_id.clone(),
        before: p.skiptoken,
        limit: 0,
    };
    let (value, next) = page(&st, q, p.top.unwrap_or(DEFAULT_TOP), p.filter.as_ref()).await?;
    // Tenant names are a-z, 0-9 and '-': nothing to encode.
    let base = format!(
        "{}/admin/v1/tenants/{}/auditLogs/directoryAudits",
        st.config.public_url, d.tenant.name
    );
    let next_link = next.map(|n| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &p.echo {
            ser.append_pair(k, v);
        }
        ser.append_pair("$skiptoken", &n.to_string());
        format!("{base}?{}", ser.finish())
    });
    Ok(Json(DirectoryAuditPage {
        context: format!("{base}/$metadata#auditLogs/directoryAudits"),
        value,
        next_link,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_and_until_take_rfc_3339_or_a_duration() {
        let now = 1_800_000_000_000;
        assert_eq!(
            instant("since", "2026-12-01T09:00:00Z", now).ok(),
            Some(1_796_115_600_000)
        );
        assert_eq!(instant("since", "1h", now).ok(), Some(now - 3_600_000));
        assert_eq!(instant("since", "7d", now).ok(), Some(now - 7 * 86_400_000));
        for wrong in ["", "h", "1w", "yesterday", "-1h"] {
            assert!(instant("since", wrong, now).is_err(), "{wrong}");
        }
    }

    #[test]
    fn parameters_are_strict() {
        let p = parse_params(Some("%24top=5&since=1h&correlationId=abc"), 0).expect("ok");
        assert_eq!(p.top, Some(5));
        assert_eq!(p.correlation_id.as_deref(), Some("abc"));
        for wrong in [
            "$top=0",
            "$top=1001",
            "$skiptoken=x",
            "$orderby=id",
            "$top=1&$top=2",
        ] {
            assert!(parse_params(Some(wrong), 0).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_filter_narrows_the_range_of_its_top_level_and() {
        let e = filter::parse(
            Log::DirectoryAudits,
            "activityDateTime ge 2026-12-01T00:00:00Z and result eq 'failure' and activityDateTime lt 2026-12-02T00:00:00Z",
        )
        .expect("parses");
        let (mut s, mut u) = (None, None);
        narrow(&e, &mut s, &mut u);
        assert_eq!((s, u), (Some(1_796_083_200_000), Some(1_796_169_600_000)));
        // Under an `or`, nothing can be narrowed.
        let e = filter::parse(
            Log::DirectoryAudits,
            "activityDateTime ge 2026-12-01T00:00:00Z or result eq 'failure'",
        )
        .expect("parses");
        let (mut s, mut u) = (None, None);
        narrow(&e, &mut s, &mut u);
        assert_eq!((s, u), (None, None));
    }
}
