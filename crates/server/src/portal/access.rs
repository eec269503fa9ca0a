//! What-If and replay in the portal: what the policies decide for a sign-in one
//! describes, and what a changed or draft policy would have done to the sign-ins
//! already in the log — whom it would have blocked or asked for MFA.

use super::render::{self, Ui};
use super::session::PortalAdmin;
use super::Frame;
use crate::admin::replay::ReplayBody;
use crate::logs::replay::{Change, Replay};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One policy in the What-If result.
pub struct WhatIfRow {
    pub name: String,
    pub state: &'static str,
    pub applies: bool,
    pub result: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "portal/whatif.html")]
struct WhatIfPage<'a> {
    f: Frame<'a>,
    apps: Vec<(String, String)>,
    q: HashMap<String, String>,
    platforms: &'static [&'static str],
    client_types: &'static [&'static str],
    decision: Option<String>,
    rows: Vec<WhatIfRow>,
    error: Option<String>,
}

impl WhatIfPage<'_> {
    /// A value of the form as sent (the template's fields).
    fn v(&self, k: &str) -> &str {
        get(&self.q, k)
    }
}

fn get<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map(|s| s.trim()).unwrap_or("")
}

/// The Graph `evaluate` body of the form.
pub fn what_if_body(q: &HashMap<String, String>) -> Value {
    let mut cond = json!({});
    for (field, key) in [
        ("ipAddress", "ip"),
        ("devicePlatform", "platform"),
        ("clientAppType", "client"),
    ] {
        let v = get(q, key);
        if !v.is_empty() {
            cond[field] = json!(v);
        }
    }
    if get(q, "flow") == "deviceCodeFlow" {
        cond["authenticationFlow"] = json!({"transferMethod": "deviceCodeFlow"});
    }
    json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": get(q, "user")},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [get(q, "app")]},
        "signInConditions": cond,
        "appliedPoliciesOnly": false,
    })
}

fn state_label(ui: &Ui, s: &str) -> &'static str {
    match s {
        "enabled" => ui.t.state_enabled,
        "disabled" => ui.t.state_disabled,
        _ => ui.t.state_report_only,
    }
}

/// `GET /portal/{tenant}/whatif`: the form, and with `user` and `app` the result.
pub async fn what_if(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ui = admin.ui;
    let apps = match crate::admin::directory(&st, &tenant).await {
        Ok(d) => d
            .applications
            .iter()
            .map(|a| (a.client_id.clone(), a.display_name.clone()))
            .collect(),
        Err(_) => vec![],
    };
    let (mut decision, mut rows, mut error) = (None, vec![], None);
    if !get(&q, "user").is_empty() && !get(&q, "app").is_empty() {
        match crate::admin::conditional_access::evaluate_value(&st, &tenant, what_if_body(&q)).await
        {
            Err(e) => error = Some(format!("{}: {}", e.code.code(), e.detail)),
            Ok(v) => {
                decision = v["portvakt"]["decision"]["type"]
                    .as_str()
                    .map(str::to_string);
                let reasons: HashMap<String, (String, String)> = v["portvakt"]["reasons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        (
                            r["id"].as_str().unwrap_or("").to_string(),
                            (
                                r["result"].as_str().unwrap_or("").to_string(),
                                r["reason"].as_str().unwrap_or("").to_string(),
                            ),
                        )
                    })
                    .collect();
                rows = v["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let id = p["id"].as_str().unwrap_or("");
                        let (result, reason) = reasons.get(id).cloned().unwrap_or_default();
                        WhatIfRow {
                            name: p["displayName"].as_str().unwrap_or("").to_string(),
                            state: state_label(&ui, p["state"].as_str().unwrap_or("")),
                            applies: p["policyApplies"] == true,
                            result,
                            reason: if reason.is_empty() {
                                p["analysisReasons"].as_str().unwrap_or("").to_string()
                            } else {
                                reason
                            },
                        }
                    })
                    .collect();
            }
        }
    }
    let mut lang_q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q {
        if k != "lang" {
            lang_q.append_pair(k, v);
        }
    }
    lang_q.append_pair("lang", ui.other().tag());
    let lang_q = lang_q.finish();
    let page = WhatIfPage {
        f: Frame::new(&admin, "whatif", &lang_q),
        apps,
        q,
        platforms: &["", "android", "iOS", "windows", "macOS", "linux"],
        client_types: &[
            "",
            "browser",
            "mobileAppsAndDesktopClients",
            "exchangeActiveSync",
            "other",
        ],
        decision,
        rows,
        error,
    };
    let mut res = render::page(StatusCode::OK, &ui, &page);
    super::touch(&mut res, &admin);
    res
}

/// One kind of change in a replay, for the page.
pub struct ChangeView<'a> {
    pub label: &'static str,
    pub change: &'a Change,
}

#[derive(Template)]
#[template(path = "portal/replay.html")]
struct ReplayPage<'a> {
    f: Frame<'a>,
    policies: Vec<(String, String)>,
    states: Vec<(&'static str, &'static str)>,
    policy: String,
    state: String,
    since: String,
    draft: String,
    result: Option<Replay>,
    error: Option<String>,
}

impl ReplayPage<'_> {
    fn changes(&self) -> Vec<ChangeView<'_>> {
        let t = self.f.ui.t;
        match &self.result {
            None => vec![],
            Some(r) => vec![
                ChangeView {
                    label: t.replay_newly_blocked,
                    change: &r.newly_blocked,
                },
                ChangeView {
                    label: t.replay_newly_mfa,
                    change: &r.newly_mfa,
                },
                ChangeView {
                    label: t.replay_newly_interaction,
                    change: &r.newly_interaction,
                },
                ChangeView {
                    label: t.replay_no_longer,
                    change: &r.no_longer_affected,
                },
            ],
        }
    }
}

fn since_of(s: &str) -> String {
    match s {
        "1d" | "7d" | "30d" => s.to_string(),
        _ => "30d".into(),
    }
}

async fn replay_page(
    admin: &PortalAdmin,
    st: &AppState,
    tenant: &str,
    policy: String,
    state: String,
    since: String,
    draft: String,
) -> Response {
    let ui = admin.ui;
    let d = crate::admin::directory(st, tenant).await.ok();
    let policies = d
        .as_ref()
        .map(|d| {
            d.policies
                .iter()
                .map(|p| (p.id.clone(), p.display_name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (mut result, mut error) = (None, None);
    let draft_policies: Option<Vec<Value>> = if draft.trim().is_empty() {
        Some(vec![])
    } else {
        match serde_json::from_str::<Value>(&draft) {
            Ok(Value::Array(a)) => Some(a),
            Ok(v @ Value::Object(_)) => Some(match v.get("value") {
                Some(Value::Array(a)) => a.clone(),
                _ => vec![v],
            }),
            Ok(_) => {
                error = Some("the draft must be a policy (a JSON object), an array of them or a Graph collection".into());
                None
            }
            Err(e) => {
                error = Some(format!(
                    "the draft is not JSON: line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ));
                None
            }
        }
    };
    if let Some(drafts) = draft_policies {
        if !policy.is_empty() || !drafts.is_empty() {
            let body = ReplayBody {
                policies: drafts,
                policy_id: (!policy.is_empty()).then(|| policy.clone()),
                state: Some(state.clone()),
                since: Some(since.clone()),
                examples: Some(20),
            };
            match crate::admin::replay::run(st, tenant, &body).await {
                Ok(r) => result = Some(r),
                Err(e) => error = Some(format!("{}: {}", e.code.code(), e.detail)),
            }
        }
    }
    let states = super::policies::STATES
        .iter()
        .map(|s| (*s, state_label(&ui, s)))
        .collect();
    let lang_q = format!(
        "policy={policy}&state={state}&since={since}&lang={}",
        ui.other().tag()
    );
    let page = ReplayPage {
        f: Frame::new(admin, "replay", &lang_q),
        policies,
        states,
        policy,
        state,
        since,
        draft,
        result,
        error,
    };
    let mut res = render::page(StatusCode::OK, &ui, &page);
    super::touch(&mut res, admin);
    res
}

/// `GET /portal/{tenant}/replay?policy=ID&state=…&since=30d`: a stored policy in
/// another state, replayed over the log (reads only).
pub async fn replay_get(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let state = q
        .get("state")
        .filter(|s| super::policies::STATES.contains(&s.as_str()))
        .cloned()
        .unwrap_or_else(|| "enabled".into());
    replay_page(
        &admin,
        &st,
        &tenant,
        get(&q, "policy").to_string(),
        state,
        since_of(get(&q, "since")),
        String::new(),
    )
    .await
}

/// `POST /portal/{tenant}/replay` (`csrf`, `draft`: Graph JSON, `state`, `since`): a
/// draft policy replayed over the log. Nothing is written.
pub async fn replay_post(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let state = form
        .get("state")
        .filter(|s| super::policies::STATES.contains(&s.as_str()))
        .cloned()
        .unwrap_or_else(|| "enabled".into());
    replay_page(
        &admin,
        &st,
        &tenant,
        get(&form, "policy").to_string(),
        state,
        since_of(get(&form, "since")),
        get(&form, "draft").to_string(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_what_if_form_becomes_graphs_evaluate_body() {
        let q: HashMap<String, String> = [
            ("user", "kim@contoso.example"),
            ("app", "spa"),
            ("ip", "10.1.2.3"),
            ("platform", ""),
            ("flow", "deviceCodeFlow"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let b = what_if_body(&q);
        assert_eq!(b["signInIdentity"]["userId"], "kim@contoso.example");
        assert_eq!(b["signInContext"]["includeApplications"], json!(["spa"]));
        assert_eq!(
            b["signInConditions"],
            json!({"ipAddress": "10.1.2.3", "authenticationFlow": {"transferMethod": "deviceCodeFlow"}})
        );
    }
}
