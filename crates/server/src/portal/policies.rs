//! Conditional Access in the portal: the policies with their state, and the switch
//! between on, off and report-only (through the admin API's own patch, so it is
//! validated and audited the same way).

use super::render;
use super::session::PortalAdmin;
use super::Frame;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The states a policy can be switched to (Graph `conditionalAccessPolicyState`).
pub const STATES: [&str; 3] = ["enabled", "disabled", "enabledForReportingButNotEnforced"];

/// One policy in the list.
pub struct PolicyRow {
    pub id: String,
    pub name: String,
    pub state: String,
    pub state_label: &'static str,
    pub grant: String,
    pub session: String,
    pub modified: String,
}

#[derive(Template)]
#[template(path = "portal/policies.html")]
struct ListPage<'a> {
    f: Frame<'a>,
    rows: Vec<PolicyRow>,
    states: Vec<(&'static str, &'static str)>,
    changed: bool,
}

fn state_label(ui: &render::Ui, s: &str) -> &'static str {
    match s {
        "enabled" => ui.t.state_enabled,
        "disabled" => ui.t.state_disabled,
        _ => ui.t.state_report_only,
    }
}

/// `GET /portal/{tenant}/policies`.
pub async fn list(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ui = admin.ui;
    let d = match crate::admin::directory(&st, &tenant).await {
        Ok(d) => d,
        Err(e) => {
            return render::problem(
                &st,
                &ui,
                StatusCode::SERVICE_UNAVAILABLE,
                ui.t.policies,
                &e.detail,
                &admin.correlation_id,
            )
        }
    };
    let rows = d
        .policies
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&p.json).unwrap_or(Value::Null);
            let state = v["state"].as_str().unwrap_or("").to_string();
            let strs = |x: &Value| {
                x.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            let session = v["sessionControls"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(_, c)| !c.is_null())
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            PolicyRow {
                id: p.id.clone(),
                name: p.display_name.clone(),
                state_label: state_label(&ui, &state),
                state,
                grant: strs(&v["grantControls"]["builtInControls"]),
                session,
                modified: super::signins::short_time(v["modifiedDateTime"].as_str().unwrap_or("")),
            }
        })
        .collect();
    let states = STATES.iter().map(|s| (*s, state_label(&ui, s))).collect();
    let lang_q = format!("lang={}", ui.other().tag());
    let page = ListPage {
        f: Frame::new(&admin, "policies", &lang_q),
        rows,
        states,
        changed: q.contains_key("changed"),
    };
    let mut res = render::page(StatusCode::OK, &ui, &page);
    super::touch(&mut res, &admin);
    res
}

/// `POST /portal/{tenant}/policies/{id}/state` (`csrf`, `state`).
pub async fn set_state(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ui = admin.ui;
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &ui, &admin.correlation_id);
    }
    let state = form.get("state").map(String::as_str).unwrap_or("");
    if !STATES.contains(&state) {
        return render::problem(
            &st,
            &ui,
            StatusCode::BAD_REQUEST,
            ui.t.policy_state,
            "state: enabled, disabled or enabledForReportingButNotEnforced",
            &admin.correlation_id,
        );
    }
    match crate::admin::conditional_access::patch_policy(
        &st,
        &admin.as_admin(),
        &tenant,
        &id,
        json!({"state": state}),
    )
    .await
    {
        Ok(_) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            let h = res.headers_mut();
            render::secure_headers(h);
            if let Ok(v) = HeaderValue::from_str(&format!("/portal/{tenant}/policies?changed=1")) {
                h.insert(header::LOCATION, v);
            }
            super::touch(&mut res, &admin);
            res
        }
        Err(e) => render::refusal(
            &st,
            &ui,
            &tenant,
            Some(e.code),
            &e.detail,
            &admin.correlation_id,
        ),
    }
}
