//! Conditional Access in Microsoft Graph's shape, under the tenant:
//! `…/identity/conditionalAccess/policies`, `…/namedLocations` and `…/evaluate`
//! (What-If), so that a script written for Graph needs only another base URL and
//! token. Bodies are Graph JSON, checked strictly by the policy engine (PV4006 with
//! the JSON path of the first problem); every change takes effect on the next request
//! (the tenant view is rebuilt).

use super::auth::Admin;
use super::body::read_json;
use super::directory;
use crate::access::{prepare_change, Resolvable};
use crate::audit::{self, diff, target, Activity, Change};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portvakt_core::ErrorCode;
use portvakt_policy::{Identity, ServicePrincipalFacts, UserFacts, WhatIfRequest};
use portvakt_store::{Directory, StoredGraphObject};
use serde_json::{json, Value};

/// Largest policy body.
const POLICY_LIMIT: usize = 256 * 1024;

/// Which kind of object a path names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Policy,
    Location,
}

impl Kind {
    fn segment(self) -> &'static str {
        match self {
            Kind::Policy => "policies",
            Kind::Location => "namedLocations",
        }
    }
    fn stored(self, d: &Directory) -> &[StoredGraphObject] {
        match self {
            Kind::Policy => &d.policies,
            Kind::Location => &d.named_locations,
        }
    }
    fn what(self) -> &'static str {
        match self {
            Kind::Policy => "Conditional Access policy",
            Kind::Location => "named location",
        }
    }
    /// The audit log's target type.
    fn target_type(self) -> &'static str {
        match self {
            Kind::Policy => "Policy",
            Kind::Location => "NamedLocation",
        }
    }
    /// The audit activities: (add, update, delete).
    fn activities(self) -> (Activity, Activity, Activity) {
        match self {
            Kind::Policy => (
                audit::ADD_POLICY,
                audit::UPDATE_POLICY,
                audit::DELETE_POLICY,
            ),
            Kind::Location => (
                audit::ADD_NAMED_LOCATION,
                audit::UPDATE_NAMED_LOCATION,
                audit::DELETE_NAMED_LOCATION,
            ),
        }
    }
}

/// The audit target of a stored object, with what changed from `old` (`{}` for a new
/// object) to `new` (`{}` for a deleted one).
fn object_target(
    kind: Kind,
    o: &StoredGraphObject,
    old: &Value,
    new: &Value,
) -> portvakt_core::audit::TargetResource {
    let mut t = target(kind.target_type(), &o.id, &o.display_name);
    t.modified_properties = diff(old, new);
    t
}

fn not_found(kind: Kind, id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::PolicyNotFound,
        format!("no {} with id '{}'", kind.what(), id.escape_default()),
    )
}

fn parse_json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

async fn resolvable<'a>(
    st: &AppState,
    d: &Directory,
    names: &'a portvakt_store::DirectoryNames,
) -> Result<Resolvable<'a>, ApiError> {
    let _ = st;
    Ok(Resolvable {
        names,
        more_users: vec![],
        more_groups: vec![],
        roles: d.roles.clone(),
        apps: d.applications.clone(),
        resources: d.resources.clone(),
    })
}

/// Check `value` as the new state of one object and store it.
async fn save(
    st: &AppState,
    tenant: &str,
    kind: Kind,
    value: Value,
) -> Result<StoredGraphObject, ApiError> {
    let d = directory(st, tenant).await?;
    let names = st.store.directory_names(&d.tenant.id).await?;
    let r = resolvable(st, &d, &names).await?;
    let now = st.clock.now();
    let (pv, lv) = match kind {
        Kind::Policy => (vec![value], vec![]),
        Kind::Location => (vec![], vec![value]),
    };
    let change = prepare_change(
        ErrorCode::PolicyInvalid,
        now,
        "$",
        &pv,
        "$",
        &lv,
        &d.policies,
        &d.named_locations,
        &r,
    )
    .map_err(|mut e| {
        // One object per request: its paths start at the body.
        e.detail = e.detail.replace("$[0]", "$");
        e
    })?;
    st.store
        .put_access(&d.tenant.id, &change.policies, &change.locations)
        .await?;
    st.directory.invalidate(&d.tenant.name);
    let saved = match kind {
        Kind::Policy => change.policies.into_iter().next(),
        Kind::Location => change.locations.into_iter().next(),
    };
    saved.ok_or_else(|| ApiError::new(ErrorCode::Internal, "nothing was saved"))
}

fn created(st: &AppState, tenant: &str, kind: Kind, o: &StoredGraphObject) -> Response {
    let mut res = (StatusCode::CREATED, Json(parse_json(&o.json))).into_response();
    let location = format!(
        "{}/admin/v1/tenants/{tenant}/identity/conditionalAccess/{}/{}",
        st.config.public_url,
        kind.segment(),
        o.id
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// RFC 7396 JSON merge patch (Graph's PATCH sends only the properties that change).
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge_patch(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

async fn list(st: &AppState, tenant: &str, kind: Kind) -> Result<Json<Value>, ApiError> {
    let d = directory(st, tenant).await?;
    let value: Vec<Value> = kind
        .stored(&d)
        .iter()
        .map(|o| parse_json(&o.json))
        .collect();
    Ok(Json(json!({ "value": value })))
}

async fn get_one(
    st: &AppState,
    tenant: &str,
    kind: Kind,
    id: &str,
) -> Result<Json<Value>, ApiError> {
    let d = directory(st, tenant).await?;
    kind.stored(&d)
        .iter()
        .find(|o| o.id == id)
        .map(|o| Json(parse_json(&o.json)))
        .ok_or_else(|| not_found(kind, id))
}

async fn create(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    kind: Kind,
    req: Request,
) -> Result<Response, ApiError> {
    let mut change = Change::of(
        tenant,
        kind.activities().0,
        target(kind.target_type(), "", ""),
    );
    let r = match read_json(req, POLICY_LIMIT, ErrorCode::PolicyInvalid).await {
        Ok(body) => create_in(st, tenant, kind, body, &mut change).await,
        Err(e) => Err(e),
    };
    change
        .finish(st, admin, r)
        .await
        .map(|saved| created(st, tenant, kind, &saved))
}

/// Create a policy from its Graph JSON, validated and audited as `POST …/policies`
/// is (the portal's editor). Returns what was stored.
pub(crate) async fn create_policy_value(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    body: Value,
) -> Result<StoredGraphObject, ApiError> {
    let kind = Kind::Policy;
    let mut change = Change::of(
        tenant,
        kind.activities().0,
        target(kind.target_type(), "", ""),
    );
    let r = create_in(st, tenant, kind, body, &mut change).await;
    change.finish(st, admin, r).await
}

async fn create_in(
    st: &AppState,
    tenant: &str,
    kind: Kind,
    mut body: Value,
    change: &mut Change,
) -> Result<StoredGraphObject, ApiError> {
    if let (Some(t), Some(name)) = (
        change.first(),
        body.get("displayName").and_then(Value::as_str),
    ) {
        t.display_name = name.to_string();
    }
    // Graph assigns the id of a created object.
    if let Some(o) = body.as_object_mut() {
        if o.get("id").is_some_and(|v| !v.is_null()) {
            return Err(ApiError::new(
                ErrorCode::PolicyInvalid,
                "$.id: the server assigns the id of a new object; leave it out (PATCH …/{id} changes an existing one)",
            ));
        }
        o.remove("id");
    }
    let d = directory(st, tenant).await?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind.stored(&d).iter().any(|o| o.display_name == name) {
        return Err(ApiError::new(
            ErrorCode::PolicyInvalid,
            format!(
                "$.displayName: a {} named '{}' exists; PATCH it by its id instead",
                kind.what(),
                name.escape_default()
            ),
        ));
    }
    let saved = save(st, tenant, kind, body).await?;
    change.targets = vec![object_target(
        kind,
        &saved,
        &json!({}),
        &parse_json(&saved.json),
    )];
    Ok(saved)
}

async fn update(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    kind: Kind,
    id: &str,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let mut change = Change::of(
        tenant,
        kind.activities().1,
        target(kind.target_type(), id, ""),
    );
    let r = match read_json(req, POLICY_LIMIT, ErrorCode::PolicyInvalid).await {
        Ok(patch) => update_in(st, tenant, kind, id, patch, &mut change).await,
        Err(e) => Err(e),
    };
    change.finish(st, admin, r).await
}

/// Merge-patch a stored policy (RFC 7396), validated and audited as `PATCH
/// …/policies/{id}` is (the portal's state switch).
pub(crate) async fn patch_policy(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    id: &str,
    patch: Value,
) -> Result<Json<Value>, ApiError> {
    let kind = Kind::Policy;
    let mut change = Change::of(
        tenant,
        kind.activities().1,
        target(kind.target_type(), id, ""),
    );
    let r = update_in(st, tenant, kind, id, patch, &mut change).await;
    change.finish(st, admin, r).await
}

async fn update_in(
    st: &AppState,
    tenant: &str,
    kind: Kind,
    id: &str,
    patch: Value,
    change: &mut Change,
) -> Result<Json<Value>, ApiError> {
    if patch.get("id").is_some_and(|v| v.as_str() != Some(id)) {
        return Err(ApiError::new(
            ErrorCode::PolicyInvalid,
            "$.id: the id of an object cannot change",
        ));
    }
    let d = directory(st, tenant).await?;
    let old = kind
        .stored(&d)
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| not_found(kind, id))?;
    if let Some(t) = change.first() {
        t.display_name = old.display_name.clone();
    }
    let before = parse_json(&old.json);
    let mut value = before.clone();
    merge_patch(&mut value, patch);
    // modifiedDateTime is the server's to set.
    if let Some(o) = value.as_object_mut() {
        o.remove("modifiedDateTime");
    }
    let saved = save(st, tenant, kind, value).await?;
    let after = parse_json(&saved.json);
    change.targets = vec![object_target(kind, &saved, &before, &after)];
    Ok(Json(after))
}

async fn delete(
    st: &AppState,
    admin: &Admin,
    tenant: &str,
    kind: Kind,
    id: &str,
) -> Result<StatusCode, ApiError> {
    let mut change = Change::of(
        tenant,
        kind.activities().2,
        target(kind.target_type(), id, ""),
    );
    let r = delete_in(st, tenant, kind, id, &mut change).await;
    change.finish(st, admin, r).await
}

async fn delete_in(
    st: &AppState,
    tenant: &str,
    kind: Kind,
    id: &str,
    change: &mut Change,
) -> Result<StatusCode, ApiError> {
    let d = directory(st, tenant).await?;
    let Some(old) = kind.stored(&d).iter().find(|o| o.id == id) else {
        return Err(not_found(kind, id));
    };
    if let Some(t) = change.first() {
        t.display_name = old.display_name.clone();
    }
    if kind == Kind::Location {
        // A location still named by a policy cannot go: the policy would no longer
        // resolve (and an exclusion of it would silently match nobody).
        let rest: Vec<StoredGraphObject> = d
            .named_locations
            .iter()
            .filter(|l| l.id != id)
            .cloned()
            .collect();
        let names = st.store.directory_names(&d.tenant.id).await?;
        let access = crate::access::TenantAccess::build(
            &d.roles,
            &d.policies,
            &rest,
            Some(&names),
            &d.applications,
            &d.resources,
        );
        if let Err(why) = access.set {
            return Err(ApiError::new(
                ErrorCode::PolicyInvalid,
                format!("the named location is used by a policy; remove it from the policy first ({why})"),
            ));
        }
    }
    let gone = match kind {
        Kind::Policy => st.store.delete_policy(&d.tenant.id, id).await?,
        Kind::Location => st.store.delete_named_location(&d.tenant.id, id).await?,
    };
    if !gone {
        return Err(not_found(kind, id));
    }
    st.directory.invalidate(&d.tenant.name);
    change.targets = vec![object_target(kind, old, &parse_json(&old.json), &json!({}))];
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies", tag = "conditional access", params(("tenant" = String, Path)), responses((status = 200, description = "Graph collection of conditionalAccessPolicy", body = Object)), security(("bearer" = [])))]
/// List the tenant's Conditional Access policies (Graph `conditionalAccessPolicy`).
pub async fn list_policies(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list(&st, &tenant, Kind::Policy).await
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies", tag = "conditional access", params(("tenant" = String, Path)), request_body = Object, responses((status = 201, description = "the policy as stored", body = Object), (status = 400, description = "invalid policy (PV4006, with the JSON path)")), security(("bearer" = [])))]
/// Create a policy from Graph JSON.
pub async fn create_policy(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    create(&st, &admin, &tenant, Kind::Policy, req).await
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies/{id}", tag = "conditional access", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, body = Object), (status = 404)), security(("bearer" = [])))]
/// One policy.
pub async fn get_policy(
    _: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    get_one(&st, &tenant, Kind::Policy, &id).await
}

#[utoipa::path(patch, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies/{id}", tag = "conditional access", params(("tenant" = String, Path), ("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400), (status = 404)), security(("bearer" = [])))]
/// Change a policy (JSON merge patch: send only what changes, e.g. `{"state": "enabledForReportingButNotEnforced"}`).
pub async fn update_policy(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    update(&st, &admin, &tenant, Kind::Policy, &id, req).await
}

#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/policies/{id}", tag = "conditional access", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
/// Delete a policy.
pub async fn delete_policy(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete(&st, &admin, &tenant, Kind::Policy, &id).await
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations", tag = "conditional access", params(("tenant" = String, Path)), responses((status = 200, description = "Graph collection of ipNamedLocation", body = Object)), security(("bearer" = [])))]
/// List named locations (Graph `ipNamedLocation`).
pub async fn list_locations(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list(&st, &tenant, Kind::Location).await
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations", tag = "conditional access", params(("tenant" = String, Path)), request_body = Object, responses((status = 201, body = Object), (status = 400)), security(("bearer" = [])))]
/// Create a named location.
pub async fn create_location(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    create(&st, &admin, &tenant, Kind::Location, req).await
}

#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations/{id}", tag = "conditional access", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, body = Object), (status = 404)), security(("bearer" = [])))]
/// One named location.
pub async fn get_location(
    _: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    get_one(&st, &tenant, Kind::Location, &id).await
}

#[utoipa::path(patch, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations/{id}", tag = "conditional access", params(("tenant" = String, Path), ("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400), (status = 404)), security(("bearer" = [])))]
/// Change a named location (JSON merge patch).
pub async fn update_location(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    update(&st, &admin, &tenant, Kind::Location, &id, req).await
}

#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/namedLocations/{id}", tag = "conditional access", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 400, description = "still used by a policy"), (status = 404)), security(("bearer" = [])))]
/// Delete a named location that no policy names.
pub async fn delete_location(
    admin: Admin,
    State(st): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete(&st, &admin, &tenant, Kind::Location, &id).await
}

/// Body of `…/conditionalAccess/import`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportBody {
    /// Graph `conditionalAccessPolicy` objects: matched by `id` when they have one,
    /// else by `displayName`; created otherwise.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<Value>,
    /// Graph `ipNamedLocation` objects, matched likewise.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub named_locations: Vec<Value>,
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/import", tag = "conditional access", params(("tenant" = String, Path)), request_body = ImportBody, responses((status = 200, description = "what was stored", body = Object), (status = 400, description = "a problem, with its JSON path; nothing changed")), security(("bearer" = [])))]
/// Import policies and named locations as Entra tools export them (what `portvakt
/// policy import` sends): one transaction, idempotent (matched by id, else by
/// display name), every reference resolved or the whole import refused.
pub async fn import(
    admin: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let mut change = Change::new(&tenant, audit::IMPORT_CONDITIONAL_ACCESS);
    let r = import_in(&st, &tenant, req, &mut change).await;
    change.finish(&st, &admin, r).await
}

async fn import_in(
    st: &AppState,
    tenant: &str,
    req: Request,
    audit_change: &mut Change,
) -> Result<Json<Value>, ApiError> {
    let body: ImportBody = read_json(req, 8 * 1024 * 1024, ErrorCode::PolicyInvalid).await?;
    let d = directory(st, tenant).await?;
    let names = st.store.directory_names(&d.tenant.id).await?;
    let r = resolvable(st, &d, &names).await?;
    let change = prepare_change(
        ErrorCode::PolicyInvalid,
        st.clock.now(),
        "$.policies",
        &body.policies,
        "$.namedLocations",
        &body.named_locations,
        &d.policies,
        &d.named_locations,
        &r,
    )?;
    st.store
        .put_access(&d.tenant.id, &change.policies, &change.locations)
        .await?;
    st.directory.invalidate(&d.tenant.name);
    // Each object imported, with what changed from what was stored under its id.
    for (kind, saved) in [
        (Kind::Location, &change.locations),
        (Kind::Policy, &change.policies),
    ] {
        for o in saved {
            let before = kind
                .stored(&d)
                .iter()
                .find(|x| x.id == o.id)
                .map_or_else(|| json!({}), |x| parse_json(&x.json));
            audit_change
                .targets
                .push(object_target(kind, o, &before, &parse_json(&o.json)));
        }
    }
    let ids = |v: &[StoredGraphObject]| {
        v.iter()
            .map(|o| json!({"id": o.id, "displayName": o.display_name}))
            .collect::<Vec<_>>()
    };
    Ok(Json(
        json!({"policies": ids(&change.policies), "namedLocations": ids(&change.locations)}),
    ))
}

#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/identity/conditionalAccess/evaluate", tag = "conditional access", params(("tenant" = String, Path)), request_body = Object, responses((status = 200, description = "Graph collection of whatIfAnalysisResult", body = Object), (status = 400)), security(("bearer" = [])))]
/// What-If (Graph `conditionalAccessRoot: evaluate`): which policies would apply to a
/// sign-in described by `signInIdentity`, `signInContext` and `signInConditions`, and
/// why not (`analysisReasons`). The same evaluator as real sign-ins.
pub async fn evaluate(
    _: Admin,
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let body: Value = read_json(req, POLICY_LIMIT, ErrorCode::PolicyInvalid).await?;
    evaluate_value(&st, &tenant, body).await.map(Json)
}

/// What-If over a Graph `evaluate` body (the admin API's and the portal's).
pub(crate) async fn evaluate_value(
    st: &AppState,
    tenant: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let bytes =
        serde_json::to_vec(&body).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let mut request = portvakt_policy::parse_what_if(&bytes)
        .map_err(|e| ApiError::new(ErrorCode::PolicyInvalid, e.lines().replace('\n', "; ")))?;
    let now = st.clock.now();
    let view = st
        .directory
        .get(tenant, now)
        .await?
        .ok_or_else(|| crate::discovery::unknown_tenant(tenant))?;
    let identity = what_if_identity(st, &view, &mut request).await?;
    let d = directory(st, tenant).await?;
    let names = st.store.directory_names(&d.tenant.id).await?;
    let tables = crate::access::tables(Some(&names), &d.roles, &d.applications, &d.resources);
    let facts = request
        .to_facts(&tables, identity, now)
        .map_err(|e| ApiError::new(ErrorCode::PolicyInvalid, e.lines().replace('\n', "; ")))?;
    let set = match &view.access.set {
        Ok(Some(set)) => set.clone(),
        Ok(None) => return Ok(json!({"value": []})),
        Err(why) => return Err(ApiError::new(ErrorCode::PoliciesUnavailable, why.clone())),
    };
    let response = portvakt_policy::what_if(&set, &request, &facts);
    let mut v = serde_json::to_value(&response)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    // Portvakt's addition: each policy's plain reason, and the decision.
    v["portvakt"] = json!({
        "decision": response.evaluation.decision,
        "conditionalAccessStatus": response.evaluation.conditional_access_status,
        "reasons": response.evaluation.policies.iter().map(|p| json!({"id": p.policy.id(), "result": p.result, "reason": p.reason()})).collect::<Vec<_>>(),
    });
    Ok(v)
}

/// The identity a What-If request names, as the directory knows it now (a user by id
/// or user principal name; a service principal by client id).
async fn what_if_identity(
    st: &AppState,
    view: &crate::directory::TenantView,
    request: &mut WhatIfRequest,
) -> Result<Identity, ApiError> {
    use portvakt_policy::whatif::WhatIfIdentity;
    match &mut request.identity {
        WhatIfIdentity::User { user_id } => {
            let user = match st.store.user_by_id(&view.tenant.id, user_id).await? {
                Some(u) => Some(u),
                None => st.store.user_by_upn(&view.tenant.id, user_id).await?,
            }
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::PolicyInvalid,
                    format!("$.signInIdentity.userId: no user '{}' in this tenant (give its id or user principal name)", user_id.escape_default()),
                )
            })?;
            *user_id = user.id.clone();
            Ok(Identity::User(UserFacts {
                id: user.id.clone(),
                user_principal_name: Some(user.user_principal_name.clone()),
                groups: user.group_ids.clone(),
                roles: view.access.role_ids(&user),
                mfa_registered: user.mfa_registered,
            }))
        }
        WhatIfIdentity::ServicePrincipal {
            service_principal_id,
        } => {
            if view
                .application(service_principal_id)
                .is_none_or(|a| !a.confidential)
            {
                return Err(ApiError::new(
                    ErrorCode::PolicyInvalid,
                    format!("$.signInIdentity.servicePrincipalId: no confidential client '{}' in this tenant", service_principal_id.escape_default()),
                ));
            }
            Ok(Identity::ServicePrincipal(ServicePrincipalFacts {
                service_principal_id: service_principal_id.clone(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn merge_patch_is_rfc_7396() {
        let mut t = json!({"state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}, "locations": {"x": 1}}});
        merge_patch(
            &mut t,
            json!({"state": "disabled", "conditions": {"locations": null}}),
        );
        assert_eq!(
            t,
            json!({"state": "disabled", "conditions": {"users": {"includeUsers": ["All"]}}})
        );
    }
}
