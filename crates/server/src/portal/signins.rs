//! The sign-in log in the portal: the filtered table with cursor paging and
//! downloads, and one record in tabs like Entra's, Troubleshoot included.

use super::render::{self, Ui};
use super::session::PortalAdmin;
use super::Frame;
use crate::admin::signins::{query_from, MAX_TOP};
use crate::logs::diagnose::{diagnose, Diagnosis, Question};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;

/// Records per page.
pub const PAGE: u32 = 50;
/// Records in one download at most.
pub const DOWNLOAD_MAX: usize = 50_000;

/// The filters of the page, as the form sends them.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `1h`, `24h`, `7d`, `30d`.
    pub range: String,
    pub user: String,
    pub app: String,
    /// `success`, `failure`, `interrupted` or empty.
    pub status: String,
    /// `success`, `failure`, `notApplied` or empty.
    pub ca: String,
    pub code: String,
    pub cid: String,
}

impl Filters {
    fn from(q: &HashMap<String, String>) -> Self {
        let g = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        let range = match g("range").as_str() {
            r @ ("1h" | "24h" | "7d" | "30d") => r.to_string(),
            _ => "24h".into(),
        };
        Filters {
            range,
            user: g("user"),
            app: g("app"),
            status: g("status"),
            ca: g("ca"),
            code: g("code"),
            cid: g("cid"),
        }
    }

    /// The admin API's parameters for these filters.
    fn api_params(&self) -> HashMap<String, String> {
        let mut p = HashMap::new();
        p.insert("since".to_string(), self.range.clone());
        for (k, v) in [
            ("user", &self.user),
            ("app", &self.app),
            ("status", &self.status),
            ("conditionalAccessStatus", &self.ca),
            ("errorCode", &self.code),
            ("correlationId", &self.cid),
        ] {
            if !v.is_empty() {
                p.insert(k.to_string(), v.clone());
            }
        }
        p
    }

    /// The query string of these filters (for paging and download links).
    pub fn query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("range", &self.range);
        for (k, v) in [
            ("user", &self.user),
            ("app", &self.app),
            ("status", &self.status),
            ("ca", &self.ca),
            ("code", &self.code),
            ("cid", &self.cid),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }
}

/// One row of the table.
pub struct Row {
    pub id: String,
    pub time: String,
    pub user: String,
    pub app: String,
    pub status: String,
    pub status_key: String,
    pub code: String,
    pub ip: String,
    pub ca: String,
    pub interactive: bool,
    pub cid: String,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// `2026-12-01T10:28:55.123Z` → `2026-12-01 10:28:55`.
pub fn short_time(t: &str) -> String {
    t.get(..19).unwrap_or(t).replace('T', " ")
}

fn row(r: &Value, ui: &Ui) -> Row {
    let key = s(r, "portvaktStatus");
    let status = match key.as_str() {
        "success" => ui.t.success,
        "failure" => ui.t.failure,
        _ => ui.t.interrupted,
    }
    .to_string();
    let app = match (r["appDisplayName"].as_str(), r["appId"].as_str()) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(id)) => id.to_string(),
        _ => String::new(),
    };
    Row {
        id: s(r, "id"),
        time: short_time(&s(r, "createdDateTime")),
        user: s(r, "userPrincipalName"),
        app,
        status,
        status_key: key,
        code: r["errorCodeName"].as_str().unwrap_or("").to_string(),
        ip: s(r, "ipAddress"),
        ca: ui.t.result(&s(r, "conditionalAccessStatus")),
        interactive: r["isInteractive"] == true,
        cid: s(r, "correlationId"),
    }
}

#[derive(Template)]
#[template(path = "portal/signins.html")]
struct ListPage<'a> {
    f: Frame<'a>,
    filters: Filters,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    download: String,
    error: Option<String>,
}

/// `GET /portal/{tenant}/signins`: the filtered table, newest first.
pub async fn list(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(_tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let filters = Filters::from(&q);
    let mut params = filters.api_params();
    params.insert("$top".into(), PAGE.to_string());
    if let Some(skip) = q.get("skip").filter(|s| !s.is_empty()) {
        params.insert("$skiptoken".into(), skip.clone());
    }
    let ui = admin.ui;
    let mut error = None;
    let mut rows = vec![];
    let mut next = None;
    match query_from(&admin.tenant_id, &params, st.clock.now_ms()) {
        Err(e) => error = Some(e.detail),
        Ok(query) => match st.store.signins(&query, false).await {
            Err(e) => error = Some(e.to_string()),
            Ok(page) => {
                rows = page.rows.iter().map(|r| row(&r.expand(), &ui)).collect();
                next = page.next.map(|n| format!("?{}&skip={n}", filters.query()));
            }
        },
    }
    let first = q
        .contains_key("skip")
        .then(|| format!("?{}", filters.query()));
    let download = filters.query();
    let lang_q = format!("{}&lang={}", filters.query(), ui.other().tag());
    let page = ListPage {
        f: Frame::new(&admin, "signins", &lang_q),
        filters,
        rows,
        next,
        first,
        download,
        error,
    };
    let mut res = render::page(StatusCode::OK, &ui, &page);
    super::touch(&mut res, &admin);
    res
}

/// `GET /portal/{tenant}/signins.csv`: the filtered set as CSV.
pub async fn download_csv(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    download(admin, st, q, true).await
}

/// `GET /portal/{tenant}/signins.json`: the filtered set as a Graph collection.
pub async fn download_json(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    download(admin, st, q, false).await
}

/// The filtered set (newest first, at most [`DOWNLOAD_MAX`] records).
async fn download(
    admin: PortalAdmin,
    st: AppState,
    q: HashMap<String, String>,
    csv: bool,
) -> Response {
    let filters = Filters::from(&q);
    let mut params = filters.api_params();
    params.insert("$top".into(), MAX_TOP.to_string());
    let mut query = match query_from(&admin.tenant_id, &params, st.clock.now_ms()) {
        Ok(q) => q,
        Err(e) => {
            return render::problem(
                &st,
                &admin.ui,
                StatusCode::BAD_REQUEST,
                admin.ui.t.filter,
                &e.detail,
                &admin.correlation_id,
            )
        }
    };
    let mut records: Vec<Value> = vec![];
    loop {
        let page = match st.store.signins(&query, false).await {
            Ok(p) => p,
            Err(e) => {
                return render::problem(
                    &st,
                    &admin.ui,
                    StatusCode::SERVICE_UNAVAILABLE,
                    admin.ui.t.signins,
                    &e.to_string(),
                    &admin.correlation_id,
                )
            }
        };
        records.extend(page.rows.iter().map(|r| r.expand()));
        match page.next {
            Some(n) if records.len() < DOWNLOAD_MAX => query.before_seq = Some(n),
            _ => break,
        }
    }
    records.truncate(DOWNLOAD_MAX);
    let (body, kind, name) = if csv {
        (to_csv(&records), "text/csv; charset=utf-8", "signins.csv")
    } else {
        (
            serde_json::to_string(&serde_json::json!({"value": records})).unwrap_or_default(),
            "application/json",
            "signins.json",
        )
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    render::secure_headers(h);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}-{name}\"", admin.tenant))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn csv_field(s: &str) -> String {
    // A leading = + - @ would be read as a formula by spreadsheets (CSV injection):
    // quote it behind an apostrophe.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The records as CSV with the table's columns and the failure reason.
pub fn to_csv(records: &[Value]) -> String {
    let mut out = String::from("time,user,app,status,errorCode,ipAddress,conditionalAccessStatus,interactive,correlationId,failureReason\r\n");
    for r in records {
        let fields = [
            s(r, "createdDateTime"),
            s(r, "userPrincipalName"),
            s(r, "appId"),
            s(r, "portvaktStatus"),
            r["errorCodeName"].as_str().unwrap_or("").to_string(),
            s(r, "ipAddress"),
            s(r, "conditionalAccessStatus"),
            (r["isInteractive"] == true).to_string(),
            s(r, "correlationId"),
            r["status"]["failureReason"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// One line of a detail tab.
pub struct Field {
    pub label: &'static str,
    pub value: String,
}

/// One policy on the Conditional Access tabs.
pub struct PolicyLine {
    pub name: String,
    pub id: String,
    pub result: String,
    pub failed: bool,
    pub grant: String,
    pub session: String,
    pub matched: String,
    pub unmatched: String,
    pub reason: String,
}

/// One authentication step.
pub struct StepLine {
    pub time: String,
    pub method: String,
    pub succeeded: bool,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct DetailPage<'a> {
    f: Frame<'a>,
    id: String,
    tab: String,
    tabs: Vec<(&'static str, &'static str)>,
    title: String,
    fields: Vec<Field>,
    steps: Vec<StepLine>,
    policies: Vec<PolicyLine>,
    empty: &'static str,
    diagnosis: Option<Diagnosis>,
    /// The diagnosis's fixes, split at backticks into text and code.
    fix_spans: Vec<Vec<crate::errors_page::Span>>,
    error_uri: Option<String>,
}

fn list_of(v: &Value) -> String {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.replace(',', ", "),
        _ => String::new(),
    }
}

/// `GET /portal/{tenant}/signins/{id}?tab=…`: one record (by id or correlation id).
pub async fn detail(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ui = admin.ui;
    let t = ui.t;
    let record = crate::logs::find_signin(&st, &admin.tenant_id, &id)
        .await
        .ok()
        .flatten()
        .map(|r| r.expand());
    let Some(r) = record else {
        return render::problem(
            &st,
            &ui,
            StatusCode::NOT_FOUND,
            t.not_found,
            t.not_found_text,
            &admin.correlation_id,
        );
    };
    let tabs = vec![
        ("basic", t.tab_basic),
        ("location", t.tab_location),
        ("auth", t.tab_auth),
        ("ca", t.tab_ca),
        ("report-only", t.tab_report_only),
        ("troubleshoot", t.tab_troubleshoot),
    ];
    let tab = q
        .get("tab")
        .filter(|x| tabs.iter().any(|(k, _)| k == x))
        .cloned()
        .unwrap_or_else(|| "basic".into());
    let row = row(&r, &ui);
    let mut fields = vec![];
    let mut steps = vec![];
    let mut policies = vec![];
    let mut empty = "";
    let mut diagnosis = None;
    let f = |label, value: String| Field { label, value };
    match tab.as_str() {
        "basic" => {
            fields = vec![
                f(t.date, s(&r, "createdDateTime")),
                f(t.record_id, row.id.clone()),
                f(t.correlation_id, row.cid.clone()),
                f(t.status, row.status.clone()),
                f(
                    t.error_code,
                    format!("{} {}", r["status"]["errorCode"], row.code)
                        .trim()
                        .to_string(),
                ),
                f(
                    t.failure_reason,
                    r["status"]["failureReason"].as_str().unwrap_or("").into(),
                ),
                f(
                    t.additional_details,
                    r["status"]["additionalDetails"]
                        .as_str()
                        .unwrap_or("")
                        .into(),
                ),
                f(
                    t.user,
                    format!(
                        "{} {}",
                        row.user,
                        r["userId"]
                            .as_str()
                            .map(|u| format!("({u})"))
                            .unwrap_or_default()
                    )
                    .trim()
                    .to_string(),
                ),
                f(t.application, format!("{} ({})", row.app, s(&r, "appId"))),
                f(
                    t.resource,
                    format!("{} {}", s(&r, "resourceDisplayName"), s(&r, "resourceId"))
                        .trim()
                        .to_string(),
                ),
                f(t.client_app, s(&r, "clientAppUsed")),
                f(t.protocol, s(&r, "authenticationProtocol")),
                f(t.event_types, list_of(&r["signInEventTypes"])),
                f(
                    t.interactive,
                    if row.interactive { t.yes } else { t.no }.into(),
                ),
                f(
                    t.processing_time,
                    r["processingTimeInMilliseconds"].to_string(),
                ),
                f(t.token_id, s(&r, "tokenId")),
            ];
        }
        "location" => {
            fields = vec![
                f(t.ip_address, row.ip.clone()),
                f(t.location, list_of(&r["location"]["namedLocations"])),
                f(
                    t.trusted,
                    if r["location"]["isTrusted"] == true {
                        t.yes
                    } else {
                        t.no
                    }
                    .into(),
                ),
                f(t.operating_system, s(&r["deviceDetail"], "operatingSystem")),
                f(t.browser, s(&r["deviceDetail"], "browser")),
                f(t.user_agent, s(&r, "userAgent")),
            ];
        }
        "auth" => {
            fields = vec![f(t.auth_requirement, s(&r, "authenticationRequirement"))];
            steps = r["authenticationDetails"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| StepLine {
                    time: short_time(&s(d, "authenticationStepDateTime")),
                    method: s(d, "authenticationMethod"),
                    succeeded: d["succeeded"] == true,
                    detail: s(d, "authenticationStepResultDetail"),
                })
                .collect();
        }
        "ca" | "report-only" => {
            let report = tab == "report-only";
            fields = vec![f(t.ca_status, row.ca.clone())];
            policies = r["appliedConditionalAccessPolicies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["result"].as_str().unwrap_or("").starts_with("reportOnly") == report)
                .map(|p| PolicyLine {
                    name: s(p, "displayName"),
                    id: s(p, "id"),
                    result: t.result(&s(p, "result")),
                    failed: matches!(
                        p["result"].as_str(),
                        Some("failure" | "reportOnlyFailure" | "reportOnlyInterrupted")
                    ),
                    grant: list_of(&p["enforcedGrantControls"]),
                    session: list_of(&p["enforcedSessionControls"]),
                    matched: list_of(&p["conditionsSatisfied"]),
                    unmatched: list_of(&p["conditionsNotSatisfied"]),
                    reason: s(p, "reason"),
                })
                .collect();
            empty = if report {
                t.no_report_only
            } else {
                t.no_policies
            };
        }
        _ => {
            let q = Question {
                correlation_id: Some(row.cid.clone()),
                ..Default::default()
            };
            match diagnose(&st, &tenant, &q).await {
                Ok(d) => diagnosis = Some(d),
                Err(e) => fields = vec![f(t.cause, format!("{}: {}", e.code.code(), e.detail))],
            }
        }
    }
    let error_uri = (!row.code.is_empty()).then(|| {
        format!(
            "{}/errors/{}?correlation_id={}",
            st.config.public_url, row.code, row.cid
        )
    });
    let fix_spans = diagnosis
        .as_ref()
        .map(|d| d.fix.iter().map(|x| crate::errors_page::spans(x)).collect())
        .unwrap_or_default();
    let lang_q = format!("tab={tab}&lang={}", ui.other().tag());
    let page = DetailPage {
        f: Frame::new(&admin, "signins", &lang_q),
        id: row.id.clone(),
        tab,
        tabs,
        title: format!(
            "{} · {} · {}",
            row.time,
            if row.user.is_empty() {
                &row.app
            } else {
                &row.user
            },
            row.status
        ),
        fields,
        steps,
        policies,
        empty,
        diagnosis,
        fix_spans,
        error_uri,
    };
    let mut res = render::page(StatusCode::OK, &ui, &page);
    super::touch(&mut res, &admin);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn filters_round_trip_through_the_query_and_default_to_a_day() {
        let mut q = HashMap::new();
        q.insert("user".to_string(), " kim@contoso.example ".to_string());
        q.insert("range".to_string(), "1y".to_string());
        let f = Filters::from(&q);
        assert_eq!(f.range, "24h");
        assert_eq!(f.query(), "range=24h&user=kim%40contoso.example");
        assert_eq!(
            f.api_params().get("user").map(String::as_str),
            Some("kim@contoso.example")
        );
    }
}
