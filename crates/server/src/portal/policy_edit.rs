//! Creating and editing a Conditional Access policy in the portal: a form for the
//! common fields over the raw Graph JSON for the rest, validated by the admin API's
//! own functions (an error names its JSON path), and the export and import of the
//! tenant's policies as Entra tools write them.

use super::render;
use super::session::PortalAdmin;
use super::Frame;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The grant controls the form offers (Graph `builtInControls`).
pub const CONTROLS: [&str; 3] = ["block", "mfa", "passwordChange"];

#[derive(Template)]
#[template(path = "portal/policy.html")]
struct EditPage<'a> {
    f: Frame<'a>,
    id: Option<String>,
    name: String,
    state: String,
    include_users: String,
    exclude_users: String,
    include_apps: String,
    controls: Vec<(&'static str, bool)>,
    states: Vec<(&'static str, &'static str)>,
    json: String,
    error: Option<String>,
}

fn strs(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn list(s: &str) -> Value {
    Value::Array(
        s.split([',', '\n'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| json!(x))
            .collect(),
    )
}

/// A new policy's starting JSON: report-only, so that saving a draft blocks no one.
fn template_policy() -> Value {
    json!({
        "displayName": "",
        "state": "enabledForReportingButNotEnforced",
        "conditions": {
            "users": {"includeUsers": ["All"], "excludeUsers": []},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["all"]
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    })
}

fn page<'a>(
    admin: &'a PortalAdmin,
    id: Option<String>,
    v: &Value,
    json_text: String,
    error: Option<String>,
) -> EditPage<'a> {
    let ui = admin.ui;
    let controls: Vec<&str> = v["grantControls"]["builtInControls"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    EditPage {
        f: Frame::new(admin, "policies", &format!("lang={}", ui.other().tag())),
        id,
        name: v["displayName"].as_str().unwrap_or("").to_string(),
        state: v["state"].as_str().unwrap_or("").to_string(),
        include_users: strs(&v["conditions"]["users"]["includeUsers"]),
        exclude_users: strs(&v["conditions"]["users"]["excludeUsers"]),
        include_apps: strs(&v["conditions"]["applications"]["includeApplications"]),
        controls: CONTROLS
            .iter()
            .map(|c| (*c, controls.contains(c)))
            .collect(),
        states: super::policies::STATES
            .iter()
            .map(|s| {
                (
                    *s,
                    match *s {
                        "enabled" => ui.t.state_enabled,
                        "disabled" => ui.t.state_disabled,
                        _ => ui.t.state_report_only,
                    },
                )
            })
            .collect(),
        json: json_text,
        error,
    }
}

fn show(admin: &PortalAdmin, status: StatusCode, p: &EditPage<'_>) -> Response {
    let mut res = render::page(status, &admin.ui, p);
    super::touch(&mut res, admin);
    res
}

/// `GET /portal/{tenant}/policies/new`.
pub async fn new_form(admin: PortalAdmin) -> Response {
    let v = template_policy();
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    show(&admin, StatusCode::OK, &page(&admin, None, &v, text, None))
}

/// `GET /portal/{tenant}/policies/{id}`.
pub async fn edit_form(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    let d = match crate::admin::directory(&st, &tenant).await {
        Ok(d) => d,
        Err(e) => {
            return render::problem(
                &st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.policies,
                &e.detail,
                &admin.correlation_id,
            )
        }
    };
    let Some(p) = d.policies.iter().find(|p| p.id == id) else {
        return render::problem(
            &st,
            &admin.ui,
            StatusCode::NOT_FOUND,
            admin.ui.t.not_found,
            &id,
            &admin.correlation_id,
        );
    };
    let v: Value = serde_json::from_str(&p.json).unwrap_or(Value::Null);
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    show(
        &admin,
        StatusCode::OK,
        &page(&admin, Some(id), &v, text, None),
    )
}

/// The policy the form describes: its JSON, with the common fields written over it.
pub fn from_form(form: &HashMap<String, String>) -> Result<Value, String> {
    let text = form.get("json").map(String::as_str).unwrap_or("{}");
    let mut v: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "the JSON is invalid at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    if !v.is_object() {
        return Err("$: a policy is a JSON object".into());
    }
    let g = |k: &str| form.get(k).map(|s| s.trim().to_string());
    if let Some(name) = g("displayName") {
        v["displayName"] = json!(name);
    }
    if let Some(state) = g("state") {
        v["state"] = json!(state);
    }
    let ensure = |v: &mut Value, path: &[&str]| {
        let mut cur = v;
        for k in path {
            if !cur.get(*k).is_some_and(Value::is_object) {
                cur[*k] = Value::Object(Map::new());
            }
            cur = &mut cur[*k];
        }
    };
    if let Some(u) = g("includeUsers") {
        ensure(&mut v, &["conditions", "users"]);
        v["conditions"]["users"]["includeUsers"] = list(&u);
    }
    if let Some(u) = g("excludeUsers") {
        ensure(&mut v, &["conditions", "users"]);
        v["conditions"]["users"]["excludeUsers"] = list(&u);
    }
    if let Some(a) = g("includeApplications") {
        ensure(&mut v, &["conditions", "applications"]);
        v["conditions"]["applications"]["includeApplications"] = list(&a);
    }
    if form.contains_key("controls_given") {
        let chosen: Vec<Value> = CONTROLS
            .iter()
            .filter(|c| form.contains_key(&format!("control_{c}")))
            .map(|c| json!(c))
            .collect();
        if chosen.is_empty() {
            if v["sessionControls"].is_object() {
                v["grantControls"] = Value::Null;
            } else {
                return Err(
                    "$.grantControls: choose a grant control (or give sessionControls in the JSON)"
                        .into(),
                );
            }
        } else {
            ensure(&mut v, &["grantControls"]);
            v["grantControls"]["builtInControls"] = Value::Array(chosen);
            if v["grantControls"]["operator"].is_null() {
                v["grantControls"]["operator"] = json!("OR");
            }
        }
    }
    Ok(v)
}

/// The JSON merge patch (RFC 7396) that turns `old` into `new`: changed members, and
/// `null` for removed ones.
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Map::new();
            for (k, nv) in b {
                match a.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov @ Value::Object(_)) if nv.is_object() => {
                        out.insert(k.clone(), merge_diff(ov, nv));
                    }
                    _ => {
                        out.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        (_, n) => n.clone(),
    }
}

fn see_other(admin: &PortalAdmin, to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    render::secure_headers(res.headers_mut());
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    super::touch(&mut res, admin);
    res
}

/// `POST /portal/{tenant}/policies/new` (`csrf`, the fields, `json`).
pub async fn create(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let text = form.get("json").cloned().unwrap_or_default();
    let v = match from_form(&form) {
        Ok(v) => v,
        Err(e) => {
            return show(
                &admin,
                StatusCode::BAD_REQUEST,
                &page(&admin, None, &template_policy(), text, Some(e)),
            )
        }
    };
    match crate::admin::conditional_access::create_policy_value(
        &st,
        &admin.as_admin(),
        &tenant,
        v.clone(),
    )
    .await
    {
        Ok(_) => see_other(&admin, &format!("/portal/{tenant}/policies?changed=1")),
        Err(e) => {
            let shown = serde_json::to_string_pretty(&v).unwrap_or(text);
            show(
                &admin,
                StatusCode::BAD_REQUEST,
                &page(
                    &admin,
                    None,
                    &v,
                    shown,
                    Some(format!("{}: {}", e.code.code(), e.detail)),
                ),
            )
        }
    }
}

/// `POST /portal/{tenant}/policies/{id}` (`csrf`, the fields, `json`): save.
pub async fn save(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !admin.csrf_ok(form.get("csrf").map(String::as_str)) {
        return render::csrf_refused(&st, &admin.ui, &admin.correlation_id);
    }
    let text = form.get("json").cloned().unwrap_or_default();
    let d = match crate::admin::directory(&st, &tenant).await {
        Ok(d) => d,
        Err(e) => {
            return render::problem(
                &st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.policies,
                &e.detail,
                &admin.correlation_id,
            )
        }
    };
    let Some(stored) = d.policies.iter().find(|p| p.id == id) else {
        return render::problem(
            &st,
            &admin.ui,
            StatusCode::NOT_FOUND,
            admin.ui.t.not_found,
            &id,
            &admin.correlation_id,
        );
    };
    let old: Value = serde_json::from_str(&stored.json).unwrap_or(Value::Null);
    let mut v = match from_form(&form) {
        Ok(v) => v,
        Err(e) => {
            return show(
                &admin,
                StatusCode::BAD_REQUEST,
                &page(&admin, Some(id), &old, text, Some(e)),
            )
        }
    };
    // Server-set members are not the editor's to change.
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "createdDateTime", "modifiedDateTime"] {
            o.remove(k);
        }
    }
    let mut base = old.clone();
    if let Some(o) = base.as_object_mut() {
        for k in ["id", "createdDateTime", "modifiedDateTime"] {
            o.remove(k);
        }
    }
    let patch = merge_diff(&base, &v);
    match crate::admin::conditional_access::patch_policy(
        &st,
        &admin.as_admin(),
        &tenant,
        &id,
        patch,
    )
    .await
    {
        Ok(_) => see_other(&admin, &format!("/portal/{tenant}/policies?changed=1")),
        Err(e) => {
            let shown = serde_json::to_string_pretty(&v).unwrap_or(text);
            show(
                &admin,
                StatusCode::BAD_REQUEST,
                &page(
                    &admin,
                    Some(id),
                    &v,
                    shown,
                    Some(format!("{}: {}", e.code.code(), e.detail)),
                ),
            )
        }
    }
}

/// `GET /portal/{tenant}/policies.json`: the tenant's policies and named locations
/// as a Graph-style export (what `portvakt policy import` and the import form read).
pub async fn export(
    admin: PortalAdmin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Response {
    let d = match crate::admin::directory(&st, &tenant).await {
        Ok(d) => d,
        Err(e) => {
            return render::problem(
                &st,
                &admin.ui,
                StatusCode::SERVICE_UNAVAILABLE,
                admin.ui.t.policies,
                &e.detail,
                &admin.correlation_id,
            )
        }
    };
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let body = json!({
        "policies": d.policies.iter().map(|p| parse(&p.json)).collect::<Vec<_>>(),
        "namedLocations": d.named_locations.iter().map(|p| parse(&p.json)).collect::<Vec<_>>(),
    });
    let mut res = serde_json::to_string_pretty(&body)
        .unwrap_or_default()
        .into_response();
    let h = res.headers_mut();
    render::secure_headers(h);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{tenant}-conditional-access.json\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merge_diff_turns_old_into_new() {
        let old = json!({"a": 1, "b": {"c": [1], "d": "x"}, "gone": true});
        let new = json!({"a": 1, "b": {"c": [2], "d": "x", "e": null}, "added": "y"});
        let patch = merge_diff(&old, &new);
        assert_eq!(
            patch,
            json!({"b": {"c": [2], "e": null}, "added": "y", "gone": null})
        );
    }

    #[test]
    fn the_form_writes_the_common_fields_over_the_json() {
        let mut f = HashMap::new();
        f.insert("json".to_string(), template_policy().to_string());
        f.insert("displayName".to_string(), " Require MFA ".to_string());
        f.insert("excludeUsers".to_string(), "a@x, b@x".to_string());
        f.insert("controls_given".to_string(), "1".to_string());
        f.insert("control_block".to_string(), "on".to_string());
        let v = from_form(&f).expect("valid");
        assert_eq!(v["displayName"], "Require MFA");
        assert_eq!(
            v["conditions"]["users"]["excludeUsers"],
            json!(["a@x", "b@x"])
        );
        assert_eq!(v["grantControls"]["builtInControls"], json!(["block"]));
        f.insert("json".to_string(), "{\"displayName\": ".to_string());
        assert!(from_form(&f).expect_err("bad").contains("line 1"));
    }
}
